//! Slide reading speed on a big synthetic slide (100,000 x 80,000, tiled JPEG BigTIFF made at
//! run time): `overview(2048)` and a 1024 x 1024 `read_region` at level 0.
//!
//! With `HISTOSEG_SYNTH_OUT=PATH` (and optionally `HISTOSEG_SYNTH_SIZE=WxH`) it only writes
//! the synthetic slide to PATH and exits; `bench/overview_vs_peer.sh` uses that.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group};
use histoseg_core::rect::Rect;
use histoseg_core::slide::Slide;
use histoseg_core::slide::synthetic::{SyntheticSpec, write_slide};

fn make(path: &Path, w: u32, h: u32) {
    let f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = std::io::BufWriter::new(f);
    let t = std::time::Instant::now();
    write_slide(&mut out, &SyntheticSpec::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "wrote {} ({w}x{h}) in {:.1}s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("histoseg-bench");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("synthetic-100000x80000.tif");
    if !path.exists() {
        make(&path, 100_000, 80_000);
    }
    let mut g = c.benchmark_group("slide");
    g.sample_size(10);
    g.bench_function("overview_2048_100kx80k", |b| {
        b.iter(|| {
            let mut s = Slide::open_path(&path).unwrap_or_else(|e| panic!("{e}"));
            let ov = s.overview(2048).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.chunks_decoded(0), 0, "overview touched level 0");
            black_box(ov)
        })
    });
    let mut s = Slide::open_path(&path).unwrap_or_else(|e| panic!("{e}"));
    s.set_cache_capacity(0);
    g.bench_function("read_region_1024_level0", |b| {
        b.iter(|| black_box(s.read_region(0, Rect::new(40_000, 30_000, 1024, 1024))))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Some(out) = std::env::var_os("HISTOSEG_SYNTH_OUT") {
        let size = std::env::var("HISTOSEG_SYNTH_SIZE").unwrap_or_else(|_| "100000x80000".into());
        let (w, h) = size
            .split_once('x')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .unwrap_or_else(|| panic!("HISTOSEG_SYNTH_SIZE must be WxH, got {size}"));
        make(Path::new(&out), w, h);
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}

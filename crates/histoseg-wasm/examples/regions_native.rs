//! Times opening a slide, its overview and tissue detection natively, through the same
//! session code the browser runs; `bench/browser_vs_native.sh` compares it with Chromium.
//!
//! `cargo run --release -p histoseg-wasm --example regions_native -- SLIDE [RUNS]` prints one
//! JSON line: the median milliseconds and the level-0 regions.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use histoseg_wasm::options::DetectOptions;
use histoseg_wasm::session::SlideSession;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: regions_native SLIDE [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(10), |r| r.parse())?;
    let name = std::path::Path::new(&path)
        .file_name()
        .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
    let mut times = Vec::with_capacity(runs);
    let mut regions = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let reader = BufReader::with_capacity(256 << 10, File::open(&path)?);
        let mut session = SlideSession::open(reader, &name)?;
        let detection = session.detect(&DetectOptions::default())?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        regions = detection.regions_level0;
    }
    times.sort_by(f64::total_cmp);
    let report = serde_json::json!({
        "median_ms": times[times.len() / 2],
        "runs": times.len(),
        "regions": regions,
    });
    println!("{report}");
    Ok(())
}

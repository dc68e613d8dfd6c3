//! Replays every input the fuzzers found (`fuzz/regressions/<target>/`) and the hand-written
//! seeds (`fuzz/seeds/<target>/`) through the fuzz targets' own code (`fuzz/src/lib.rs`), and
//! checks that none panics, that each stays within the memory the project promises
//! and that each gives back what it took; and that levels far wider than any overview band
//! reduce in bounded memory.

use std::path::Path;

use std::io::Cursor;

use histoseg_core::slide::Slide;
use peak_alloc::PeakAlloc;

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod harness;

/// Counts the heap in use and its peak.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The heap one input may take: the project's goal for hostile files is a peak under 500 MB
/// (scripts/fuzz.sh lets libFuzzer stop at 1 GiB of the whole process).
const PEAK_LIMIT: usize = 500 << 20;

/// Levels 1,000,000 x 65,536 px of 256 px tiles: all missing (offset 0), or all missing but
/// one grey tile. Their overview bands would be 384 MB each if laid out as whole rows.
fn hostile_levels() -> Vec<(&'static str, Vec<u8>)> {
    let (w, h, tile) = (1_000_000u32, 65_536u32, 256u32);
    let n = (w.div_ceil(tile) * h.div_ceil(tile)) as usize;
    let grey = vec![100u8; (tile * tile * 3) as usize];
    let build = |stored: Option<usize>| {
        const SHORT: u16 = 3;
        const LONG: u16 = 4;
        let entries = [
            (256u16, LONG, 1u32, w),
            (257, LONG, 1, h),
            (258, SHORT, 1, 8),
            (259, SHORT, 1, 1),
            (262, SHORT, 1, 2),
            (277, SHORT, 1, 3),
            (284, SHORT, 1, 1),
            (322, LONG, 1, tile),
            (323, LONG, 1, tile),
            (324, LONG, n as u32, 0),
            (325, LONG, n as u32, 0),
        ];
        let offsets_at = 8 + 2 + entries.len() as u32 * 12 + 4;
        let counts_at = offsets_at + 4 * n as u32;
        let data_at = counts_at + 4 * n as u32;
        let mut out = b"II*\0\x08\0\0\0".to_vec();
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            let value = match tag {
                324 => offsets_at,
                325 => counts_at,
                _ => value,
            };
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            if kind == SHORT {
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0; 4]);
        for (table, stored_value) in [(offsets_at, data_at), (counts_at, grey.len() as u32)] {
            assert_eq!(out.len() as u32, table);
            for i in 0..n {
                let v = if Some(i) == stored { stored_value } else { 0 };
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        if stored.is_some() {
            out.extend_from_slice(&grey);
        }
        out
    };
    vec![
        ("wide-missing.tif", build(None)),
        ("wide-one-tile.tif", build(Some(n / 2))),
    ]
}

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files: Vec<_> = ["regressions", "seeds"]
        .iter()
        .filter_map(|dir| std::fs::read_dir(fuzz.join(dir).join(target)).ok())
        .flatten()
        .map(|e| e.expect("a readable folder entry").path())
        .collect();
    files.sort();
    files
}

/// One test, so that no other test's allocations count against an input's limit.
#[test]
fn every_finding_and_seed_ends_cleanly_within_the_memory_limit() {
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 4] = [
        ("slide", harness::slide),
        ("tile_codecs", harness::tile_codecs),
        ("annotations", |b| {
            if let Ok(text) = std::str::from_utf8(b) {
                harness::annotations(text)
            }
        }),
        ("fragment_name", |b| {
            if let Ok(text) = std::str::from_utf8(b) {
                harness::fragment_name(text)
            }
        }),
    ];
    let mut replayed = 0;
    for (name, bytes) in hostile_levels() {
        let in_use = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        let mut slide = Slide::open(Cursor::new(&bytes), name).expect("a valid TIFF");
        let overview = slide.overview(2048).expect("the overview");
        let peak = ALLOCATOR.peak_usage().saturating_sub(in_use);
        assert!(peak < PEAK_LIMIT, "{name}: {} MB at peak", peak >> 20);
        assert_eq!(overview.dimensions(), (2048, 134), "{name}");
        let dark = overview.pixels().filter(|p| p.0 != [255; 3]).count();
        if name.contains("missing") {
            assert_eq!(dark, 0, "{name}: a level of missing tiles is white");
        } else {
            assert!(dark > 0, "{name}: its one stored tile shows");
        }
        replayed += 1;
    }
    for (target, run) in targets {
        for file in inputs(target) {
            let bytes = std::fs::read(&file).expect("a readable input");
            eprintln!("{}", file.display());
            let in_use = ALLOCATOR.current_usage();
            ALLOCATOR.reset_peak_usage();
            run(&bytes);
            let peak = ALLOCATOR.peak_usage().saturating_sub(in_use);
            assert!(
                peak < PEAK_LIMIT,
                "{}: {} MB at peak, over the {} MB limit",
                file.display(),
                peak >> 20,
                PEAK_LIMIT >> 20
            );
            let kept = ALLOCATOR.current_usage().saturating_sub(in_use);
            assert!(kept < 1 << 20, "{} keeps {kept} bytes", file.display());
            replayed += 1;
        }
    }
    assert!(replayed >= 10, "only {replayed} inputs found under fuzz/");
}

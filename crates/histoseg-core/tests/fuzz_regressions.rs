//! Replays every input the fuzzers found (`fuzz/regressions/<target>/`) and the hand-written
//! seeds (`fuzz/seeds/<target>/`) through the fuzz targets' own code (`fuzz/src/lib.rs`), and
//! checks that none panics, that each stays within the memory the project promises
//! and that each gives back what it took.

use std::path::Path;

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

//! What the core's tests on real data share: where that data is, and how pictures compare.

use std::path::PathBuf;

/// `path` inside the shared data: `$HISTOSEG_DATA` (as the browser tests read it), else
/// `../shared/data` beside the project.
pub fn shared(path: &str) -> PathBuf {
    std::env::var_os("HISTOSEG_DATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        )
        .join(path)
}

/// Mean absolute difference per channel of two pictures of the same size.
#[allow(dead_code)] // not every test file compares pictures
pub fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

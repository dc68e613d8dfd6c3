//! Golden files: our filters against OpenCV's outputs on a synthetic image, within one grey level.
//!
//! The inputs and OpenCV's outputs in `tests/data/` are made by `tests/opencv_parity.py` (run it
//! with `REGENERATE=1` to rewrite them); that script also checks the real TNBC images.

use std::path::PathBuf;

use histoseg_core::filters::{self, Image8};
use image::{GrayImage, Pixel, RgbImage};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn max_difference<P: Pixel<Subpixel = u8>>(ours: &Image8<P>, theirs: &Image8<P>) -> u8 {
    assert_eq!(ours.dimensions(), theirs.dimensions());
    ours.iter()
        .zip(theirs.iter())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0)
}

fn check<P: Pixel<Subpixel = u8>>(kind: &str, open: impl Fn(&str) -> Image8<P>) {
    let input = open(&format!("synthetic_{kind}.png"));
    let stages: [(&str, Image8<P>); 4] = [
        (
            "gaussian",
            filters::gaussian_blur(&input, 5, 0.0).expect("valid kernel"),
        ),
        ("sharpen", filters::sharpen(&input)),
        ("median", filters::median3(&input)),
        ("chain", filters::preprocess_u8(&input)),
    ];
    for (stage, ours) in stages {
        let theirs = open(&format!("synthetic_{kind}.{stage}.opencv.png"));
        let diff = max_difference(&ours, &theirs);
        assert!(diff <= 1, "{kind} {stage}: {diff} grey levels from OpenCV");
        // The stage must actually change the image, or the comparison proves nothing.
        assert!(
            max_difference(&ours, &input) > 10,
            "{kind} {stage} left the image unchanged"
        );
    }
}

#[test]
fn rgb_filters_match_opencv() {
    check::<image::Rgb<u8>>("rgb", |name| -> RgbImage {
        image::open(data(name)).expect("golden file").to_rgb8()
    });
}

#[test]
fn gray_filters_match_opencv() {
    check::<image::Luma<u8>>("gray", |name| -> GrayImage {
        image::open(data(name)).expect("golden file").to_luma8()
    });
}

//! The `histoseg` binary on real images from ../shared/data.

use std::path::PathBuf;

use assert_cmd::Command;

mod common;
use common::{histoseg, shared};

fn stderr_of(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().get_output().clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn preprocess_runs_the_paper_chain_on_a_tnbc_image() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = shared("tnbc/Slide_01/01_1.png");
    let out = dir.path().join("out.png");
    histoseg()
        .arg("preprocess")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();

    let original = image::open(&input).expect("input").to_rgb8();
    let written = image::open(&out).expect("output").to_rgb8();
    assert_eq!(written, histoseg_core::filters::preprocess_u8(&original));
    assert_ne!(written, original);
}

#[test]
fn preprocess_runs_single_steps_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = shared("tnbc/Slide_02/02_1.png");
    let out = dir.path().join("median.png");
    histoseg()
        .args(["preprocess", "--steps", "median"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let original = image::open(&input).expect("input").to_rgb8();
    let written = image::open(&out).expect("output").to_rgb8();
    assert_eq!(written, histoseg_core::filters::median3(&original));
}

#[test]
fn preprocess_names_a_bad_input_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = shared("slides/broken.svs");
    let err = stderr_of(
        histoseg()
            .arg("preprocess")
            .arg(&broken)
            .arg("-o")
            .arg(dir.path().join("x.png")),
    );
    assert!(err.contains("broken.svs"), "{err}");
    assert!(err.starts_with("error: cannot read image"), "{err}");
}

#[test]
fn metrics_of_a_mask_against_itself_and_another() {
    let a = shared("tnbc/GT_01/01_1.png");
    let b = shared("tnbc/GT_01/01_2.png");
    let out = histoseg()
        .args(["metrics", "--json", "--pred"])
        .arg(&a)
        .arg(&b)
        .arg("--truth")
        .arg(&a)
        .arg(&a)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(report["images"][0]["dice"], 1.0);
    assert_eq!(report["images"][0]["iou"], 1.0);

    let mask = |p: &PathBuf| image::open(p).expect("mask").to_luma8();
    let counts =
        histoseg_core::metrics::PixelCounts::from_masks(&mask(&b), &mask(&a)).expect("same size");
    let dice = report["images"][1]["dice"].as_f64().expect("number");
    assert!((dice - counts.dice()).abs() < 1e-12);
    assert!(
        dice < 0.9,
        "different images' masks should disagree: {dice}"
    );
    let dataset = report["summary"]["dataset_dice"].as_f64().expect("number");
    assert!(dataset > dice && dataset < 1.0);
}

#[test]
fn metrics_refuses_masks_of_different_sizes() {
    let err = stderr_of(
        histoseg()
            .args(["metrics", "--pred"])
            .arg(shared("tnbc/GT_01/01_1.png"))
            .arg("--truth")
            .arg(shared("monuseg/train/Binary_masks").join(first_monuseg_mask())),
    );
    assert!(
        err.contains("01_1.png") && err.contains("size mismatch"),
        "{err}"
    );
}

#[test]
fn metrics_refuses_unpaired_masks() {
    let a = shared("tnbc/GT_01/01_1.png");
    let err = stderr_of(
        histoseg()
            .args(["metrics", "--pred"])
            .arg(&a)
            .arg(&a)
            .arg("--truth")
            .arg(&a),
    );
    assert!(err.contains("2 predicted masks but 1 true masks"), "{err}");
}

fn first_monuseg_mask() -> String {
    let mut names: Vec<String> = std::fs::read_dir(shared("monuseg/train/Binary_masks"))
        .expect("MoNuSeg masks")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.into_iter().next().expect("at least one mask")
}

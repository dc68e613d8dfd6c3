//! The shipped nuclei model through the CLI: `predict` and `evaluate` without `--model`, the
//! instance outputs (16-bit labels, AJI, PQ), test-time augmentation, and fine-tuning from it
//! with `train --init default` on several datasets at once.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::{histoseg, shared};

fn output(cmd: &mut Command) -> (String, String) {
    let out = cmd.assert().success().get_output().clone();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn evaluate_json(args: &[&str], folders: &[(PathBuf, PathBuf)]) -> serde_json::Value {
    let mut cmd = histoseg();
    cmd.args(["evaluate", "--device", "cpu", "--json"])
        .args(args);
    for (images, masks) in folders {
        cmd.arg("--images").arg(images).arg("--masks").arg(masks);
    }
    let (json, _) = output(&mut cmd);
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The held-out images of the shipped model (see models/README.md).
const MONUSEG_TEST: &str = "TCGA-A7-A13E-01Z-00-DX1";

#[test]
fn predict_without_a_model_uses_the_shipped_one_and_writes_instance_labels() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("pred");
    let (said, stderr) = output(
        histoseg()
            .args(["predict", "--device", "cpu", "--quiet"])
            .arg(shared("tnbc/Slide_07/07_1.png"))
            .arg("-o")
            .arg(&out),
    );
    assert!(stderr.contains("shipped model"), "{stderr}");
    let labels = image::open(out.join("07_1.labels.png")).expect("labels.png");
    let image::DynamicImage::ImageLuma16(labels) = labels else {
        panic!("labels.png is not 16-bit grey: {:?}", labels.color());
    };
    assert_eq!(labels.dimensions(), (512, 512));
    let mask = image::open(out.join("07_1.mask.png"))
        .expect("mask")
        .to_luma8();
    // Labels 1..n, one per GeoJSON point, exactly on the mask's nuclei that were kept.
    let mut ids: Vec<u16> = labels
        .as_raw()
        .iter()
        .copied()
        .filter(|&l| l != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let n = ids.len();
    assert!(n > 20, "{n} nuclei on a TNBC image");
    assert_eq!(ids, (1..=n as u16).collect::<Vec<_>>());
    for (l, m) in labels.as_raw().iter().zip(mask.as_raw()) {
        assert!(*l == 0 || *m == 255, "a label outside the mask");
    }
    assert!(said.contains(&format!("{n} nuclei")), "{said}");
}

#[test]
fn evaluate_without_a_model_reports_mean_dice_aji_and_pq_on_held_out_images() {
    let tnbc = evaluate_json(&[], &[(shared("tnbc/Slide_08"), shared("tnbc/GT_08"))]);
    let mean_dice = tnbc["pixels"]["mean_dice"].as_f64().expect("mean dice");
    let pooled = tnbc["pixels"]["dataset_dice"]
        .as_f64()
        .expect("pooled dice");
    let (aji, pq) = (
        tnbc["mean_aji"].as_f64().expect("aji"),
        tnbc["mean_pq"].as_f64().expect("pq"),
    );
    // Held-out TNBC slide: the shipped model must be a useful one, not a stub.
    assert!(
        mean_dice > 0.7 && pooled > 0.7,
        "Dice {mean_dice} / {pooled}"
    );
    assert!(aji > 0.4 && pq > 0.3, "AJI {aji}, PQ {pq}");
    let images = tnbc["images"].as_array().expect("images");
    assert_eq!(images.len(), 4);
    for i in images {
        let s = &i["instances"];
        assert!(s["matched"].as_u64() <= s["predicted"].as_u64());
        assert!(s["aji"].as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)));
    }

    // MoNuSeg's 16-bit instance masks are read as instances, not as one blob per component;
    // --only picks one held-out image of the folder.
    let monuseg = evaluate_json(
        &["--only", MONUSEG_TEST],
        &[(
            shared("monuseg/train/Tissue_Images"),
            shared("monuseg/train/Instance_masks"),
        )],
    );
    let images = monuseg["images"].as_array().expect("images");
    assert_eq!(images.len(), 1);
    let truth = images[0]["instances"]["truth"].as_u64().expect("truth");
    let components = images[0]["true_nuclei"].as_u64().expect("components");
    assert!(truth > 300, "{truth} true nuclei in a MoNuSeg image");
    assert_eq!(truth, components);
    assert!(monuseg["pixels"]["mean_dice"].as_f64().expect("dice") > 0.6);
}

#[test]
fn test_time_augmentation_changes_the_map_but_not_the_quality() {
    let folders = [(shared("tnbc/Slide_07"), shared("tnbc/GT_07"))];
    let plain = evaluate_json(&["--only", "07_1"], &folders);
    let tta = evaluate_json(&["--only", "07_1", "--tta"], &folders);
    let dice = |v: &serde_json::Value| v["pixels"]["mean_dice"].as_f64().expect("dice");
    assert_ne!(dice(&plain), dice(&tta), "TTA averaged nothing");
    assert!(
        (dice(&plain) - dice(&tta)).abs() < 0.05,
        "{} vs {}",
        dice(&plain),
        dice(&tta)
    );
}

fn build_tnbc(root: &Path, slide: &str, test: &str) -> PathBuf {
    let src = root.join(format!("src-{slide}"));
    std::fs::create_dir_all(&src).expect("mkdir");
    for n in [slide, test] {
        for kind in ["Slide", "GT"] {
            let name = format!("{kind}_{n}");
            std::os::unix::fs::symlink(shared("tnbc").join(&name), src.join(&name)).expect("link");
        }
    }
    let out = root.join(format!("ds-{slide}"));
    histoseg()
        .arg("dataset")
        .arg("build")
        .arg(&src)
        .args(["--layout", "tnbc", "--scheme", "256p256s", "--quiet"])
        .args(["--test-groups", &format!("Slide_{test}"), "-o"])
        .arg(&out)
        .assert()
        .success();
    out
}

#[test]
fn fine_tuning_from_the_shipped_model_on_two_datasets_starts_from_its_quality() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = build_tnbc(tmp.path(), "03", "08");
    let b = build_tnbc(tmp.path(), "05", "08");
    let run = tmp.path().join("run");
    let (said, stderr) = output(
        histoseg()
            .args([
                "train", "--init", "default", "--device", "cpu", "--epochs", "1",
            ])
            .args([
                "--lr",
                "1e-4",
                "--batch",
                "4",
                "--stain-jitter",
                "1",
                "--quiet",
            ])
            .arg("--data")
            .arg(&a)
            .arg("--data")
            .arg(&b)
            .arg("-o")
            .arg(&run),
    );
    assert!(said.contains("best validation Dice"), "{said}\n{stderr}");
    let options: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("options.json")).expect("options"))
            .expect("json");
    assert_eq!(options["data"].as_array().expect("list").len(), 2);
    assert_eq!(options["stain_jitter"], 1.0);
    assert!(
        run.join("init.hsm").is_file(),
        "the starting weights are kept with the run"
    );
    // One epoch at a small learning rate from scratch stays near Dice 0; from the shipped
    // model the held-out slide starts well segmented.
    let text = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics");
    let row: Vec<&str> = text.lines().nth(1).expect("epoch 1").split(',').collect();
    let valid_dice: f64 = row[5].parse().expect("dice");
    assert!(
        valid_dice > 0.6,
        "validation Dice {valid_dice} after fine-tuning"
    );

    // --init with --slim or --model is refused; so is a negative jitter.
    histoseg()
        .args([
            "train", "--init", "default", "--slim", "4", "--device", "cpu", "--data",
        ])
        .arg(&a)
        .arg("-o")
        .arg(tmp.path().join("r2"))
        .assert()
        .failure();
    let out = histoseg()
        .args(["train", "--stain-jitter=-1", "--device", "cpu", "--data"])
        .arg(&a)
        .arg("-o")
        .arg(tmp.path().join("r3"))
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("stain-jitter"));
}

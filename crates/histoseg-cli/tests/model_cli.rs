//! The model commands end to end on real TNBC images: build a small dataset, train a slim
//! U-Net for a few epochs on burn's CPU backend, then evaluate, resume, export and predict.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::{failure_message, histoseg, shared};

fn output(cmd: &mut Command) -> (String, String) {
    let out = cmd.assert().success().get_output().clone();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TNBC-layout folder holding three of its slides, linked (not copied) from shared data.
fn tnbc_subset(root: &Path) -> PathBuf {
    let dir = root.join("tnbc");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for n in ["02", "06", "07"] {
        for kind in ["Slide", "GT"] {
            let name = format!("{kind}_{n}");
            std::os::unix::fs::symlink(shared("tnbc").join(&name), dir.join(&name)).expect("link");
        }
    }
    dir
}

fn metrics_rows(run: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).expect("metrics.csv");
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("epoch,train_loss,train_dice")
    );
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn train_evaluate_resume_export_predict_on_tnbc() {
    let tmp = tempfile::tempdir().expect("tmp");
    let source = tnbc_subset(tmp.path());
    let data = tmp.path().join("ds");
    histoseg()
        .arg("dataset")
        .arg("build")
        .arg(&source)
        .args([
            "--layout",
            "tnbc",
            "--scheme",
            "128p64s",
            "--drop-empty",
            "--test-groups",
            "Slide_07",
            "--quiet",
            "-o",
        ])
        .arg(&data)
        .assert()
        .success();

    let run = tmp.path().join("run");
    let train = |epochs: &str, resume: bool| {
        let mut cmd = histoseg();
        cmd.args([
            "train", "--model", "unet", "--slim", "8", "--device", "cpu", "--batch", "4", "--lr",
            "0.01", "--epochs", epochs, "--quiet", "-o",
        ])
        .arg(&run);
        if resume {
            cmd.arg("--resume");
        } else {
            cmd.arg("--data").arg(&data);
        }
        output(&mut cmd)
    };
    let (stdout, stderr) = train("3", false);
    assert!(stderr.contains("training on cpu"), "{stderr}");
    assert!(stdout.contains("best validation Dice"), "{stdout}");
    let rows = metrics_rows(&run);
    assert_eq!(rows.len(), 3);
    // Predicting no nucleus scores Dice 0; a trained model must be well above it.
    let best: f64 = rows
        .iter()
        .map(|r| r[5].parse::<f64>().expect("dice"))
        .fold(0.0, f64::max);
    assert!(best > 0.5, "validation Dice stayed at {best}: {rows:?}");
    for file in ["options.json", "state.json", "last.hsm", "best.hsm"] {
        assert!(run.join(file).is_file(), "{file}");
    }

    // A second start in the same folder is refused; --resume continues to 5 epochs.
    histoseg()
        .args(["train", "--device", "cpu", "--epochs", "1", "-o"])
        .arg(&run)
        .arg("--data")
        .arg(&data)
        .assert()
        .failure();
    train("4", true);
    assert_eq!(metrics_rows(&run).len(), 4);

    let (json, _) = output(
        histoseg()
            .args(["evaluate", "--device", "cpu", "--json", "--model"])
            .arg(&run)
            .arg("--data")
            .arg(&data)
            .arg("--overlays")
            .arg(tmp.path().join("overlays")),
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("json report");
    let dice = report["pixels"]["dataset_dice"].as_f64().expect("dice");
    assert!(dice > 0.4, "test Dice {dice}");
    assert!(report["f1"].as_f64().expect("f1") > 0.0);
    let images = report["images"].as_array().expect("images").len();
    assert_eq!(
        std::fs::read_dir(tmp.path().join("overlays"))
            .expect("overlays")
            .count(),
        images
    );

    // Raw images + masks: the model's preprocessing applies.
    let (table, _) = output(
        histoseg()
            .args(["evaluate", "--device", "cpu", "--model"])
            .arg(run.join("best.hsm"))
            .arg("--images")
            .arg(shared("tnbc/Slide_07"))
            .arg("--masks")
            .arg(shared("tnbc/GT_07")),
    );
    assert!(table.contains("3 images: Dice"), "{table}");

    let model = tmp.path().join("model.hsm");
    let (said, _) = output(histoseg().arg("export").arg(&run).arg("-o").arg(&model));
    assert!(said.contains("f16"), "{said}");
    let full = std::fs::metadata(run.join("best.hsm")).expect("best").len();
    assert!(std::fs::metadata(&model).expect("exported").len() < full * 7 / 10);

    // A fragment name maps the points to slide coordinates.
    let fragment = tmp
        .path()
        .join("slide [d=2,x=1000,y=3000,w=1024,h=1024].png");
    std::fs::copy(shared("tnbc/Slide_07/07_1.png"), &fragment).expect("copy");
    let out = tmp.path().join("pred");
    let (said, _) = output(
        histoseg()
            .args([
                "predict",
                "--device",
                "cpu",
                "--quiet",
                "--probabilities",
                "--model",
            ])
            .arg(&model)
            .arg(&fragment)
            .arg("-o")
            .arg(&out),
    );
    assert!(said.contains("slide coordinates"), "{said}");
    let stem = "slide [d=2,x=1000,y=3000,w=1024,h=1024]";
    let mask = image::open(out.join(format!("{stem}.mask.png")))
        .expect("mask")
        .to_luma8();
    assert_eq!(mask.dimensions(), (512, 512));
    assert!(out.join(format!("{stem}.instances.png")).is_file());
    // The probability map as .npy: NumPy's header, then one float32 a pixel, at or above the
    // model's threshold exactly where the mask is set.
    let npy = std::fs::read(out.join(format!("{stem}.probabilities.npy"))).expect("npy");
    assert_eq!(&npy[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).expect("ascii header");
    assert!(header.contains("'shape': (512, 512)"), "{header}");
    assert_eq!((10 + header_len) % 64, 0);
    let probabilities: Vec<f32> = npy[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(probabilities.len(), 512 * 512);
    let threshold = 0.5;
    for (p, m) in probabilities.iter().zip(mask.as_raw()) {
        assert!((0.0..=1.0).contains(p));
        assert_eq!(*p >= threshold, *m == 255, "p = {p}, mask = {m}");
    }
    let geo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("{stem}.nuclei.geojson"))).expect("geojson"),
    )
    .expect("json");
    // The writer groups a class's points into one MultiPoint feature.
    let mut points = Vec::new();
    for f in geo["features"].as_array().expect("features") {
        let g = &f["geometry"];
        let coords = g["coordinates"].as_array().expect("coordinates");
        match g["type"].as_str() {
            Some("Point") => points.push(coords.clone()),
            Some("MultiPoint") => {
                points.extend(coords.iter().map(|c| c.as_array().expect("point").clone()))
            }
            other => panic!("unexpected geometry {other:?}"),
        }
    }
    assert!(points.len() > 5, "{} nuclei", points.len());
    for c in points {
        let (x, y) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        assert!(
            (1000.0..=2024.0).contains(&x) && (3000.0..=4024.0).contains(&y),
            "({x}, {y})"
        );
    }
}

#[test]
fn model_commands_explain_bad_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bogus = tmp.path().join("bogus.hsm");
    std::fs::write(&bogus, b"definitely not weights").expect("write");
    let err = failure_message(
        histoseg()
            .args(["predict", "--device", "cpu", "--model"])
            .arg(&bogus)
            .arg(shared("tnbc/Slide_07/07_1.png"))
            .arg("-o")
            .arg(tmp.path()),
    );
    assert!(
        err.contains("bogus.hsm") && err.contains("signature"),
        "{err}"
    );

    let out = histoseg()
        .args(["train", "--device", "cpu", "--data"])
        .arg(tmp.path())
        .arg("-o")
        .arg(tmp.path().join("run"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dataset.json"), "{err}");

    let out = histoseg()
        .args(["train", "--model", "vgg16", "--device", "cpu", "--data"])
        .arg(tmp.path())
        .arg("-o")
        .arg(tmp.path().join("run"))
        .assert()
        .failure()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model"));
}

//! `histoseg experiment` end to end on five real BreCaHAD images, squared to 256 px: builds
//! two dataset variants, trains and scores a slim U-Net on each (CPU), writes the paper's
//! table, and on a second run reads the finished cells back instead of training them again.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::shared;

/// A BreCaHAD-layout folder of five images and their points, linked (not copied).
fn brecahad_subset(root: &Path) -> PathBuf {
    let dir = root.join("brecahad");
    for sub in ["images", "groundTruth"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    for case in [
        "Case_1-01",
        "Case_10-03",
        "Case_10-04",
        "Case_10-05",
        "Case_10-06",
    ] {
        for (sub, ext) in [("images", "jpg"), ("groundTruth", "json")] {
            let name = format!("{case}.{ext}");
            let target = shared("brecahad").join(sub).join(&name);
            std::os::unix::fs::symlink(target, dir.join(sub).join(&name)).expect("link");
        }
    }
    dir
}

fn experiment(source: &Path, report: &Path) -> String {
    let out = Command::cargo_bin("histoseg")
        .expect("binary built")
        .arg("experiment")
        .arg(source)
        .args(["--layout", "brecahad", "--models", "unet"])
        .args([
            "--schemes",
            "128p64s-zero,original",
            "--epochs",
            "2",
            "--batch",
            "4",
        ])
        .args(["--slim", "16", "--device", "cpu", "--quiet"])
        .arg("--dataset-option=--square=256")
        .arg("-o")
        .arg(report)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The table rows of the report: variant, model and the numeric cells.
fn rows(report: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(report).expect("report written");
    assert!(text.contains("| Dataset | Model | Train Dice | Train IoU | Test Dice | Test IoU |"));
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Dataset"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn experiment_trains_every_cell_once_and_writes_the_table() {
    let tmp = tempfile::tempdir().expect("tmp");
    let source = brecahad_subset(tmp.path());
    let report = tmp.path().join("report.md");
    let log = experiment(&source, &report);
    assert_eq!(log.matches(": training").count(), 2, "{log}");

    let table = rows(&report);
    let cells: Vec<_> = table
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(cells, [("128p64s-zero", "unet"), ("original", "unet")]);
    for row in &table {
        for score in &row[2..6] {
            let v: f64 = score.parse().unwrap_or_else(|_| panic!("score {score:?}"));
            assert!((0.0..=1.0).contains(&v), "{row:?}");
        }
        let (train, test) = row[6].split_once('/').expect("sizes");
        assert!(train.parse::<usize>().expect("n") > 0 && test.parse::<usize>().expect("n") > 0);
        assert_eq!(row[7], "2", "epochs run: {row:?}");
        assert_eq!(row[8], "n/a", "the paper has no 256 px cells");
    }
    // "original" keeps one sample an image: 4 source images train, 1 tests.
    assert_eq!(table[1][6], "4/1");
    let work = tmp.path().join("report.work");
    for variant in ["128p64s-zero", "original"] {
        assert!(
            work.join("datasets")
                .join(variant)
                .join("dataset.json")
                .is_file()
        );
        let run = work.join("runs").join(format!("unet-{variant}"));
        assert!(run.join("best.hsm").is_file() && run.join("result.json").is_file());
    }

    // Again: nothing is trained, the table is the same.
    let metrics = work.join("runs/unet-original/metrics.csv");
    let before = std::fs::read_to_string(&metrics).expect("metrics");
    let log = experiment(&source, &report);
    assert_eq!(log.matches("done before, read back").count(), 2, "{log}");
    assert!(!log.contains(": training"), "{log}");
    assert_eq!(rows(&report), table);
    assert_eq!(std::fs::read_to_string(&metrics).expect("metrics"), before);
}

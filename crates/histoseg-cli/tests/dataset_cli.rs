//! `histoseg dataset build | stats | table` on real data (../shared/data) and small fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use image::{GrayImage, Luma, Rgb, RgbImage};

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

fn histoseg() -> Command {
    Command::cargo_bin("histoseg").expect("binary built")
}

fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("dataset.json")).expect("dataset.json");
    serde_json::from_str(&text).expect("json")
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().clone();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of_failure(cmd: &mut Command) -> String {
    let out = cmd.assert().failure().get_output().clone();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn build_tnbc_grid2_splits_by_slide_and_writes_every_sample() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("tnbc_grid2");
    let printed = stdout_of(
        histoseg()
            .args([
                "dataset",
                "build",
                "--layout",
                "tnbc",
                "--scheme",
                "grid2",
                "--drop-empty",
            ])
            .args(["--seed", "5", "-o"])
            .arg(&out)
            .arg(shared("tnbc")),
    );
    let m = manifest(&out);
    assert_eq!(m["scheme"], "grid2");
    assert_eq!(m["square"], serde_json::Value::Null); // TNBC stays 512x512
    let samples = m["samples"].as_array().expect("samples");
    // 37 images of 4 quarters, minus the quarters without nuclei.
    assert!(
        samples.len() <= 37 * 4 && samples.len() > 100,
        "{}",
        samples.len()
    );
    let files = std::fs::read_dir(out.join("images"))
        .expect("images")
        .count();
    assert_eq!(files, samples.len());

    let mut side_of_slide: BTreeMap<String, String> = BTreeMap::new();
    for s in samples {
        let group = s["group"].as_str().expect("group").to_string();
        let split = s["split"].as_str().expect("split").to_string();
        assert_eq!(
            side_of_slide.entry(group.clone()).or_insert(split.clone()),
            &split,
            "{group}"
        );
        let mask = image::open(out.join(s["mask"].as_str().expect("mask")))
            .expect("m")
            .to_luma8();
        let img = image::open(out.join(s["image"].as_str().expect("image"))).expect("i");
        assert_eq!(mask.dimensions(), (256, 256));
        assert_eq!(img.color(), image::ColorType::Rgb8);
        assert!(mask.pixels().all(|v| v[0] == 0 || v[0] == 255));
        assert!(
            mask.pixels().any(|v| v[0] == 255),
            "drop-empty keeps labelled samples"
        );
        assert_eq!(s["empty"], false);
    }
    assert_eq!(side_of_slide.len(), 8);
    assert_eq!(side_of_slide.values().filter(|s| *s == "train").count(), 6);
    assert!(
        printed.contains(&format!("{} samples", samples.len())),
        "{printed}"
    );

    let stats = stdout_of(histoseg().args(["dataset", "stats"]).arg(&out));
    let train = samples.iter().filter(|s| s["split"] == "train").count();
    let train_line = stats
        .lines()
        .find(|l| l.starts_with("train"))
        .expect("train line");
    assert_eq!(
        train_line.split_whitespace().nth(1),
        Some(train.to_string().as_str()),
        "{stats}"
    );
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("all") && l.contains(&samples.len().to_string()))
    );
}

#[test]
fn stats_reports_the_share_of_empty_patches() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("monuseg");
    histoseg()
        .args([
            "dataset", "build", "--layout", "monuseg", "--scheme", "500p500s", "--quiet",
        ])
        .arg("-o")
        .arg(&out)
        .arg(shared("monuseg/train"))
        .assert()
        .success();
    let m = manifest(&out);
    let samples = m["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 30 * 4);
    let empty = samples.iter().filter(|s| s["empty"] == true).count();
    let stats = stdout_of(
        histoseg()
            .args(["dataset", "stats"])
            .arg(out.join("dataset.json")),
    );
    let all: Vec<&str> = stats
        .lines()
        .find(|l| l.starts_with("all"))
        .expect("all")
        .split_whitespace()
        .collect();
    assert_eq!(all[1], "120");
    assert_eq!(all[2], empty.to_string());
    assert_eq!(all[3], format!("{:.1}", 100.0 * empty as f64 / 120.0));
}

#[test]
fn table_counts_the_nine_brecahad_variants() {
    let printed = stdout_of(
        histoseg()
            .args(["dataset", "table", "--layout", "brecahad"])
            .arg(shared("brecahad")),
    );
    let rows: BTreeMap<String, Vec<String>> = printed
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let (name, rest) = if cols.get(1) == Some(&"zero") {
                (format!("{} zero", cols[0]), cols[2..].to_vec())
            } else {
                (cols.first()?.to_string(), cols.get(1..)?.to_vec())
            };
            Some((name, rest.into_iter().map(String::from).collect()))
        })
        .collect();
    let total = |name: &str| -> usize { rows[name][0].parse().expect("count") };
    for (name, per_image) in [
        ("original", 1),
        ("grid2", 4),
        ("512p256s", 9),
        ("256p128s", 49),
        ("128p64s", 225),
    ] {
        assert_eq!(total(name), 31 * per_image, "{name}");
        let zero = total(&format!("{name} zero").replace("original zero", "original"));
        assert!(zero <= total(name));
        let r = &rows[name];
        assert_eq!(
            r[1].parse::<usize>()
                .ok()
                .zip(r[2].parse().ok())
                .map(|(a, b): (usize, usize)| a + b),
            Some(total(name))
        );
        assert_eq!(r[3], "n/a");
    }
    // Small patches do find empty background in these images.
    assert!(total("128p64s zero") < total("128p64s"));
    assert_eq!(rows.keys().filter(|k| k.ends_with(" zero")).count(), 4);
}

/// A BreCaHAD-style folder with one annotated image and one without its JSON.
fn fake_brecahad(dir: &Path, y: f64) {
    std::fs::create_dir_all(dir.join("images")).expect("mkdir");
    std::fs::create_dir_all(dir.join("groundTruth")).expect("mkdir");
    let img = RgbImage::from_fn(96, 64, |x, y| Rgb([(x * 2) as u8, (y * 3) as u8, 128]));
    img.save(dir.join("images/one.png")).expect("save");
    img.save(dir.join("images/two.jpg")).expect("save");
    std::fs::write(
        dir.join("groundTruth/one.json"),
        format!(r#"{{"tumor": [{{"x": 0.1, "y": {y}}}], "non_tumor": [{{"x": 0.9, "y": 0.9}}]}}"#),
    )
    .expect("json");
}

#[test]
fn an_image_without_annotation_is_warned_about_and_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    fake_brecahad(&dir.path().join("src"), 0.2);
    let out = dir.path().join("out");
    let assert = histoseg()
        .args([
            "dataset", "build", "--layout", "brecahad", "--scheme", "32p32s", "--square", "64",
        ])
        .arg("-o")
        .arg(&out)
        .arg(dir.path().join("src"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning:") && stderr.contains("two.jpg"),
        "{stderr}"
    );
    let m = manifest(&out);
    assert_eq!(m["warnings"].as_array().map(Vec::len), Some(1));
    let samples = m["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 4);
    // The tumour point (0.1, 0.2) lands in the top-left patch, the other in the bottom-right.
    let labelled: Vec<(u64, u64)> = samples
        .iter()
        .filter(|s| s["empty"] == false)
        .map(|s| {
            (
                s["rect"]["x"].as_u64().unwrap_or(99),
                s["rect"]["y"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(labelled, vec![(0, 0), (32, 32)]);
    let stats = stdout_of(histoseg().args(["dataset", "stats"]).arg(&out));
    assert!(stats.contains("two.jpg"), "{stats}");
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("all") && l.contains("50.0")),
        "{stats}"
    );

    // A second build into the same folder is refused without --force.
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "brecahad", "--scheme", "original", "-o",
            ])
            .arg(&out)
            .arg(dir.path().join("src")),
    );
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn a_point_outside_0_1_fails_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    fake_brecahad(&dir.path().join("src"), -0.3);
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "brecahad", "--scheme", "original", "-o",
            ])
            .arg(dir.path().join("out"))
            .arg(dir.path().join("src")),
    );
    assert!(
        err.contains("one.json") && err.contains("outside [0, 1]"),
        "{err}"
    );
}

#[test]
fn folder_layout_with_prep_writes_the_preprocessed_image_and_refuses_a_wrong_mask() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("images")).expect("mkdir");
    std::fs::create_dir_all(src.join("masks")).expect("mkdir");
    let img = RgbImage::from_fn(48, 48, |x, y| {
        Rgb([
            ((x * 37 + y * 11) % 256) as u8,
            ((x * y) % 256) as u8,
            ((x ^ y) * 5 % 256) as u8,
        ])
    });
    img.save(src.join("images/tile.png")).expect("save");
    let mut mask = GrayImage::new(48, 48);
    mask.put_pixel(5, 5, Luma([1]));
    mask.save(src.join("masks/tile.png")).expect("save");
    let out = dir.path().join("out");
    histoseg()
        .args([
            "dataset", "build", "--layout", "folder", "--scheme", "original", "--prep", "-o",
        ])
        .arg(&out)
        .arg(&src)
        .assert()
        .success();
    let written = image::open(out.join("images/tile__x0_y0_48x48.png"))
        .expect("img")
        .to_rgb8();
    assert_eq!(written, histoseg_core::filters::preprocess_u8(&img));
    let m = image::open(out.join("masks/tile__x0_y0_48x48.png"))
        .expect("mask")
        .to_luma8();
    assert_eq!(m.get_pixel(5, 5)[0], 255);

    GrayImage::new(40, 48)
        .save(src.join("masks/tile.png"))
        .expect("save");
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "folder", "--scheme", "original", "-o",
            ])
            .arg(dir.path().join("out2"))
            .arg(&src),
    );
    assert!(
        err.contains("tile.png") && err.contains("40x48") && err.contains("48x48"),
        "{err}"
    );
}

#[test]
fn a_bad_scheme_or_split_is_refused() {
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "tnbc", "--scheme", "256p512s", "-o", "x",
            ])
            .arg(shared("tnbc")),
    );
    assert!(err.contains("stride"), "{err}");
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "tnbc", "--scheme", "grid2", "--split", "1.5",
            ])
            .args(["-o", "x"])
            .arg(shared("tnbc")),
    );
    assert!(err.contains("1.5"), "{err}");
}

//! `histoseg dataset build | stats | table` on real data (../shared/data) and small fixtures.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use image::{GrayImage, Luma, Rgb, RgbImage};

mod common;
use common::{histoseg, shared};

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

/// The table's rows by variant name ("128p64s zero"), each with its columns after the name.
fn table_rows(printed: &str) -> BTreeMap<String, Vec<String>> {
    printed
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
        .collect()
}

/// Samples per 1024x1024 image of the paper's schemes.
const PER_IMAGE: [(&str, usize); 5] = [
    ("original", 1),
    ("grid2", 4),
    ("512p256s", 9),
    ("256p128s", 49),
    ("128p64s", 225),
];

#[test]
fn table_counts_the_nine_brecahad_variants() {
    let printed = stdout_of(
        histoseg()
            .args(["dataset", "table", "--layout", "brecahad"])
            .arg(shared("brecahad")),
    );
    let rows = table_rows(&printed);
    let col = |name: &str, i: usize| -> usize {
        rows[name][i]
            .parse()
            .unwrap_or_else(|_| panic!("{name} column {i}: {printed}"))
    };
    // Columns: samples, train, test, all 162 (from all_cells.csv, found in the folder), and the
    // paper's Tables 2 and 3.
    assert!(
        printed.lines().any(|l| l.starts_with("variant")
            && l.split_whitespace().collect::<Vec<_>>()
                == [
                    "variant",
                    "samples",
                    "train",
                    "test",
                    "all",
                    "162",
                    "paper-unet",
                    "paper-r50"
                ]),
        "{printed}"
    );
    assert!(
        printed.lines().any(|l| l
            .starts_with("all 162: counts for every BreCaHAD image, from all_cells.csv")
            && l.contains("162 images, 23496 cells")),
        "{printed}"
    );
    // The paper's published counts, and the notes where they disagree with all 162 images by
    // our rules (512p256s and smaller) and with themselves.
    let paper = [
        ("original", 162, 162),
        ("grid2", 648, 453),
        ("grid2 zero", 635, 435),
        ("512p256s", 247, 247),
        ("512p256s zero", 286, 228),
        ("256p128s", 1349, 1190),
        ("256p128s zero", 1258, 1190),
        ("128p64s", 6196, 5103),
        ("128p64s zero", 4655, 4655),
    ];
    for (name, unet, r50) in paper {
        assert_eq!(
            (col(name, 4), col(name, 5)),
            (unet, r50),
            "{name}: {printed}"
        );
    }
    let notes: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("note: "))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("differ from every image's count")
                && n.contains("512p256s (all images 1458, paper 247 / 247)")
                && !n.contains("original (")),
        "{printed}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Table 2 lists more samples with empty ones dropped (286)")),
        "{printed}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Tables 2 and 3 give different counts")
                && n.contains("grid2 zero")
                && !n.contains("original")),
        "{printed}"
    );
    for (name, per_image) in PER_IMAGE {
        let zero = format!("{name} zero").replace("original zero", "original");
        assert_eq!(col(name, 0), 31 * per_image, "{name}");
        assert!(col(&zero, 0) <= col(name, 0));
        assert_eq!(col(name, 1) + col(name, 2), col(name, 0), "{name}");
        assert_eq!(col(name, 3), 162 * per_image, "{name}: {printed}");
        assert!(
            col(&zero, 3) <= col(name, 3) && col(&zero, 3) > 0,
            "{zero}: {printed}"
        );
        // The 31 local images are among the 162.
        assert!(col(&zero, 3) >= col(&zero, 0), "{zero}: {printed}");
    }
    // Small patches do find empty background in these images.
    assert!(col("128p64s zero", 0) < col("128p64s", 0));
    assert!(col("128p64s zero", 3) < col("128p64s", 3));
    assert_eq!(rows.keys().filter(|k| k.ends_with(" zero")).count(), 4);
}

/// The rows of the shared all_cells.csv for the images of the shared BreCaHAD folder, with its
/// header, written to `file`; returns how many cells were kept.
fn local_all_cells(file: &Path) -> usize {
    let local: Vec<String> = std::fs::read_dir(shared("brecahad/images"))
        .expect("images")
        .filter_map(|e| {
            let p = e.ok()?.path();
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    assert_eq!(local.len(), 31);
    let text = std::fs::read_to_string(shared("brecahad/all_cells.csv")).expect("all_cells.csv");
    let mut lines = text.lines();
    let mut out = vec![lines.next().expect("header")];
    out.extend(lines.filter(|l| {
        local
            .iter()
            .any(|n| l.split(',').next() == Some(n.as_str()))
    }));
    std::fs::write(file, out.join("\n") + "\n").expect("write csv");
    out.len() - 1
}

fn table_json(extra: &[&str], all_cells: &Path) -> serde_json::Value {
    let printed = stdout_of(
        histoseg()
            .args([
                "dataset", "table", "--layout", "brecahad", "--json", "--quiet",
            ])
            .args(extra)
            .arg("--all-cells")
            .arg(all_cells)
            .arg(shared("brecahad")),
    );
    serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{e}: {printed}"))
}

#[test]
fn all_cells_rows_of_the_local_images_give_the_counts_of_their_json_points() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("local_cells.csv");
    let kept = local_all_cells(&csv);
    // The paper's settings, then every other class (each BreCaHAD class is selected in
    // exactly one run, so a wrong class mapping changes a count) with other radii and square
    // steps: both columns must follow the same options.
    for extra in [
        &[][..],
        &[
            "--classes",
            "non_tumor,lumen,apoptosis",
            "--radius",
            "6",
            "--crop",
        ][..],
        &[
            "--classes",
            "mitosis,non_lumen,non_mitosis",
            "--radius",
            "10",
            "--no-square",
        ][..],
    ] {
        let t = table_json(extra, &csv);
        assert_eq!(t["images"], 31);
        assert_eq!(t["all_cells"]["images"], 31, "{extra:?}");
        assert_eq!(t["all_cells"]["cells"], kept);
        let variants = t["variants"].as_array().expect("variants");
        assert_eq!(variants.len(), 9);
        for v in variants {
            assert_eq!(
                v["all_cells"], v["samples"],
                "{extra:?}: {}: all_cells.csv rows vs JSON points",
                v["variant"]
            );
            assert!(v["paper_unet"].as_u64().is_some_and(|n| n >= 162));
        }
        let count = |name: &str| {
            variants
                .iter()
                .find(|v| v["variant"] == name)
                .and_then(|v| v["samples"].as_u64())
                .unwrap_or_default()
        };
        // Not a comparison of two full counts: empty patches were dropped.
        assert!(count("128p64s zero") < count("128p64s"), "{extra:?}");
    }
}

#[test]
fn a_bad_all_cells_csv_is_refused_naming_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    fake_brecahad(&src, 0.2);
    let header = "filename,case_id,image_id,class_id,class_name,x_center,y_center,width,height,\
                  x_center_abs,y_center_abs,width_abs,height_abs,area_abs";
    // One tumour nucleus near the top-left corner: (13.6, 10.24) px of 1360x1024.
    let good = "Case_1-01,Case_1,01,2,Tumor_nuclei,0.01,0.01,0.02,0.04,13.6,10.24,28,43,1204";
    let table = |csv: &str| {
        let file = dir.path().join("bad_cells.csv");
        std::fs::write(&file, csv).expect("write");
        stderr_of_failure(
            histoseg()
                .args(["dataset", "table", "--layout", "brecahad", "--all-cells"])
                .arg(&file)
                .arg(&src),
        )
    };
    let err = table(&format!(
        "{}\n{}\n",
        header.replace(",x_center_abs", ""),
        good.replace(",13.6", "")
    ));
    assert!(
        err.contains("bad_cells.csv, line 1: no column 'x_center_abs'"),
        "{err}"
    );
    let err = table(&format!(
        "{header}\n{good}\n{}\n",
        good.replace("0.01,0.02", "1/4,0.02")
    ));
    assert!(
        err.contains("bad_cells.csv, line 3: y_center \"1/4\" is not a number"),
        "{err}"
    );
    let err = table(&format!("{header}\n{}\n", good.replace(",13.6,", ",20,")));
    assert!(
        err.contains("bad_cells.csv, line 2: unknown image size for Case_1-01")
            && err.contains("width of 2000 px")
            && err.contains("1360x1024"),
        "{err}"
    );
    let err = table(&format!(
        "{header}\n{}\n",
        good.replace("Tumor_nuclei", "Tumour")
    ));
    assert!(
        err.contains("bad_cells.csv, line 2: unknown class_name \"Tumour\""),
        "{err}"
    );

    // A missing file, and the option on another layout, are refused too.
    let err = stderr_of_failure(
        histoseg()
            .args(["dataset", "table", "--layout", "brecahad", "--all-cells"])
            .arg(dir.path().join("nowhere.csv"))
            .arg(&src),
    );
    assert!(err.contains("nowhere.csv"), "{err}");
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset",
                "table",
                "--layout",
                "tnbc",
                "--all-cells",
                "x.csv",
            ])
            .arg(shared("tnbc")),
    );
    assert!(err.contains("--all-cells needs --layout brecahad"), "{err}");

    // DIR/all_cells.csv is read by default; without one there is no column.
    std::fs::write(src.join("all_cells.csv"), format!("{header}\n{good}\n")).expect("write");
    let printed = stdout_of(
        histoseg()
            .args(["dataset", "table", "--layout", "brecahad"])
            .arg(&src),
    );
    let rows = table_rows(&printed);
    assert_eq!(rows["128p64s"][3], "225", "{printed}");
    assert_eq!(rows["128p64s zero"][3], "1", "{printed}");
    std::fs::remove_file(src.join("all_cells.csv")).expect("rm");
    let printed = stdout_of(
        histoseg()
            .args(["dataset", "table", "--layout", "brecahad", "--json"])
            .arg(&src),
    );
    let t: serde_json::Value = serde_json::from_str(&printed).expect("json");
    assert_eq!(t["all_cells"], serde_json::Value::Null);
    assert_eq!(t["variants"][0]["all_cells"], serde_json::Value::Null);
    assert_eq!(t["variants"][0]["samples"], 1);
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

#[test]
fn build_from_a_slide_and_its_geojson_annotations() {
    use histoseg_core::annotations::{Annotation, Geometry, geojson};
    let dir = tempfile::tempdir().expect("tmp");
    // Two clusters on CMU-1 (2220 x 2967 at level 0): polygons near (500, 500), points and a box
    // near (1500, 2000); one point off the slide.
    let square = |x: f64, y: f64, s: f64| {
        Geometry::Polygon(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s)])
    };
    let annotations = vec![
        Annotation::new("nucleus", square(480.0, 480.0, 20.0)),
        Annotation::new("nucleus", square(530.0, 500.0, 16.0)),
        Annotation::new(
            "lymphocyte",
            Geometry::Point {
                x: 1500.0,
                y: 2000.0,
            },
        ),
        Annotation::new(
            "lymphocyte",
            Geometry::Point {
                x: 1540.0,
                y: 2010.0,
            },
        ),
        Annotation::new(
            "nucleus",
            Geometry::Rect {
                x: 1480.0,
                y: 2050.0,
                w: 24.0,
                h: 18.0,
            },
        ),
        Annotation::new(
            "nucleus",
            Geometry::Point {
                x: 9000.0,
                y: 100.0,
            },
        ),
    ];
    let file = dir.path().join("cmu-1.geojson");
    std::fs::write(&file, geojson::write(&annotations)).expect("write");
    let out = dir.path().join("ds");
    let cmd = histoseg()
        .args(["dataset", "build", "--layout", "geojson"])
        .arg(shared("slides/cmu-1-small-region.svs"))
        .arg(&file)
        .args([
            "--scheme", "64p64s", "--radius", "6", "--split", "0.5", "--quiet", "-o",
        ])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&cmd.stderr);
    assert!(
        stderr.contains("1 annotation(s)") && stderr.contains("outside the slide"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 annotated area(s) from 5 annotation(s)"),
        "{stderr}"
    );
    let mut names: Vec<String> = std::fs::read_dir(out.join("sources/images"))
        .expect("sources")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Each area: the annotations' bounds with 32 px of context, named by its level-0 rectangle.
    assert_eq!(
        names,
        [
            "cmu-1-small-region__x1448_y1962_w130_h138.png",
            "cmu-1-small-region__x448_y448_w130_h100.png",
        ]
    );
    let mask = image::open(out.join("sources/masks").join(&names[1]))
        .expect("mask")
        .to_luma8();
    // The first polygon covers level-0 (480..500, 480..500): area pixels (32..52, 32..52).
    assert_eq!(mask[(40, 40)][0], 255);
    assert_eq!(mask[(10, 10)][0], 0);
    let pixels = image::open(out.join("sources/images").join(&names[1]))
        .expect("image")
        .to_rgb8();
    assert_eq!(pixels.dimensions(), (130, 100));
    // The dataset itself: 64 px samples of both areas, one area per side of the split.
    let m = manifest(&out);
    let samples = m["samples"].as_array().expect("samples");
    assert!(!samples.is_empty());
    let sides: std::collections::BTreeSet<&str> =
        samples.iter().filter_map(|s| s["split"].as_str()).collect();
    assert_eq!(sides.len(), 2, "{m}");

    // Without the annotations file, or with none on the slide: clear errors.
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "geojson", "--scheme", "64p64s", "-o",
            ])
            .arg(dir.path().join("x"))
            .arg(shared("slides/cmu-1-small-region.svs")),
    );
    assert!(err.to_lowercase().contains("annotations"), "{err}");
    let empty = dir.path().join("empty.geojson");
    std::fs::write(&empty, geojson::write(&annotations[5..])).expect("write");
    let err = stderr_of_failure(
        histoseg()
            .args([
                "dataset", "build", "--layout", "geojson", "--scheme", "64p64s", "-o",
            ])
            .arg(dir.path().join("y"))
            .arg(shared("slides/cmu-1-small-region.svs"))
            .arg(&empty),
    );
    assert!(err.contains("no annotation on the slide"), "{err}");
}

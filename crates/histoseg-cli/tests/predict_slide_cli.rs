//! `histoseg predict` on whole slides: QuPath detections with outlines and measurements,
//! regions as annotations, `summary.csv`, µm where the slide has an mpp and pixels where not,
//! and a region outside the slide refused.

use std::path::Path;

use histoseg_core::annotations::detections;
use serde_json::Value;

mod common;
use common::{failure_message, histoseg, shared};

/// Runs `predict` on `slide` in `region`; returns the GeoJSON and `summary.csv`.
fn predict_region(slide: &str, region: &str, out: &Path) -> (Value, String) {
    histoseg()
        .args(["predict", "--device", "cpu", "--quiet", "--region", region])
        .arg(shared(&format!("slides/{slide}")))
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    let stem = slide.rsplit_once('.').map_or(slide, |(s, _)| s);
    let text = std::fs::read_to_string(out.join(format!("{stem}.nuclei.geojson")))
        .expect("the GeoJSON is written");
    let summary = std::fs::read_to_string(out.join("summary.csv")).expect("summary.csv");
    assert!(
        !out.join(format!("{stem}.nuclei.geojson.partial")).exists(),
        "the partial file is renamed when complete"
    );
    (serde_json::from_str(&text).expect("valid JSON"), summary)
}

fn detections_of(json: &Value) -> Vec<&Value> {
    json["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["objectType"] == "detection")
        .collect()
}

/// The summary row of `class`, split.
fn row<'a>(summary: &'a str, class: &str) -> Vec<&'a str> {
    summary
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.get(1) == Some(&class))
        .unwrap_or_else(|| panic!("no {class} row in\n{summary}"))
}

#[test]
fn a_slide_region_gives_measured_qupath_detections_that_read_back_and_a_summary() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 700 x 500 level-0 pixels of CMU-1's epidermis and dermis (0.499 µm per pixel).
    let (x0, y0, w, h) = (700.0, 1200.0, 700.0, 500.0);
    let (json, summary) = predict_region("cmu-1-small-region.svs", "700,1200,700,500", tmp.path());
    assert_eq!(json["type"], "FeatureCollection");
    let region: Vec<&Value> = json["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["objectType"] == "annotation")
        .collect();
    assert_eq!(region.len(), 1, "the region is one annotation");
    assert_eq!(
        region[0]["geometry"]["coordinates"].to_string(),
        "[[[700.0,1200.0],[1400.0,1200.0],[1400.0,1700.0],[700.0,1700.0],[700.0,1200.0]]]"
    );
    let nuclei = detections_of(&json);
    assert!(
        nuclei.len() > 30,
        "only {} nuclei in a cellular region",
        nuclei.len()
    );
    // At the model's resolution (the slide is 0.499 µm a pixel, the model's data 0.25), most
    // nuclei come out at 5-200 µm², the middle one at 10-60.
    let mut areas: Vec<f64> = nuclei
        .iter()
        .filter_map(|n| n["properties"]["measurements"]["Area µm^2"].as_f64())
        .collect();
    areas.sort_by(f64::total_cmp);
    let median = areas[areas.len() / 2];
    assert!(
        (10.0..60.0).contains(&median),
        "median nucleus {median} µm²"
    );
    let typical = areas.iter().filter(|a| (5.0..200.0).contains(*a)).count();
    assert!(
        typical as f64 >= 0.75 * areas.len() as f64,
        "{typical} of {}",
        areas.len()
    );
    for n in &nuclei {
        assert_eq!(n["properties"]["classification"]["name"], "Nucleus");
        let ring = n["geometry"]["coordinates"][0].as_array().expect("a ring");
        assert!(
            ring.len() >= 4 && ring.first() == ring.last(),
            "a closed ring: {ring:?}"
        );
        let m = &n["properties"]["measurements"];
        let area = m["Area µm^2"].as_f64().expect("area in µm²");
        assert!((0.5..2000.0).contains(&area), "area {area}");
        let length = m["Length µm"].as_f64().expect("perimeter in µm");
        let circularity = m["Circularity"].as_f64().expect("circularity");
        assert!(length > 0.0 && circularity > 0.0 && circularity <= 1.0);
        assert!(m["Hematoxylin OD mean"].as_f64().expect("haematoxylin") > 0.0);
        // Kept by the window whose cell holds the centroid: in the region, so the outline
        // reaches into it.
        let xs: Vec<f64> = ring.iter().filter_map(|p| p[0].as_f64()).collect();
        let ys: Vec<f64> = ring.iter().filter_map(|p| p[1].as_f64()).collect();
        let (min, max) = (
            |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min),
            |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        assert!(max(&xs) > x0 && min(&xs) < x0 + w && max(&ys) > y0 && min(&ys) < y0 + h);
    }
    // Our own export read back gives the same objects and measurements.
    let text = serde_json::to_string(&json).expect("text");
    let back = detections::read("back.geojson", &text).expect("readable");
    assert_eq!(back.len(), nuclei.len());
    for (d, n) in back.iter().zip(&nuclei) {
        for (name, value) in &d.measurements {
            assert_eq!(n["properties"]["measurements"][name].as_f64(), Some(*value));
        }
        assert_eq!(d.measurements.len(), 4);
    }
    let all = row(&summary, "Nucleus");
    assert_eq!(all[0], "cmu-1-small-region.svs");
    assert_eq!(all[2], nuclei.len().to_string());
    assert_eq!((all[4], all[6]), ("mm^2", "per mm^2"));
    let tissue: f64 = all[3].parse().expect("an area");
    let region_mm2 = w * h * 0.499 * 0.499 / 1e6;
    assert!(
        tissue > 0.2 * region_mm2 && tissue <= region_mm2 * 1.01,
        "{tissue} mm²"
    );
    let density: f64 = all[5].parse().expect("a density");
    assert!((density - nuclei.len() as f64 / tissue).abs() < 1e-3 * density);
}

#[test]
fn a_slide_without_mpp_is_measured_in_pixels() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (json, summary) = predict_region(
        "cmu1_generic_tiled_pyramid_jpeg.tif",
        "900,1300,300,300",
        tmp.path(),
    );
    let nuclei = detections_of(&json);
    assert!(!nuclei.is_empty());
    for n in &nuclei {
        let m = &n["properties"]["measurements"];
        assert!(
            m["Area px^2"].as_f64().is_some() && m.get("Area µm^2").is_none(),
            "{m}"
        );
    }
    let all = row(&summary, "All");
    assert_eq!((all[4], all[6]), ("megapixels", "per megapixel"));
}

#[test]
fn a_region_outside_the_slide_is_refused_naming_the_slide() {
    let tmp = tempfile::tempdir().expect("tmp");
    let stderr = failure_message(
        histoseg()
            .args([
                "predict",
                "--device",
                "cpu",
                "--quiet",
                "--region",
                "5000,5000,10,10",
            ])
            .arg(shared("slides/cmu-1-small-region.svs"))
            .arg("-o")
            .arg(tmp.path()),
    );
    assert!(
        stderr.contains("outside") && stderr.contains("cmu-1-small-region.svs"),
        "{stderr}"
    );
    histoseg()
        .args(["predict", "--region", "1,2,0,4", "x.svs", "-o"])
        .arg(tmp.path())
        .assert()
        .failure();
}

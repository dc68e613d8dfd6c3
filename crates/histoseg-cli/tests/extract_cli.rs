//! `histoseg extract` on the real slides in ../shared/data/slides.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use histoseg_core::fragment::Fragment;
use histoseg_core::rect::Rect;

mod common;
use common::shared;

fn slide(name: &str) -> PathBuf {
    shared("slides").join(name)
}

fn extract(slide: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    Command::cargo_bin("histoseg")
        .expect("binary")
        .arg("extract")
        .arg(slide)
        .arg("-o")
        .arg(out)
        .args(["--max-side", "1024"])
        .args(extra)
        .assert()
        .success();
    let manifest = std::fs::read(out.join("manifest.json")).expect("manifest written");
    serde_json::from_slice(&manifest).expect("manifest is JSON")
}

/// Tissue by a criterion independent of the detector: coloured (stain) or clearly dark.
fn is_tissue(p: &image::Rgb<u8>) -> bool {
    let [r, g, b] = p.0;
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    max - min > 40 || max < 150
}

fn regions_of(manifest: &serde_json::Value) -> Vec<Rect> {
    serde_json::from_value(manifest["slides"][0]["regions"].clone()).expect("regions")
}

/// Share of tissue pixels of the overview that fall inside the regions, and the share of the
/// overview the regions cover.
fn coverage(out: &Path, manifest: &serde_json::Value) -> (f64, f64) {
    let entry = &manifest["slides"][0];
    let overview = image::open(out.join(entry["overview"].as_str().expect("name")))
        .expect("overview written")
        .to_rgb8();
    let (w0, h0) = (
        entry["width"].as_u64().expect("w") as f64,
        entry["height"].as_u64().expect("h") as f64,
    );
    let (sx, sy) = (
        w0 / f64::from(overview.width()),
        h0 / f64::from(overview.height()),
    );
    let regions = regions_of(manifest);
    let inside = |x: u32, y: u32| {
        let (lx, ly) = ((f64::from(x) + 0.5) * sx, (f64::from(y) + 0.5) * sy);
        regions.iter().any(|r| {
            lx >= f64::from(r.x)
                && ly >= f64::from(r.y)
                && lx < r.right() as f64
                && ly < r.bottom() as f64
        })
    };
    let (mut tissue, mut tissue_inside, mut covered) = (0u64, 0u64, 0u64);
    for (x, y, p) in overview.enumerate_pixels() {
        let (t, i) = (is_tissue(p), inside(x, y));
        tissue += u64::from(t);
        tissue_inside += u64::from(t && i);
        covered += u64::from(i);
    }
    let total = u64::from(overview.width()) * u64::from(overview.height());
    (
        tissue_inside as f64 / tissue.max(1) as f64,
        covered as f64 / total as f64,
    )
}

#[test]
fn fragments_of_cmu1_cover_the_tissue_and_not_the_glass() {
    let out = tempfile::tempdir().expect("temp dir");
    let manifest = extract(&slide("cmu-1-small-region.svs"), out.path(), &[]);
    let (tissue_inside, covered) = coverage(out.path(), &manifest);
    assert!(
        tissue_inside > 0.95,
        "only {tissue_inside:.3} of the tissue lies in fragments"
    );
    assert!(
        covered < 0.85,
        "fragments cover {covered:.3} of the slide, glass included"
    );
}

#[test]
fn fragments_of_the_jpeg2000_slide_cover_its_tissue() {
    let out = tempfile::tempdir().expect("temp dir");
    let manifest = extract(&slide("tcga-cr-7395-01a-01-ts1.svs"), out.path(), &[]);
    let (tissue_inside, _) = coverage(out.path(), &manifest);
    // The tissue fills the glass nearly edge to edge, so only coverage is asked for here.
    assert!(
        tissue_inside > 0.95,
        "only {tissue_inside:.3} of the tissue lies in fragments"
    );
    assert!(
        !manifest["slides"][0]["fragments"]
            .as_array()
            .expect("fragments")
            .is_empty()
    );
}

#[test]
fn fragments_of_the_kidney_slide_cover_its_small_piece() {
    let out = tempfile::tempdir().expect("temp dir");
    let manifest = extract(&slide("kidney-48-5.tif"), out.path(), &[]);
    let (tissue_inside, covered) = coverage(out.path(), &manifest);
    assert!(
        tissue_inside > 0.8,
        "only {tissue_inside:.3} of the tissue lies in fragments"
    );
    assert!(
        covered < 0.05,
        "fragments cover {covered:.3} of a mostly empty slide"
    );
}

#[test]
fn fragment_files_carry_their_coordinates_and_sizes() {
    let out = tempfile::tempdir().expect("temp dir");
    let manifest = extract(
        &slide("cmu-1-small-region.svs"),
        out.path(),
        &[
            "--downsample",
            "4",
            "--max-fragment",
            "300",
            "--names",
            "safe",
            "--quiet",
        ],
    );
    let fragments = manifest["slides"][0]["fragments"]
        .as_array()
        .expect("fragments");
    assert!(
        fragments.len() > 2,
        "a 300 px limit at d=4 must split the main region"
    );
    let regions = regions_of(&manifest);
    for entry in fragments {
        let file = entry["file"].as_str().expect("file");
        assert!(
            !file.contains(' ') && !file.contains('['),
            "{file} is not shell-safe"
        );
        let parsed = Fragment::parse(file).expect("own names parse");
        assert_eq!(parsed.source, "cmu-1-small-region");
        assert_eq!(parsed.downsample, 4.0);
        assert_eq!(u64::from(parsed.x), entry["x"].as_u64().expect("x"));
        assert!(
            regions.iter().any(|r| r.contains(&parsed.rect())),
            "{file} outside the regions"
        );
        let img = image::open(out.path().join(file)).expect("fragment written");
        let (w, h) = parsed.image_size();
        assert_eq!((img.width(), img.height()), (w, h), "{file}");
        assert!(w <= 301 && h <= 301, "{file} exceeds --max-fragment");
    }
}

#[test]
fn a_derived_pyramid_gives_the_same_regions_as_the_svs() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    let svs = regions_of(&extract(&slide("cmu-1-small-region.svs"), a.path(), &[]));
    let tif = regions_of(&extract(
        &slide("cmu1_generic_tiled_pyramid_jpeg.tif"),
        b.path(),
        &[],
    ));
    assert_eq!(svs.len(), tif.len());
    for (s, t) in svs.iter().zip(&tif) {
        // The derived file was re-encoded from level 0, so faint tissue at the threshold may
        // move an edge by a few overview pixels: allow 1 % of the slide's long side (30 px).
        let close = |u: u32, v: u32| u.abs_diff(v) <= 30;
        assert!(
            close(s.x, t.x) && close(s.y, t.y) && close(s.w, t.w) && close(s.h, t.h),
            "{s:?} vs {t:?}"
        );
    }
}

#[test]
fn bad_slides_and_options_give_clear_errors() {
    let out = tempfile::tempdir().expect("temp dir");
    let fail = |args: &[&str], slide_name: &str| {
        let output = Command::cargo_bin("histoseg")
            .expect("binary")
            .arg("extract")
            .arg(slide(slide_name))
            .arg("-o")
            .arg(out.path())
            .args(args)
            .assert()
            .failure()
            .get_output()
            .clone();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let err = fail(&[], "broken.svs");
    assert!(err.contains("broken.svs"), "{err}");
    let err = fail(&["--threshold", "dark"], "kidney-48-5.tif");
    assert!(err.contains("expected 'otsu' or a level 0-255"), "{err}");
    let err = fail(
        &[slide("kidney-48-5.tif").to_str().expect("utf-8")],
        "kidney-48-5.tif",
    );
    assert!(err.contains("have the same file stem"), "{err}");
    let err = fail(&["--downsample=-2"], "kidney-48-5.tif");
    assert!(
        err.contains("--downsample must be a positive number"),
        "{err}"
    );
}

#[test]
fn damaged_tiles_are_warned_about_or_refused_with_strict() {
    let dir = tempfile::tempdir().expect("temp dir");
    // CMU-1's small region with 600 bytes of garbage in the middle: inside a tile's JPEG data.
    let mut bytes = std::fs::read(slide("cmu-1-small-region.svs")).expect("test slide");
    histoseg_core::slide::synthetic::scramble_middle(&mut bytes, 600, 7);
    let damaged = dir.path().join("damaged.svs");
    std::fs::write(&damaged, bytes).expect("write");
    let run = |strict: bool| {
        let mut cmd = Command::cargo_bin("histoseg").expect("binary");
        cmd.arg("extract")
            .arg(&damaged)
            .arg("-o")
            .arg(dir.path().join("out"))
            .args(["--max-side", "1024", "-q"]);
        if strict {
            cmd.arg("--strict");
        }
        let out = cmd.output().expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = run(false);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("damaged tile(s) decoded leniently"),
        "{stderr}"
    );
    assert!(stderr.contains("is damaged: "), "{stderr}");
    let (ok, stderr) = run(true);
    assert!(!ok, "--strict fails");
    assert!(
        stderr.contains("damaged.svs") && stderr.contains("strict"),
        "{stderr}"
    );
    // The real file has none.
    let clean = Command::cargo_bin("histoseg")
        .expect("binary")
        .arg("extract")
        .arg(slide("cmu-1-small-region.svs"))
        .arg("-o")
        .arg(dir.path().join("clean"))
        .args(["--max-side", "1024", "-q", "--strict"])
        .output()
        .expect("runs");
    assert!(clean.status.success());
    assert!(!String::from_utf8_lossy(&clean.stderr).contains("damaged"));
}

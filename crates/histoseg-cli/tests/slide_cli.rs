//! `histoseg info` and `histoseg overview` on the real slides in `../shared/data/slides`.

use std::path::PathBuf;

mod common;
use common::{histoseg, shared};

fn slide(name: &str) -> PathBuf {
    shared("slides").join(name)
}

#[test]
fn info_json_lists_levels_and_associated_images() {
    let out = histoseg()
        .arg("info")
        .arg(slide("cmu-1-small-region.svs"))
        .arg("--json")
        .output();
    let out = out.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert_eq!(v["vendor"], "aperio");
    assert_eq!(v["levels"][0]["width"], 2220);
    assert_eq!(v["levels"][0]["height"], 2967);
    assert_eq!(v["levels"][0]["tile_width"], 240);
    assert_eq!(v["mpp_x"], 0.499);
    let kinds: Vec<_> = v["associated"]
        .as_array()
        .map_or(vec![], |a| a.iter().map(|x| x["kind"].clone()).collect());
    assert_eq!(kinds, ["thumbnail", "label", "macro"]);
}

#[test]
fn info_table_shows_each_level() {
    let out = histoseg()
        .arg("info")
        .arg(slide("boxes.tiff"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("levels    4"), "{text}");
    for size in ["300", "150", "75", "37"] {
        assert!(text.contains(size), "{text}");
    }
}

#[test]
fn overview_writes_an_image_of_the_asked_size() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("ov.jpg");
    let run = histoseg()
        .args(["overview"])
        .arg(slide("cmu1_pyramid_subifds.ome.tif"))
        .arg("-o")
        .arg(&out)
        .args(["--max-side", "700"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("from level 2"));
    let img = image::open(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((img.width(), img.height()), (524, 700));
}

#[test]
fn bad_slides_fail_with_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, needle) in [
        ("broken.svs", "not a slide"),
        ("unreadable.svs", "JPEG"),
        ("unopenable.tiff", "compression"),
    ] {
        let run = histoseg()
            .arg("overview")
            .arg(slide(name))
            .arg("-o")
            .arg(dir.path().join("x.jpg"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!run.status.success(), "{name} succeeded");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // The reader is gone before the command writes (as `histoseg info --json | head` once
    // head has exited): no panic, no error message, success.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("histoseg"))
        .arg("info")
        .arg(slide("cmu-1-small-region.svs"))
        .arg("--json")
        .stdout(writer)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

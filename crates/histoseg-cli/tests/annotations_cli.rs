//! `histoseg annotations convert` on fragments that `histoseg extract` cut from a real slide.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use histoseg_core::annotations::makesense::{self, OnFragment, csv, vgg, voc, yolo};
use histoseg_core::annotations::{Annotation, FragmentLookup, Geometry, geojson};
use histoseg_core::fragment::Fragment;

mod common;
use common::{histoseg, shared};

fn slide() -> PathBuf {
    shared("slides/cmu-1-small-region.svs")
}

/// Extracts the slide at downsample 2 into fragments of at most 400 px: several fragments.
fn extract(dir: &Path) -> (PathBuf, FragmentLookup) {
    let out = dir.join("fragments");
    histoseg()
        .arg("extract")
        .arg(slide())
        .arg("-o")
        .arg(&out)
        .args([
            "--max-side",
            "1024",
            "--downsample",
            "2",
            "--max-fragment",
            "400",
            "-q",
        ])
        .assert()
        .success();
    let manifest = fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let mut lookup = FragmentLookup::new();
    lookup
        .add_manifest("manifest.json", &manifest)
        .expect("valid manifest");
    assert!(lookup.len() >= 4, "{} fragments", lookup.len());
    (out, lookup)
}

fn convert(fragments: &Path, from: &str, files: &[PathBuf], to: &str, out: &Path) -> Command {
    let mut cmd = histoseg();
    cmd.args(["annotations", "convert", "--fragments"])
        .arg(fragments)
        .args(["--from", from, "--to", to, "-o"])
        .arg(out)
        .args(files);
    cmd
}

/// Runs `cmd`; its success, stdout and stderr.
fn outcome(mut cmd: Command) -> (bool, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `cmd` succeeds (or fails) and that its stdout and stderr hold every string
/// given for them.
fn check(cmd: Command, success: bool, stdout: &[&str], stderr: &[&str]) {
    let (ok, out, err) = outcome(cmd);
    assert_eq!(ok, success, "stdout: {out}\nstderr: {err}");
    for s in stdout {
        assert!(out.contains(s), "{s:?} not in stdout: {out}");
    }
    for s in stderr {
        assert!(err.contains(s), "{s:?} not in stderr: {err}");
    }
}

fn first_fragment(lookup: &FragmentLookup) -> (String, Fragment) {
    let (name, f) = lookup.iter().next().expect("a fragment");
    (name.to_owned(), f.clone())
}

#[test]
fn hand_written_makesense_csv_lands_on_exact_slide_pixels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fragments, lookup) = extract(dir.path());
    let (name, f) = first_fragment(&lookup);
    let (iw, ih) = f.image_size();
    // Unquoted, as Makesense writes: the fragment name's commas split the row.
    let points = dir.path().join("points.csv");
    fs::write(
        &points,
        format!("nucleus,10,20,{name},{iw},{ih}\ntumour,0,{ih},{name},{iw},{ih}"),
    )
    .expect("write");
    let out = dir.path().join("out.geojson");
    check(
        convert(&fragments, "csv-points", &[points], "geojson", &out),
        true,
        &["2 annotation(s)", "0 warning(s)"],
        &[],
    );
    let read = geojson::read("out", &fs::read_to_string(&out).expect("written")).expect("GeoJSON");
    let (x, y, d) = (f64::from(f.x), f64::from(f.y), f.downsample);
    assert_eq!(
        read,
        [
            Annotation::new(
                "nucleus",
                Geometry::Point {
                    x: x + 10.0 * d,
                    y: y + 20.0 * d
                }
            ),
            Annotation::new(
                "tumour",
                Geometry::Point {
                    x,
                    y: y + f64::from(ih) * d
                }
            ),
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).expect("written")).expect("JSON");
    assert_eq!(json["type"], "FeatureCollection");
    assert_eq!(
        json["features"][0]["properties"]["objectType"],
        "annotation"
    );
    assert_eq!(
        json["features"][0]["properties"]["classification"]["name"],
        "nucleus"
    );
    assert_eq!(
        json["features"][0]["properties"]["classification"]["color"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

/// Slide annotations inside the first few fragments, in level-0 pixels.
fn slide_annotations(lookup: &FragmentLookup) -> Vec<Annotation> {
    let mut out = Vec::new();
    for (i, (_, f)) in lookup.iter().take(4).enumerate() {
        let (x, y) = (f64::from(f.x), f64::from(f.y));
        let class = ["nucleus", "tumour"][i % 2];
        out.push(Annotation::new(
            class,
            Geometry::Point {
                x: x + 31.0,
                y: y + 57.5,
            },
        ));
        out.push(Annotation::new(
            class,
            Geometry::Rect {
                x: x + 100.0,
                y: y + 40.0,
                w: 63.0,
                h: 80.0,
            },
        ));
        out.push(Annotation::new(
            class,
            Geometry::Polygon(vec![
                (x + 20.0, y + 200.0),
                (x + 90.0, y + 210.0),
                (x + 50.0, y + 290.0),
            ]),
        ));
    }
    out
}

fn within(expected: &[Annotation], actual: &[Annotation], tol: f64) {
    assert_eq!(expected.len(), actual.len(), "{actual:?}");
    let mut used = vec![false; actual.len()];
    for e in expected {
        let ev = e.geometry.vertices();
        let hit = actual.iter().enumerate().position(|(i, a)| {
            !used[i]
                && a.class == e.class
                && a.geometry.shape() == e.geometry.shape()
                && a.geometry.vertices().len() == ev.len()
                && a.geometry
                    .vertices()
                    .iter()
                    .zip(&ev)
                    .all(|(p, q)| (p.0 - q.0).abs() <= tol && (p.1 - q.1).abs() <= tol)
        });
        let i = hit.unwrap_or_else(|| panic!("{e:?} not within {tol} in {actual:?}"));
        used[i] = true;
    }
}

#[test]
fn every_makesense_format_converts_back_onto_the_slide() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fragments, lookup) = extract(dir.path());
    let annotations = slide_annotations(&lookup);
    let (placed, left) = makesense::assign(&annotations, &lookup);
    assert!(left.is_empty());
    let labels = vec!["nucleus".to_owned(), "tumour".to_owned()];
    let exports = dir.path().join("exports");
    fs::create_dir_all(&exports).expect("mkdir");
    let d = lookup.iter().next().expect("fragment").1.downsample;
    for format in makesense::Format::ALL {
        let kept: Vec<(String, Vec<Annotation>)> = placed
            .iter()
            .map(|(n, l)| {
                let l = l
                    .iter()
                    .filter(|a| format.shapes().contains(&a.geometry.shape()));
                (n.clone(), l.cloned().collect())
            })
            .collect();
        let items: Vec<OnFragment<'_>> = kept
            .iter()
            .map(|(name, annotations)| OnFragment {
                name,
                fragment: lookup.find(name).expect("known").1,
                annotations,
            })
            .collect();
        let folder = exports.join(format.name());
        fs::create_dir_all(&folder).expect("mkdir");
        let mut files = Vec::new();
        let mut put = |name: String, text: String| {
            let path = folder.join(name);
            fs::write(&path, text).expect("write export");
            files.push(path);
        };
        match format {
            makesense::Format::Yolo => {
                put("labels.txt".into(), yolo::write_labels(&labels));
                for item in &items {
                    put(
                        yolo::file_name(item.name),
                        yolo::write(*item, &labels).expect("yolo"),
                    );
                }
            }
            makesense::Format::Voc => {
                for item in &items {
                    put(voc::file_name(item.name), voc::write(*item).expect("voc"));
                }
            }
            makesense::Format::CsvRects => {
                put("r.csv".into(), csv::write_rects(&items).expect("csv"))
            }
            makesense::Format::CsvPoints => {
                put("p.csv".into(), csv::write_points(&items).expect("csv"))
            }
            makesense::Format::Coco => put(
                "c.json".into(),
                makesense::coco::write(&items, &labels).expect("coco"),
            ),
            makesense::Format::Vgg => put("v.json".into(), vgg::write(&items).expect("vgg")),
        }
        let out = dir.path().join(format!("{}.geojson", format.name()));
        check(
            convert(&fragments, format.name(), &files, "geojson", &out),
            true,
            &["0 warning(s)"],
            &[],
        );
        let read =
            geojson::read("out", &fs::read_to_string(&out).expect("written")).expect("GeoJSON");
        let expected: Vec<Annotation> = kept.into_iter().flat_map(|(_, l)| l).collect();
        assert!(!expected.is_empty(), "{format}");
        within(&expected, &read, d + 1e-6);
    }
}

#[test]
fn coco_and_csv_outputs_carry_slide_coordinates_and_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fragments, lookup) = extract(dir.path());
    let (name, f) = first_fragment(&lookup);
    let (iw, ih) = f.image_size();
    let rects = dir.path().join("rects.csv");
    fs::write(
        &rects,
        format!("{}\ntumour,4,6,10,12,{name},{iw},{ih}", csv::RECTS_HEADER),
    )
    .expect("write");
    let (x, y, d) = (f64::from(f.x), f64::from(f.y), f.downsample);

    let out = dir.path().join("slide.json");
    check(
        convert(
            &fragments,
            "csv-rects",
            std::slice::from_ref(&rects),
            "coco",
            &out,
        ),
        true,
        &[],
        &[],
    );
    let coco: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).expect("written")).expect("JSON");
    assert_eq!(coco["images"][0]["width"], 2220);
    assert_eq!(coco["images"][0]["height"], 2967);
    assert_eq!(coco["categories"][0]["name"], "tumour");
    assert_eq!(
        coco["annotations"][0]["bbox"],
        serde_json::json!([x + 4.0 * d, y + 6.0 * d, 10.0 * d, 12.0 * d])
    );

    let out = dir.path().join("slide.csv");
    check(
        convert(&fragments, "csv-rects", &[rects], "csv", &out),
        true,
        &[],
        &[],
    );
    let text = fs::read_to_string(&out).expect("written");
    assert_eq!(
        text,
        format!(
            "class,shape,x,y,width,height,vertices\ntumour,rectangle,{},{},{},{},\n",
            x + 4.0 * d,
            y + 6.0 * d,
            10.0 * d,
            12.0 * d
        )
    );
}

#[test]
fn bad_exports_are_errors_or_listed_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fragments, lookup) = extract(dir.path());
    let (name, f) = first_fragment(&lookup);
    let (iw, ih) = f.image_size();
    let out = dir.path().join("out.geojson");
    let file = |n: &str, text: String| {
        let path = dir.path().join(n);
        fs::write(&path, text).expect("write");
        path
    };

    let unknown = file("u.csv", format!("nucleus,1,2,elsewhere.jpg,{iw},{ih}"));
    check(
        convert(&fragments, "csv-points", &[unknown], "geojson", &out),
        false,
        &[],
        &["u.csv, line 1: unknown fragment 'elsewhere.jpg'"],
    );

    let malformed = file(
        "m.csv",
        format!("nucleus,1,2,{name},{iw},{ih}\nnucleus,1,{name}"),
    );
    check(
        convert(&fragments, "csv-points", &[malformed], "geojson", &out),
        false,
        &[],
        &["m.csv, line 2: expected 'label_name,point_x"],
    );

    let yolo_dir = dir.path().join("yolo");
    fs::create_dir_all(&yolo_dir).expect("mkdir");
    fs::write(yolo_dir.join("labels.txt"), "nucleus\n").expect("write");
    let txt = yolo_dir.join(yolo::file_name(&name));
    fs::write(&txt, "0 0.5 0.5 0.1 0.1\n2 0.5 0.5 0.1 0.1\n").expect("write");
    check(
        convert(
            &fragments,
            "yolo",
            std::slice::from_ref(&txt),
            "geojson",
            &out,
        ),
        false,
        &[],
        &["line 2: class id 2 is unknown"],
    );
    fs::remove_file(yolo_dir.join("labels.txt")).expect("rm");
    check(
        convert(&fragments, "yolo", &[txt], "geojson", &out),
        false,
        &[],
        &["--labels"],
    );

    let outside = file(
        "o.csv",
        format!(
            "nucleus,{},2,{name},{iw},{ih}\nnucleus,1,1,{name},{},{ih}",
            iw + 40,
            iw + 1
        ),
    );
    check(
        convert(
            &fragments,
            "csv-points",
            std::slice::from_ref(&outside),
            "geojson",
            &out,
        ),
        true,
        &["2 annotation(s)", "2 warning(s)"],
        &[
            "o.csv, line 1: point 'nucleus'",
            "outside fragment",
            "o.csv, line 2: the export gives",
        ],
    );
    let strict = dir.path().join("strict.geojson");
    let mut cmd = convert(&fragments, "csv-points", &[outside], "geojson", &strict);
    cmd.arg("--strict");
    check(cmd, false, &[], &["--strict"]);
    assert!(!strict.exists());

    let empty = dir.path().join("nothing-here");
    fs::create_dir_all(&empty).expect("mkdir");
    let any = file("a.csv", String::new());
    check(
        convert(&empty, "csv-points", &[any], "geojson", &out),
        false,
        &[],
        &["holds no fragments"],
    );
}

#[test]
fn annotations_of_several_slides_go_to_one_file_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    // File names alone identify fragments; their pixels are not needed.
    let fragments = dir.path().join("fragments");
    fs::create_dir_all(&fragments).expect("mkdir");
    let a = "slide A [d=4,x=400,y=0,w=400,h=400].jpg";
    let b = "slide-B__d1_x0_y100_w50_h50.png";
    for n in [a, b] {
        fs::write(fragments.join(n), b"").expect("write");
    }
    let points = dir.path().join("p.csv");
    fs::write(&points, format!("n,10,10,{a},100,100\nn,5,5,{b},50,50")).expect("write");
    let out = dir.path().join("out");
    let (ok, _, stderr) = outcome(convert(&fragments, "csv-points", &[points], "csv", &out));
    assert!(ok && stderr.is_empty(), "{stderr}");
    assert_eq!(
        fs::read_to_string(out.join("slide A.csv")).expect("A"),
        "class,shape,x,y,width,height,vertices\nn,point,440,40,0,0,\n"
    );
    assert_eq!(
        fs::read_to_string(out.join("slide-B.csv")).expect("B"),
        "class,shape,x,y,width,height,vertices\nn,point,5,105,0,0,\n"
    );
}

#[test]
fn slide_names_from_a_manifest_never_lead_outside_the_output_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fragments = dir.path().join("deep/er/fragments");
    fs::create_dir_all(&fragments).expect("mkdir");
    let outside = dir.path().join("abs-target");
    let sources = [
        "../../escaped".to_string(),
        format!("{}/absolute", outside.display()),
        "dots/../../../up".to_string(),
    ];
    let files: Vec<String> = (0..sources.len()).map(|i| format!("f{i}.jpg")).collect();
    let slides: Vec<serde_json::Value> = sources
        .iter()
        .zip(&files)
        .map(|(source, file)| {
            serde_json::json!({"width": 1000, "height": 1000, "fragments": [
                {"file": file, "source": source, "x": 0, "y": 0, "w": 100, "h": 100, "downsample": 1.0}
            ]})
        })
        .collect();
    fs::write(
        fragments.join("manifest.json"),
        serde_json::json!({ "slides": slides }).to_string(),
    )
    .expect("manifest");
    let points = dir.path().join("p.csv");
    let rows: Vec<String> = files
        .iter()
        .map(|f| format!("n,10,10,{f},100,100"))
        .collect();
    fs::write(&points, rows.join("\n")).expect("write");
    let out = dir.path().join("deep/er/out");
    check(
        convert(
            &fragments,
            "csv-points",
            std::slice::from_ref(&points),
            "geojson",
            &out,
        ),
        true,
        &["onto 3 slide(s)"],
        &[],
    );
    let mut written: Vec<String> = fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["absolute.geojson", "escaped.geojson", "up.geojson"]
    );
    assert!(!dir.path().join("deep/escaped.geojson").exists());
    assert!(!dir.path().join("escaped.geojson").exists());
    assert!(!outside.exists());

    // A name that is nothing but dots or a NUL is refused, not written as "..geojson".
    let manifest = serde_json::json!({ "slides": [
        {"width": 100, "height": 100, "fragments": [
            {"file": "f0.jpg", "source": "..", "x": 0, "y": 0, "w": 10, "h": 10, "downsample": 1.0}]},
        {"width": 100, "height": 100, "fragments": [
            {"file": "f1.jpg", "source": "\u{0}", "x": 0, "y": 0, "w": 10, "h": 10, "downsample": 1.0}]}
    ]});
    fs::write(fragments.join("manifest.json"), manifest.to_string()).expect("manifest");
    let rows = "n,1,1,f0.jpg,10,10\nn,1,1,f1.jpg,10,10";
    fs::write(&points, rows).expect("write");
    let refused = dir.path().join("refused");
    check(
        convert(&fragments, "csv-points", &[points], "geojson", &refused),
        false,
        &[],
        &["cannot be a file name"],
    );
    assert!(!dir.path().join("..geojson").exists());
}

#[test]
fn annotations_on_the_overview_map_back_like_a_fragment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fragments, _) = extract(dir.path());
    let overview = image::open(fragments.join("cmu-1-small-region.overview.jpg"))
        .expect("the overview is written");
    let (ow, oh) = (overview.width(), overview.height());
    // The whole folder uploaded to Makesense: one point on the overview, among fragments'.
    let points = dir.path().join("points.csv");
    fs::write(
        &points,
        format!("nucleus,100,50,cmu-1-small-region.overview.jpg,{ow},{oh}"),
    )
    .expect("write");
    let out = dir.path().join("out.geojson");
    check(
        convert(&fragments, "csv-points", &[points], "geojson", &out),
        true,
        &["1 annotation(s)", "0 warning(s)"],
        &[],
    );
    let read = geojson::read("out", &fs::read_to_string(&out).expect("written")).expect("GeoJSON");
    // The overview is the whole 2220 x 2967 slide reduced to 1024 px on its long side.
    let d = 2220.0 / f64::from(ow);
    assert_eq!(oh, 1024);
    assert_eq!(
        read,
        [Annotation::new(
            "nucleus",
            Geometry::Point {
                x: 100.0 * d,
                y: 50.0 * d
            }
        )]
    );
}

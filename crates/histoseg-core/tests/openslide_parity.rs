//! The reader against OpenSlide itself (PyPI `openslide-bin`, installed into the project's venv
//! by `scripts/setup.sh`) on the vendor samples in `../shared/data/slides/vendors`: the same
//! vendor, levels, downsamples, mpp, objective power and associated images, and the same pixels
//! at many random places and levels.
//!
//! OpenSlide is asked for each region at a level-0 point that maps back onto the region's
//! first level pixel (`aligned` in the script): between pixels it interpolates. Pixels are
//! compared by their mean absolute difference, which must stay under a grey level: OpenSlide decodes with libjpeg-turbo and this reader with zune-jpeg, whose inverse
//! DCTs and chroma upsampling round differently (seen: 0.01-0.2 on average), and NDPI's
//! derived levels are reduced by area averaging here and by libjpeg's scaled decoding there
//! (seen: 0.5), so an exact match is not expected.

mod common;
use common::mean_abs_diff;

use std::path::{Path, PathBuf};
use std::process::Command;

use histoseg_core::rect::Rect;
use histoseg_core::slide::{AssociatedKind, Slide};
use image::RgbImage;
use serde_json::Value;

/// Mean absolute difference allowed between a region and OpenSlide's, in grey levels.
const MEAN_TOLERANCE: f64 = 1.0;

fn python() -> PathBuf {
    let venv = std::env::var_os("HISTOSEG_VENV").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/histoseg/venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh, which installs OpenSlide for this test",
        python.display()
    );
    python
}

/// Runs `tests/openslide_reference.py` on `slide` and returns its JSON and folder.
fn openslide_view(slide: &Path, regions: u32) -> (Value, tempfile::TempDir) {
    let out = tempfile::tempdir().expect("a temporary folder");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/openslide_reference.py");
    let run = Command::new(python())
        .arg(script)
        .arg(slide)
        .arg(out.path())
        .arg(regions.to_string())
        .output()
        .expect("the venv's python runs");
    assert!(
        run.status.success(),
        "OpenSlide could not read {}: {}",
        slide.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let json = std::fs::read_to_string(out.path().join("reference.json"))
        .expect("OpenSlide's reference as openslide_reference.py writes it");
    (
        serde_json::from_str(&json)
            .expect("OpenSlide's reference as openslide_reference.py writes it"),
        out,
    )
}

/// The picture OpenSlide's script wrote for `entry` (a region or an associated image).
fn openslide_picture(dir: &Path, entry: &Value) -> RgbImage {
    let file = entry["file"]
        .as_str()
        .expect("OpenSlide's reference as openslide_reference.py writes it");
    image::open(dir.join(file))
        .expect("OpenSlide's picture")
        .into_rgb8()
}

/// OpenSlide's pixels re-read as JPEG's YCbCr (JFIF matrix): what it shows for frames that
/// carry a JFIF marker in a DICOM file saying RGB, which it decodes without the colour
/// transform (libjpeg told the frames are RGB); this reader follows the JFIF marker.
fn as_jfif_ycbcr(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let [y, cb, cr] = p.0.map(f64::from);
        let (cb, cr) = (cb - 128.0, cr - 128.0);
        let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        p.0 = [
            c(y + 1.402 * cr),
            c(y - 0.344_136 * cb - 0.714_136 * cr),
            c(y + 1.772 * cb),
        ];
    }
    out
}

/// How OpenSlide's colours are to be read for a sample.
#[derive(Clone, Copy, PartialEq)]
enum Colours {
    /// As OpenSlide gives them.
    AsGiven,
    /// Some frames are JFIF JPEG in a file that says RGB (two DICOM converters write such
    /// files): OpenSlide's raw YCbCr there is compared after the JFIF transform. Its YCbCr
    /// was rounded to 8 bits before this second transform, which costs up to 2 grey levels
    /// more, so the tolerance is doubled.
    JfifTakenForRgb,
}

impl Colours {
    fn tolerance(self) -> f64 {
        match self {
            Colours::AsGiven => MEAN_TOLERANCE,
            Colours::JfifTakenForRgb => 2.0 * MEAN_TOLERANCE,
        }
    }
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs())
}

/// Checks the slide at `rel` (inside `slides/vendors/`) against OpenSlide; `vendor` is the
/// name both readers give.
fn matches_openslide(rel: &str, vendor: &str) {
    matches_openslide_reading(rel, vendor, Colours::AsGiven);
}

fn matches_openslide_reading(rel: &str, vendor: &str, colours: Colours) {
    let path = common::shared(&format!("slides/vendors/{rel}"));
    // A folder is one slide of several files (DICOM): OpenSlide opens it from any of them.
    let (opened, for_openslide) = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
            .expect("the sample folder lists")
            .map(|e| e.expect("a folder entry").path())
            .collect();
        files.sort();
        let slide = Slide::open_paths(std::slice::from_ref(&path));
        (slide, files[0].clone())
    } else {
        (Slide::open_path(&path), path.clone())
    };
    let mut slide = opened.unwrap_or_else(|e| panic!("{rel}: {e}"));
    let (reference, dir) = openslide_view(&for_openslide, 40);
    let info = slide.info().clone();
    assert_eq!(reference["vendor"], vendor, "{rel}: OpenSlide's vendor");
    assert_eq!(
        serde_json::to_value(info.vendor)
            .expect("OpenSlide's reference as openslide_reference.py writes it"),
        vendor,
        "{rel}: our vendor"
    );

    let levels = reference["levels"]
        .as_array()
        .expect("OpenSlide's reference as openslide_reference.py writes it");
    let ours: Vec<(u64, u64)> = info
        .levels
        .iter()
        .map(|l| (u64::from(l.width), u64::from(l.height)))
        .collect();
    let theirs: Vec<(u64, u64)> = levels
        .iter()
        .map(|l| {
            (
                l["width"]
                    .as_u64()
                    .expect("OpenSlide's reference as openslide_reference.py writes it"),
                l["height"]
                    .as_u64()
                    .expect("OpenSlide's reference as openslide_reference.py writes it"),
            )
        })
        .collect();
    assert_eq!(ours, theirs, "{rel}: level sizes");
    for (i, (l, r)) in info.levels.iter().zip(levels).enumerate() {
        let want = r["downsample"]
            .as_f64()
            .expect("OpenSlide's reference as openslide_reference.py writes it");
        assert!(
            close(l.downsample, want, 1e-3),
            "{rel}: level {i} downsample {} vs OpenSlide's {want}",
            l.downsample
        );
    }
    for (ours, key) in [(info.mpp_x, "mpp_x"), (info.mpp_y, "mpp_y")] {
        let theirs = reference[key].as_f64();
        assert_eq!(ours.is_some(), theirs.is_some(), "{rel}: {key} present");
        if let (Some(a), Some(b)) = (ours, theirs) {
            assert!(close(a, b, 1e-6), "{rel}: {key} {a} vs OpenSlide's {b}");
        }
    }
    assert_eq!(
        info.objective_power,
        reference["objective_power"].as_f64(),
        "{rel}: objective power"
    );

    let mut names: Vec<String> = info.associated.iter().map(|a| a.kind.to_string()).collect();
    let mut want: Vec<String> = reference["associated"]
        .as_object()
        .expect("OpenSlide's reference as openslide_reference.py writes it")
        .keys()
        .cloned()
        .collect();
    names.sort();
    want.sort();
    assert_eq!(names, want, "{rel}: associated images");
    for (name, r) in reference["associated"]
        .as_object()
        .expect("OpenSlide's reference as openslide_reference.py writes it")
    {
        let kind = match name.as_str() {
            "label" => AssociatedKind::Label,
            "macro" => AssociatedKind::Macro,
            _ => AssociatedKind::Thumbnail,
        };
        let ours = slide
            .read_associated(kind)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let theirs = openslide_picture(dir.path(), r);
        let d = mean_abs_diff(&ours, &theirs);
        assert!(
            d <= MEAN_TOLERANCE,
            "{rel}: {name} differs by {d:.2} on average"
        );
    }

    // Each level's pixels together within the tolerance, and every region within three
    // times it (a region of a few pixels is noisy; a misplaced tile is far beyond that).
    let regions = reference["regions"]
        .as_array()
        .expect("OpenSlide's reference as openslide_reference.py writes it");
    let mut per_level = vec![(0f64, 0u64); info.levels.len()];
    // Pixels of each level that show something (not the white around a placed image).
    let mut pictured = vec![0usize; info.levels.len()];
    let mut refused_by_openslide = 0;
    for r in regions {
        let n = |k: &str| {
            r[k].as_u64()
                .expect("OpenSlide's reference as openslide_reference.py writes it")
                as u32
        };
        let (level, rect) = (
            n("level") as usize,
            Rect::new(n("x"), n("y"), n("w"), n("h")),
        );
        let ours = slide
            .read_region(level, rect)
            .unwrap_or_else(|e| panic!("{rel}: level {level} {rect:?}: {e}"));
        if let Some(refused) = r["openslide_error"].as_str() {
            // Read here, refused there: nothing to compare with.
            eprintln!("{rel}: level {level} {rect:?}: OpenSlide refuses it ({refused})");
            refused_by_openslide += 1;
            continue;
        }
        let theirs = openslide_picture(dir.path(), r);
        let mut d = mean_abs_diff(&ours, &theirs);
        if colours == Colours::JfifTakenForRgb {
            d = d.min(mean_abs_diff(&ours, &as_jfif_ycbcr(&theirs)));
        }
        let pixels = u64::from(rect.w) * u64::from(rect.h);
        per_level[level].0 += d * pixels as f64;
        per_level[level].1 += pixels;
        pictured[level] += theirs.pixels().filter(|p| p.0 != [255; 3]).count();
        if d > 3.0 * colours.tolerance() {
            let keep = std::env::temp_dir().join("histoseg-openslide-parity");
            std::fs::create_dir_all(&keep)
                .expect("OpenSlide's reference as openslide_reference.py writes it");
            let stem = rel.replace('/', "_");
            ours.save(keep.join(format!("{stem}-ours.png")))
                .expect("OpenSlide's reference as openslide_reference.py writes it");
            theirs
                .save(keep.join(format!("{stem}-openslide.png")))
                .expect("OpenSlide's reference as openslide_reference.py writes it");
            panic!(
                "{rel}: level {level} {rect:?} differs from OpenSlide's by {d:.2} on average \
                 (both saved in {})",
                keep.display()
            );
        }
    }
    assert!(
        refused_by_openslide <= regions.len() / 4,
        "{rel}: OpenSlide refused {refused_by_openslide} of {} regions",
        regions.len()
    );
    for (level, (sum, pixels)) in per_level.iter().enumerate() {
        assert!(*pixels > 0, "{rel}: no region read on level {level}");
        assert!(
            pictured[level] > 0,
            "{rel}: the regions of level {level} show only white"
        );
        let mean = sum / *pixels as f64;
        eprintln!("{rel}: level {level} differs from OpenSlide by {mean:.3} on average");
        assert!(
            mean <= colours.tolerance(),
            "{rel}: level {level} differs from OpenSlide's by {mean:.2} on average"
        );
    }
}

#[test]
fn aperio_jpeg_2000_ycbcr_matches_openslide() {
    matches_openslide("aperio-33003/cmu-1-small-region-jp2k-33003.svs", "aperio");
}

#[test]
fn hamamatsu_ndpi_matches_openslide() {
    matches_openslide("ndpi/hamamatsu-test3-dapi.ndpi", "hamamatsu");
}

#[test]
fn philips_tiff_matches_openslide() {
    matches_openslide("philips/cmu-1-small-region-philips.tiff", "philips");
}

#[test]
fn ventana_bif_matches_openslide() {
    matches_openslide("ventana/cmu-1-small-region-ventana.bif", "ventana");
}

#[test]
fn leica_scn_matches_openslide() {
    matches_openslide("leica/cmu-1-small-region-leica.scn", "leica");
}

#[test]
fn dicom_from_wsi2dcm_matches_openslide() {
    matches_openslide_reading(
        "dicom/cmu-1-small-region-wsi2dcm",
        "dicom",
        Colours::JfifTakenForRgb,
    );
}

#[test]
fn dicom_from_wsidicomizer_with_associated_images_matches_openslide() {
    matches_openslide_reading(
        "dicom/cmu-1-small-region-wsidicomizer",
        "dicom",
        Colours::JfifTakenForRgb,
    );
}

#[test]
fn dicom_openslide_fixture_matches_openslide() {
    matches_openslide("dicom/boxes", "dicom");
}

#[test]
fn dicom_uncompressed_single_file_matches_openslide() {
    matches_openslide("dicom/highdicom-sm-image.dcm", "dicom");
}

//! Vendor formats beyond what OpenSlide parity shows (`openslide_parity.rs`): an NDPI region
//! decodes only the restart intervals it touches, and damaged or inconsistent vendor files
//! fail with the file and the problem named.

use histoseg_core::rect::Rect;
use histoseg_core::slide::{Slide, Vendor};

mod common;

const NDPI: &str = "slides/vendors/ndpi/hamamatsu-test3-dapi.ndpi";

#[test]
fn an_ndpi_region_decodes_only_its_restart_intervals() {
    let mut slide = Slide::open_path(common::shared(NDPI)).expect("the vendor sample reads");
    assert_eq!(slide.info().vendor, Vendor::Hamamatsu);
    let level0 = &slide.info().levels[0];
    // Restart intervals of one MCU row (8 px) across the whole width are the level's tiles.
    assert_eq!((level0.tile_width, level0.tile_height), (3968, 8));
    assert!(level0.tiled);
    slide
        .read_region(0, Rect::new(1000, 2000, 64, 64))
        .expect("the vendor sample reads");
    // 64 rows are 8 intervals of the 608, each 3968 x 8 px: 0.8 MB decoded, not the level's 58.
    assert_eq!(slide.chunks_decoded(0), 8);
}

/// The NDPI's bytes with the first restart marker of level 0 overwritten.
fn ndpi_with_a_broken_restart_interval() -> Vec<u8> {
    let mut bytes = std::fs::read(common::shared(NDPI)).expect("the vendor sample reads");
    let scan = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("the vendor sample reads");
    let rst = scan
        + bytes[scan..]
            .windows(2)
            .position(|w| w == [0xFF, 0xD0])
            .expect("the vendor sample reads");
    bytes[rst + 1] = 0x00;
    bytes
}

#[test]
fn a_broken_ndpi_restart_interval_is_named_and_the_rest_still_reads() {
    let bytes = ndpi_with_a_broken_restart_interval();
    let mut slide =
        Slide::open(std::io::Cursor::new(bytes), "broken.ndpi").expect("the vendor sample reads");
    let e = slide
        .read_region(0, Rect::new(0, 0, 64, 8))
        .expect_err("a broken interval is an error")
        .to_string();
    assert!(
        e.contains("broken.ndpi") && e.contains("restart interval"),
        "{e}"
    );
    let (w, h) = slide.level_dimensions(0).expect("the vendor sample reads");
    slide
        .read_region(0, Rect::new(0, h - 64, w, 64))
        .expect("the vendor sample reads");
}

#[test]
fn truncated_vendor_files_fail_cleanly() {
    for rel in [
        NDPI,
        "slides/vendors/philips/cmu-1-small-region-philips.tiff",
        "slides/vendors/ventana/cmu-1-small-region-ventana.bif",
        "slides/vendors/leica/cmu-1-small-region-leica.scn",
    ] {
        let bytes = std::fs::read(common::shared(rel)).expect("the vendor sample reads");
        for keep in [100, bytes.len() / 3, bytes.len() - 1000] {
            let name = format!("{rel} cut to {keep} bytes");
            let opened = Slide::open(std::io::Cursor::new(bytes[..keep].to_vec()), name.clone());
            let error = match opened {
                Err(e) => e.to_string(),
                Ok(mut s) => {
                    let (w, h) = s.level_dimensions(0).expect("the vendor sample reads");
                    match s.read_region(0, Rect::new(0, 0, w.min(4096), h.min(4096))) {
                        Err(e) => e.to_string(),
                        Ok(_) => continue, // what was cut lies beyond this region
                    }
                }
            };
            assert!(error.contains(&name), "{error}");
        }
    }
}

fn dicom_files(folder: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> =
        std::fs::read_dir(common::shared(&format!("slides/vendors/dicom/{folder}")))
            .expect("the DICOM sample folder lists")
            .map(|e| e.expect("a folder entry").path())
            .collect();
    files.sort();
    files
}

#[test]
fn dicom_files_open_as_one_slide_in_any_order_and_alone() {
    let mut files = dicom_files("cmu-1-small-region-wsi2dcm");
    files.reverse();
    let slide = Slide::open_paths(&files).expect("the files of one slide open together");
    assert_eq!(slide.info().vendor, Vendor::Dicom);
    assert_eq!(slide.level_count(), 12);
    assert_eq!(slide.level_dimensions(0), Some((2220, 2967)));
    // One file alone is a slide of one level.
    let one = Slide::open_path(&files[files.len() - 1]).expect("a level file opens alone");
    assert_eq!(one.level_count(), 1);
}

#[test]
fn dicom_files_of_two_slides_or_a_level_twice_are_refused() {
    let mut mixed = dicom_files("cmu-1-small-region-wsi2dcm");
    mixed.extend(dicom_files("boxes"));
    let e = Slide::open_paths(&mixed)
        .expect_err("two slides")
        .to_string();
    assert!(e.contains("two slides") && e.contains("boxes_0.dcm"), "{e}");
    let level = dicom_files("cmu-1-small-region-wsi2dcm").remove(0);
    let e = Slide::open_paths(&[level.clone(), level])
        .expect_err("a level twice")
        .to_string();
    assert!(e.contains("given twice"), "{e}");
}

#[test]
fn truncated_dicom_files_are_named() {
    let level = dicom_files("cmu-1-small-region-wsi2dcm").remove(0);
    let bytes = std::fs::read(&level).expect("the DICOM sample reads");
    for keep in [200, 2000, bytes.len() / 2] {
        let name = format!("level cut to {keep} bytes");
        let error = match Slide::open(std::io::Cursor::new(bytes[..keep].to_vec()), name.clone()) {
            Err(e) => e.to_string(),
            Ok(mut s) => {
                let (w, h) = s.level_dimensions(0).expect("a level");
                s.read_region(0, Rect::new(0, 0, w, h))
                    .expect_err("the cut tiles are missing")
                    .to_string()
            }
        };
        assert!(error.contains(&name), "{error}");
    }
}

#[test]
fn a_placed_image_overview_is_its_level_reduced() {
    // Leica: the main image sits at (200, 200) of a larger, otherwise white level.
    let path = common::shared("slides/vendors/leica/cmu-1-small-region-leica.scn");
    let mut slide = Slide::open_path(&path).expect("the vendor sample reads");
    let overview = slide.overview(512).expect("an overview");
    let level = slide.level_for_side(512);
    let (w, h) = slide.level_dimensions(level).expect("a level");
    let whole = slide
        .read_region(level, Rect::new(0, 0, w, h))
        .expect("the whole level");
    let reduced = image::imageops::resize(
        &whole,
        overview.width(),
        overview.height(),
        image::imageops::FilterType::Triangle,
    );
    let mean = common::mean_abs_diff(&overview, &reduced);
    assert!(
        mean < 4.0,
        "overview differs from the reduced level by {mean:.2}"
    );
    // The margin is white, the tissue is not.
    assert_eq!(overview.get_pixel(2, 2).0, [255; 3]);
    let centre = overview
        .get_pixel(overview.width() / 2, overview.height() / 2)
        .0;
    assert_ne!(centre, [255; 3]);
}

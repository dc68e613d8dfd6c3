//! Tissue detection on a synthetic pyramidal slide whose tissue pieces are known exactly.

use std::io::Cursor;

use histoseg_core::extract::scale_rect;
use histoseg_core::rect::Rect;
use histoseg_core::regions::{RegionParams, Threshold, detect_regions};
use histoseg_core::slide::Slide;
use histoseg_core::slide::synthetic::{SyntheticSpec, write_slide};

#[test]
fn regions_cover_every_piece_and_no_glass_only_area() {
    let spec = SyntheticSpec::new(20_000, 16_000);
    let mut bytes = Cursor::new(Vec::new());
    let pieces = write_slide(&mut bytes, &spec).expect("synthetic slide");
    let mut slide = Slide::open(Cursor::new(bytes.into_inner()), "synthetic.tif").expect("opens");
    let overview = slide.overview(1024).expect("overview");
    // The synthetic tissue is pale pink (red 215-234 on glass at 242) with dark specks, so
    // Otsu on the red channel splits specks from everything else (OpenCV's Otsu does the same):
    // a fixed level between tissue and glass is what a user sets for such a slide.
    let params = RegionParams {
        threshold: Threshold::Fixed(238),
        ..RegionParams::default()
    };
    let stages = detect_regions(&overview, &params).expect("detects");
    let level0 = (spec.width, spec.height);
    let regions: Vec<Rect> = stages
        .regions
        .iter()
        .map(|r| scale_rect(*r, overview.dimensions(), level0))
        .collect();
    assert!(!regions.is_empty());

    // One overview pixel is about 20 level-0 pixels; allow two of them at each edge.
    let slack = 2.0 * f64::from(spec.width) / f64::from(overview.width());
    let piece_boxes: Vec<Rect> = pieces
        .iter()
        .map(|p| {
            let (x0, y0, x1, y1) = p.bounds();
            let (x0, y0) = ((x0 + slack).max(0.0), (y0 + slack).max(0.0));
            let (x1, y1) = (x1 - slack, y1 - slack);
            Rect::new(
                x0 as u32,
                y0 as u32,
                (x1 - x0).max(1.0) as u32,
                (y1 - y0).max(1.0) as u32,
            )
        })
        .collect();
    for (piece, inner) in pieces.iter().zip(&piece_boxes) {
        assert!(
            regions.iter().any(|r| r.contains(inner)),
            "piece {piece:?} is not inside any region: {regions:?}"
        );
    }
    for r in &regions {
        assert!(
            piece_boxes.iter().any(|p| r.intersects(p)),
            "region {r:?} holds no tissue piece"
        );
    }
    let covered: u64 = regions.iter().map(Rect::area).sum();
    let slide_area = u64::from(spec.width) * u64::from(spec.height);
    assert!(
        covered < slide_area * 3 / 4,
        "regions cover {covered} of {slide_area} px"
    );
}

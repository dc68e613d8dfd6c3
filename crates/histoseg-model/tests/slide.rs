//! Whole-slide prediction with the shipped model on a real slide: the windows' seams find each
//! nucleus once, whatever the cell size.

use std::path::PathBuf;

use burn::prelude::*;
use histoseg_core::nuclei::MeasuredNucleus;
use histoseg_core::rect::Rect;
use histoseg_core::slide::Slide;
use histoseg_model::predict::Predictor;
use histoseg_model::slide::{SlideParams, SlideRun, predict_slide};
use histoseg_model::weights::load_hsm;

fn shared(path: &str) -> PathBuf {
    std::env::var_os("HISTOSEG_DATA")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        )
        .join(path)
}

fn cmu1() -> Slide<std::io::BufReader<std::fs::File>> {
    Slide::open_path(shared("slides/cmu-1-small-region.svs")).expect("a slide")
}

fn params(cell: u32) -> SlideParams {
    SlideParams {
        cell,
        margin: 64,
        scale: 1.0,
    }
}

fn nuclei(predictor: &Predictor, region: Rect, cell: u32) -> Vec<MeasuredNucleus> {
    let mut slide = cmu1();
    let mut found = Vec::new();
    let params = params(cell);
    let count = predict_slide(
        predictor,
        &mut slide,
        &[region],
        &params,
        &mut |n| {
            found.push(n);
            Ok(())
        },
        &mut |_, _, _| true,
    )
    .expect("predicted");
    assert_eq!(count as usize, found.len());
    found
}

/// The nuclei of windows `from..to` of a run over `region`, told of the nuclei `before`.
fn resumed(
    predictor: &Predictor,
    region: Rect,
    before: &[MeasuredNucleus],
    windows: std::ops::Range<usize>,
) -> Vec<MeasuredNucleus> {
    let mut slide = cmu1();
    let level0 = slide.level_dimensions(0).expect("level 0");
    let mut run = SlideRun::new(&[region], level0, &params(128)).expect("a run");
    for n in before {
        run.remember(n.centroid, n.area);
    }
    let mut found = Vec::new();
    for index in windows {
        let image = slide
            .read_region(0, run.windows()[index].read)
            .expect("read");
        let image = run.model_image(image);
        let labels = predictor
            .predict(&image, &mut |_, _| true)
            .expect("predicted")
            .labels;
        found.extend(run.keep(index, &labels, &image).expect("kept"));
    }
    found
}

fn shipped() -> Predictor {
    let device = Device::flex();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/nuclei-default.hsm");
    let (model, spec) = load_hsm(&model, &device).expect("the shipped model");
    Predictor {
        model,
        spec,
        device,
        tta: false,
    }
}

#[test]
fn a_nucleus_on_a_seam_is_found_once_and_a_resumed_run_finds_the_same() {
    let predictor = shipped();
    let region = Rect::new(800, 1300, 512, 512);
    let whole = nuclei(&predictor, region, 1024);
    // 128 px cells: 16 windows, and many nuclei cut by a cell border.
    let cut = nuclei(&predictor, region, 128);
    assert!(whole.len() > 30, "{} nuclei", whole.len());
    let near = |a: &MeasuredNucleus, b: &MeasuredNucleus| {
        (a.centroid.0 - b.centroid.0).hypot(a.centroid.1 - b.centroid.1) < 3.0
    };
    for (i, a) in cut.iter().enumerate() {
        assert!(
            !cut[i + 1..].iter().any(|b| near(a, b)),
            "found twice near {:?}",
            a.centroid
        );
        let (x, y) = a.centroid;
        assert!(
            (800.0..1312.0).contains(&x) && (1300.0..1812.0).contains(&y),
            "({x}, {y}) is outside the region"
        );
    }
    let matched = cut
        .iter()
        .filter(|a| whole.iter().any(|b| near(a, b)))
        .count();
    assert!(
        matched as f64 >= 0.9 * whole.len() as f64 && cut.len() as f64 <= 1.05 * whole.len() as f64,
        "{matched} of {} cut-window nuclei match the {} of one window",
        cut.len(),
        whole.len()
    );
    // Stopped after 7 of the 16 windows and resumed by a new run told of what was kept.
    let first = resumed(&predictor, region, &[], 0..7);
    let rest = resumed(&predictor, region, &first, 7..16);
    let mut again = first;
    again.extend(rest);
    assert_eq!(again, cut, "the resumed run keeps the same nuclei");
}

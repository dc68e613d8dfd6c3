//! `histoseg predict` on a whole slide: the model over the detected tissue (or `--region`),
//! window by window, streaming QuPath detections (outlines and measurements) to
//! `<stem>.nuclei.geojson`, with the tissue regions as annotations, and one summary per slide.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::Context;
use histoseg_core::annotations::detections::GeoJsonWriter;
use histoseg_core::annotations::{Annotation, Geometry};
use histoseg_core::nuclei::Summary;
use histoseg_core::rect::Rect;
use histoseg_core::slide::{Slide, Vendor};
use histoseg_core::tissue::{Tissue, tissue_params};
use histoseg_model::ModelError;
use histoseg_model::predict::Predictor;
use histoseg_model::slide::{SlideParams, predict_slide};

/// The class the model's nuclei get.
const NUCLEUS: &str = "Nucleus";

/// Longest side of the overview tissue is found on.
const OVERVIEW_SIDE: u32 = 2048;

/// Parses `x,y,w,h` in level-0 pixels.
pub fn parse_region(text: &str) -> Result<Rect, String> {
    let parts: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected x,y,w,h in level-0 pixels, got '{text}'"))?;
    match parts[..] {
        [x, y, w, h] if w > 0 && h > 0 => Ok(Rect::new(x, y, w, h)),
        _ => Err(format!("expected x,y,w,h with w, h > 0, got '{text}'")),
    }
}

/// Opens `path` as a slide when it is one (an Aperio or OME file, or a pyramid); `None` for a
/// plain image, which `predict` handles whole.
pub fn open_if_slide(path: &Path, forced: bool) -> anyhow::Result<Option<Slide<BufReader<File>>>> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let plain = ["png", "jpg", "jpeg"]
        .iter()
        .any(|e| extension.eq_ignore_ascii_case(e));
    if plain && !forced {
        return Ok(None);
    }
    let Ok(slide) = Slide::open_path(path) else {
        // Not something the slide reader knows: the image reader says why, if it cannot either.
        anyhow::ensure!(
            !forced,
            "{} is not a slide the reader can open",
            path.display()
        );
        return Ok(None);
    };
    let info = slide.info();
    let is_slide = matches!(info.vendor, Vendor::Aperio | Vendor::OmeTiff) || info.levels.len() > 1;
    Ok((is_slide || forced).then_some(slide))
}

/// Predicts nuclei over one slide and writes `<stem>.nuclei.geojson` in `out`.
pub fn run(
    predictor: &Predictor,
    path: &Path,
    mut slide: Slide<BufReader<File>>,
    region: Option<Rect>,
    out: &Path,
    quiet: bool,
) -> anyhow::Result<Summary> {
    let level0 = slide
        .level_dimensions(0)
        .context("the slide has no image")?;
    let tissue = Tissue::find(&mut slide, OVERVIEW_SIDE, &tissue_params())?;
    let regions = match region {
        Some(r) => {
            let inside = r.intersection(&Rect::new(0, 0, level0.0, level0.1));
            vec![inside.with_context(|| {
                format!(
                    "--region {},{},{},{} lies outside {} ({} x {} px)",
                    r.x,
                    r.y,
                    r.w,
                    r.h,
                    path.display(),
                    level0.0,
                    level0.1
                )
            })?]
        }
        None => tissue.regions.clone(),
    };
    let info = slide.info();
    let mpp = info.mpp_x.zip(info.mpp_y.or(info.mpp_x));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("slide");
    // Written under a temporary name and renamed when complete: a cancelled or failed run
    // leaves no half-written GeoJSON under the final name (nor replaces a complete one).
    let file = out.join(format!("{stem}.nuclei.geojson"));
    let partial = out.join(format!("{stem}.nuclei.geojson.partial"));
    let writer = File::create(&partial)
        .map(BufWriter::new)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut geojson = GeoJsonWriter::new(writer, 0)?;
    for r in &regions {
        let box_ = Geometry::Rect {
            x: f64::from(r.x),
            y: f64::from(r.y),
            w: f64::from(r.w),
            h: f64::from(r.h),
        };
        geojson.annotation(&Annotation::new("Region", box_))?;
    }
    let mut summary = Summary {
        slide: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        tissue_pixels: tissue.area_in(&regions),
        mpp,
        ..Summary::default()
    };
    let bar = crate::progress::bar(1, "windows", quiet);
    predict_slide(
        predictor,
        &mut slide,
        &regions,
        &SlideParams::for_slide(mpp, &predictor.spec),
        &mut |nucleus| {
            summary.count(NUCLEUS);
            geojson
                .detection(&nucleus.to_detection(NUCLEUS, mpp))
                .map_err(|source| ModelError::Io {
                    file: partial.clone(),
                    source,
                })
        },
        &mut |done, total, nuclei| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(format!("{nuclei} nuclei"));
            true
        },
    )?;
    bar.finish_and_clear();
    geojson
        .finish()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &file)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), file.display()))?;
    outln!(
        "{}: {} nuclei in {} region(s) -> {}",
        path.display(),
        summary.total(),
        regions.len(),
        file.display()
    );
    Ok(summary)
}

//! Scores of a model on images with true instances: pixel Dice and IoU per image, their mean
//! over images and pooled over all pixels; the instance scores AJI and PQ; and nucleus
//! detection precision / recall / F1 (predicted centres against the centres of the true
//! instances), with overlays for a look.

use std::path::Path;

use histoseg_core::instances::{InstanceScores, LabelMap, score_instances};
use histoseg_core::metrics::{PixelCounts, PixelSummary, match_points};
use image::{GrayImage, Luma, Rgb, RgbImage};
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::postprocess::nuclei_of;
use crate::predict::Predictor;

/// One image's scores.
#[derive(Debug, Clone, Serialize)]
pub struct ImageScore {
    /// Image name.
    pub name: String,
    /// Pixel Dice.
    pub dice: f64,
    /// Pixel IoU.
    pub iou: f64,
    /// Pixel counts behind them.
    pub counts: PixelCounts,
    /// Predicted nuclei.
    pub predicted_nuclei: usize,
    /// True nuclei (components of the true mask).
    pub true_nuclei: usize,
    /// Matched nuclei within the matching radius.
    pub matched_nuclei: usize,
    /// AJI and PQ of the predicted instances.
    pub instances: InstanceScores,
}

/// A whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Per image.
    pub images: Vec<ImageScore>,
    /// Mean and pooled Dice / IoU.
    pub pixels: PixelSummary,
    /// Detection precision over all images.
    pub precision: f64,
    /// Detection recall.
    pub recall: f64,
    /// Detection F1.
    pub f1: f64,
    /// Mean AJI over images (as HoVer-Net reports it).
    pub mean_aji: f64,
    /// AJI of the intersections and unions summed over all images.
    pub pooled_aji: f64,
    /// Mean panoptic quality over images.
    pub mean_pq: f64,
    /// Mean detection quality over images.
    pub mean_dq: f64,
    /// Mean segmentation quality over images.
    pub mean_sq: f64,
}

/// Paints the outline of `mask` onto `canvas`.
fn outline(canvas: &mut RgbImage, mask: &GrayImage, colour: Rgb<u8>) {
    let (w, h) = mask.dimensions();
    let on = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < w as i64
            && y < h as i64
            && mask.get_pixel(x as u32, y as u32)[0] != 0
    };
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            if on(x, y) && !(on(x - 1, y) && on(x + 1, y) && on(x, y - 1) && on(x, y + 1)) {
                canvas.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

/// Evaluates `predictor` on `(name, image, true instances)` triples. With `overlays`, writes
/// `<name>.overlay.png` there: the image, true outlines in blue, predicted in yellow.
pub fn evaluate(
    predictor: &Predictor,
    items: impl IntoIterator<Item = Result<(String, RgbImage, LabelMap)>>,
    match_radius: f64,
    overlays: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<Evaluation> {
    let mut images = Vec::new();
    let (mut tp, mut predicted, mut truth) = (0usize, 0usize, 0usize);
    for item in items {
        let (name, image, true_labels) = item?;
        progress(&name);
        let mask = GrayImage::from_fn(true_labels.width(), true_labels.height(), |x, y| {
            Luma([if true_labels.get_pixel(x, y)[0] != 0 {
                255
            } else {
                0
            }])
        });
        let prediction = predictor.predict(&image, &mut |_, _| true)?;
        let counts = PixelCounts::from_masks(&prediction.mask, &mask)
            .map_err(|e| ModelError::Input(format!("{name}: {e}")))?;
        let instances = score_instances(&prediction.labels, &true_labels)
            .map_err(|e| ModelError::Input(format!("{name}: {e}")))?;
        let centre = |n: &crate::postprocess::Nucleus| (n.x, n.y);
        let p: Vec<_> = prediction.nuclei.iter().map(centre).collect();
        let t: Vec<_> = nuclei_of(&true_labels, 1).iter().map(centre).collect();
        let matched =
            match_points(&p, &t, match_radius).map_err(|e| ModelError::Input(e.to_string()))?;
        tp += matched.pairs.len();
        predicted += p.len();
        truth += t.len();
        if let Some(dir) = overlays {
            let mut canvas = image.clone();
            outline(&mut canvas, &mask, Rgb([40, 90, 255]));
            outline(&mut canvas, &prediction.mask, Rgb([255, 220, 0]));
            let stem = Path::new(&name)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("image");
            let path = dir.join(format!("{stem}.overlay.png"));
            canvas
                .save(&path)
                .map_err(|e| ModelError::Input(format!("{}: {e}", path.display())))?;
        }
        images.push(ImageScore {
            name,
            dice: counts.dice(),
            iou: counts.iou(),
            counts,
            predicted_nuclei: p.len(),
            true_nuclei: t.len(),
            matched_nuclei: matched.pairs.len(),
            instances,
        });
    }
    let counts: Vec<PixelCounts> = images.iter().map(|i| i.counts).collect();
    let pixels = PixelSummary::from_counts(&counts)
        .ok_or_else(|| ModelError::Input("no images to evaluate".into()))?;
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, predicted), ratio(tp, truth));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let n = images.len().max(1) as f64;
    let mean =
        |f: fn(&InstanceScores) -> f64| images.iter().map(|i| f(&i.instances)).sum::<f64>() / n;
    let (c, u) = images.iter().fold((0u64, 0u64), |(c, u), i| {
        (c + i.instances.aji_intersection, u + i.instances.aji_union)
    });
    Ok(Evaluation {
        mean_aji: mean(|s| s.aji),
        pooled_aji: if u == 0 { 1.0 } else { c as f64 / u as f64 },
        mean_pq: mean(|s| s.pq),
        mean_dq: mean(|s| s.dq),
        mean_sq: mean(|s| s.sq),
        images,
        pixels,
        precision,
        recall,
        f1,
    })
}

//! `histoseg metrics`: pixel Dice and IoU between predicted and true masks.

use std::path::{Path, PathBuf};

use anyhow::Context;
use histoseg_core::metrics::{PixelCounts, PixelSummary};
use serde::Serialize;

/// Arguments of `histoseg metrics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Predicted masks (non-zero = nucleus), paired in order with `--truth`.
    #[arg(long, required = true, num_args = 1..)]
    pred: Vec<PathBuf>,
    /// Ground-truth masks (non-zero = nucleus).
    #[arg(long, required = true, num_args = 1..)]
    truth: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct ImageScore<'a> {
    pred: &'a Path,
    truth: &'a Path,
    dice: f64,
    iou: f64,
    #[serde(flatten)]
    counts: PixelCounts,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    images: Vec<ImageScore<'a>>,
    summary: PixelSummary,
}

/// Scores every pair and prints per-image and dataset-level Dice and IoU.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.pred.len() == args.truth.len(),
        "{} predicted masks but {} true masks: give them in pairs",
        args.pred.len(),
        args.truth.len()
    );
    let mut images = Vec::with_capacity(args.pred.len());
    for (pred, truth) in args.pred.iter().zip(&args.truth) {
        let counts = PixelCounts::from_masks(&open_mask(pred)?, &open_mask(truth)?)
            .with_context(|| format!("comparing {} with {}", pred.display(), truth.display()))?;
        images.push(ImageScore {
            pred,
            truth,
            dice: counts.dice(),
            iou: counts.iou(),
            counts,
        });
    }
    let counts: Vec<PixelCounts> = images.iter().map(|s| s.counts).collect();
    let summary = PixelSummary::from_counts(&counts).context("no masks given")?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&Report { images, summary })?
        );
    } else {
        outln!("{:<40} {:>8} {:>8}", "prediction", "Dice", "IoU");
        for s in &images {
            outln!("{:<40} {:>8.4} {:>8.4}", s.pred.display(), s.dice, s.iou);
        }
        outln!(
            "{:<40} {:>8.4} {:>8.4}",
            "mean over images",
            summary.mean_dice,
            summary.mean_iou
        );
        outln!(
            "{:<40} {:>8.4} {:>8.4}",
            "dataset (summed)",
            summary.dataset_dice,
            summary.dataset_iou
        );
    }
    Ok(())
}

fn open_mask(path: &Path) -> anyhow::Result<image::GrayImage> {
    let image =
        image::open(path).with_context(|| format!("cannot read mask {}", path.display()))?;
    Ok(image.to_luma8())
}

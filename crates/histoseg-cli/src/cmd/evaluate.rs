//! `histoseg evaluate`: whole-image inference on a dataset's test split or on image + mask
//! folders, with pixel Dice / IoU (per image, mean and pooled), AJI and PQ, nucleus detection
//! precision / recall / F1, and overlays.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use histoseg_core::dataset::split::Split;
use histoseg_core::instances::{LabelMap, labels_from_mask};
use histoseg_model::evaluate::{Evaluation, evaluate};
use histoseg_model::train::data::load_split;
use image::RgbImage;

use super::model_args::{DeviceArgs, load_predictor};

/// Arguments of `histoseg evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model file (.hsm) or a run folder (its best.hsm); default: the shipped model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// A dataset folder made by `histoseg dataset build` (its images are already prepared).
    #[arg(long, conflicts_with_all = ["images", "masks"], required_unless_present = "images")]
    data: Option<PathBuf>,
    /// Which split of --data.
    #[arg(long, default_value = "test", value_parser = parse_split)]
    split: Split,
    /// A folder of images (raw: the model's preprocessing is applied); repeat it, each with
    /// its --masks, to evaluate several folders as one set.
    #[arg(long, requires = "masks")]
    images: Vec<PathBuf>,
    /// A folder of masks with the images' file stems: binary (instances are their connected
    /// components) or 16-bit instance labels.
    #[arg(long, requires = "images")]
    masks: Vec<PathBuf>,
    /// Only the images with these file stems.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Test-time augmentation: average the model over the eight D4 symmetries.
    #[arg(long)]
    tta: bool,
    #[command(flatten)]
    device: DeviceArgs,
    /// Radius in pixels within which a predicted centre matches a true nucleus.
    #[arg(long, default_value_t = 12.0)]
    match_radius: f64,
    /// Write image + true (blue) and predicted (yellow) outlines here.
    #[arg(long)]
    overlays: Option<PathBuf>,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_split(s: &str) -> Result<Split, String> {
    match s {
        "train" => Ok(Split::Train),
        "test" => Ok(Split::Test),
        other => Err(format!("unknown split {other:?}: expected train or test")),
    }
}

type Item = histoseg_model::Result<(String, RgbImage, LabelMap)>;

/// Image files of `dir` paired with the mask of the same stem in `masks`.
fn folder_pairs(
    images: &Path,
    masks: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let list = |dir: &Path| -> anyhow::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                ["png", "jpg", "jpeg", "tif", "tiff", "bmp"].contains(&ext.as_str())
            })
            .collect();
        files.sort();
        Ok(files)
    };
    let mask_files = list(masks)?;
    let mut pairs = Vec::new();
    for image in list(images)? {
        if !keep(&image.to_string_lossy()) {
            continue;
        }
        let stem = image.file_stem().map(|s| s.to_os_string());
        match mask_files
            .iter()
            .find(|m| m.file_stem().map(|s| s.to_os_string()) == stem)
        {
            Some(mask) => pairs.push((image, mask.clone())),
            None => eprintln!(
                "warning: {}: no mask of the same name in {}",
                image.display(),
                masks.display()
            ),
        }
    }
    if pairs.is_empty() {
        bail!(
            "no image in {} has a mask in {}",
            images.display(),
            masks.display()
        );
    }
    Ok(pairs)
}

fn read_pair(image: &Path, mask: &Path) -> Item {
    let open = |p: &Path| {
        image::open(p)
            .map_err(|e| histoseg_model::ModelError::Input(format!("{}: {e}", p.display())))
    };
    let name = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let truth = labels_from_mask(&open(mask)?.to_luma16());
    Ok((name, open(image)?.to_rgb8(), truth))
}

/// Prints the summary table of an evaluation.
pub fn print_summary(e: &Evaluation) -> std::io::Result<()> {
    outln!(
        "{:<40} {:>7} {:>7} {:>7} {:>7} {:>9} {:>6}",
        "image",
        "dice",
        "iou",
        "aji",
        "pq",
        "nuclei",
        "found"
    );
    for i in &e.images {
        outln!(
            "{:<40} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>9} {:>6}",
            i.name,
            i.dice,
            i.iou,
            i.instances.aji,
            i.instances.pq,
            i.true_nuclei,
            i.matched_nuclei
        );
    }
    outln!(
        "{} images: Dice {:.4} (mean {:.4}), IoU {:.4} (mean {:.4}); AJI {:.4} (pooled {:.4}), \
         PQ {:.4} (DQ {:.4}, SQ {:.4}); nuclei precision {:.3} recall {:.3} F1 {:.3}",
        e.pixels.images,
        e.pixels.dataset_dice,
        e.pixels.mean_dice,
        e.pixels.dataset_iou,
        e.pixels.mean_iou,
        e.mean_aji,
        e.pooled_aji,
        e.mean_pq,
        e.mean_dq,
        e.mean_sq,
        e.precision,
        e.recall,
        e.f1
    );
    Ok(())
}

/// Runs `histoseg evaluate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let device = args.device.open()?;
    let mut predictor = load_predictor(args.model.as_deref(), &device)?;
    predictor.tta = args.tta;
    if let Some(dir) = &args.overlays {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let keep = |name: &str| {
        let stem = Path::new(name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(name);
        args.only.is_empty() || args.only.iter().any(|o| o == stem)
    };
    let items: Box<dyn Iterator<Item = Item>> = match &args.data {
        Some(data) => {
            // Dataset images were prepared when the dataset was built.
            predictor.spec.preprocess = false;
            let samples: Vec<_> = load_split(data, args.split)?
                .into_iter()
                .filter(|s| keep(&s.name))
                .collect();
            if samples.is_empty() {
                bail!("{}: the {} split is empty", data.display(), args.split);
            }
            Box::new(samples.into_iter().map(|s| {
                let truth = s.truth();
                Ok((s.name, s.image, truth))
            }))
        }
        None => {
            if args.images.is_empty() || args.images.len() != args.masks.len() {
                bail!("give --data DATASET, or --images DIR --masks DIR (as many of each)");
            }
            let mut pairs = Vec::new();
            for (images, masks) in args.images.iter().zip(&args.masks) {
                pairs.extend(folder_pairs(images, masks, &keep)?);
            }
            if pairs.is_empty() {
                bail!("no image left to evaluate (--only {})", args.only.join(","));
            }
            Box::new(pairs.into_iter().map(|(i, m)| read_pair(&i, &m)))
        }
    };
    let report = evaluate(
        &predictor,
        items,
        args.match_radius,
        args.overlays.as_deref(),
        &mut |name| {
            if !args.json {
                eprintln!("evaluating {name}");
            }
        },
    )?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report)?;
    }
    Ok(())
}

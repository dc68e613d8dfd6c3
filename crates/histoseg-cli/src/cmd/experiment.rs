//! `histoseg experiment`: the paper's grid. Builds the nine dataset variants (five schemes,
//! with and without empty samples), trains every (model, variant) pair, evaluates it on the
//! train and test splits and writes the paper's table layout with its numbers beside ours.
//! Resumable: a finished cell is read back, an interrupted one resumes from its checkpoint.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use histoseg_core::dataset::split::Split;
use histoseg_core::dataset::tiling::Scheme;
use histoseg_model::evaluate::evaluate;
use histoseg_model::train::data::load_split;
use histoseg_model::train::{OptimizerKind, TrainOptions, train};
use serde::{Deserialize, Serialize};

use super::model_args::{DeviceArgs, load_predictor};
use super::train::{Progress, model_config};

/// Arguments of `histoseg experiment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source dataset folder.
    dir: PathBuf,
    /// Its layout (brecahad, tnbc, monuseg, folder).
    #[arg(long, default_value = "brecahad")]
    layout: String,
    /// Models to train, comma-separated.
    #[arg(long, value_delimiter = ',', default_values = ["unet", "unet-resnet50"])]
    models: Vec<String>,
    /// Variants: `all`, or names such as `256p128s-zero,original`.
    #[arg(long, value_delimiter = ',', default_values = ["all"])]
    schemes: Vec<String>,
    /// Epochs per cell.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Samples per batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Divide every layer width by this (1 = the paper's widths).
    #[arg(long, default_value_t = 1)]
    slim: usize,
    /// Extra options for `histoseg dataset build` (e.g. `--square=512`), repeated.
    #[arg(long = "dataset-option", allow_hyphen_values = true)]
    dataset_options: Vec<String>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Seed of everything.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where datasets and runs go (default: next to the report, `<report>.work`).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The Markdown report.
    #[arg(short, long)]
    out: PathBuf,
    /// No progress bars.
    #[arg(short, long)]
    quiet: bool,
}

/// One finished cell, kept as `result.json` in its run folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CellResult {
    model: String,
    variant: String,
    train_dice: f64,
    train_iou: f64,
    test_dice: f64,
    test_iou: f64,
    train_samples: usize,
    test_samples: usize,
    epochs: usize,
}

/// The paper's published test scores we know of: (variant, model, Dice, IoU).
const PAPER: [(&str, &str, f64, f64); 2] = [
    ("256p128s-zero", "unet", 0.742, 0.592),
    ("256p128s-zero", "unet-resnet50", 0.7458, 0.5971),
];

/// The nine variants as (name, scheme, drop empty).
fn variants() -> Vec<(String, Scheme, bool)> {
    let mut out = vec![(Scheme::PAPER[0].to_string(), Scheme::PAPER[0], false)];
    for scheme in &Scheme::PAPER[1..] {
        out.push((scheme.to_string(), *scheme, false));
        out.push((format!("{scheme}-zero"), *scheme, true));
    }
    out
}

fn build_dataset(args: &Args, scheme: Scheme, drop_empty: bool, out: &Path) -> anyhow::Result<()> {
    if out.join("dataset.json").is_file() {
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the histoseg executable")?;
    let mut cmd = Command::new(exe);
    cmd.args(["dataset", "build"])
        .arg(&args.dir)
        .args(["--layout", &args.layout]);
    cmd.arg(format!("--scheme={scheme}"))
        .arg("--prep")
        .arg("--quiet")
        .arg("-o")
        .arg(out);
    cmd.arg(format!("--seed={}", args.seed));
    if drop_empty {
        cmd.arg("--drop-empty");
    }
    cmd.args(&args.dataset_options);
    let status = cmd.status().context("cannot run histoseg dataset build")?;
    if !status.success() {
        bail!(
            "building the {scheme} dataset into {} failed",
            out.display()
        );
    }
    Ok(())
}

fn score(
    run: &Path,
    data: &Path,
    split: Split,
    device: &histoseg_model::device::ComputeDevice,
) -> anyhow::Result<(f64, f64, usize)> {
    let mut predictor = load_predictor(Some(run), device)?;
    predictor.spec.preprocess = false;
    let samples = load_split(data, split)?;
    let n = samples.len();
    if n == 0 {
        return Ok((f64::NAN, f64::NAN, 0));
    }
    let items = samples.into_iter().map(|s| {
        let truth = s.truth();
        Ok((s.name, s.image, truth))
    });
    let report = evaluate(&predictor, items, 12.0, None, &mut |_| {})?;
    Ok((report.pixels.dataset_dice, report.pixels.dataset_iou, n))
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.4}")
    }
}

/// Runs `histoseg experiment`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let all = variants();
    let chosen: Vec<_> = if args.schemes.iter().any(|s| s == "all") {
        all.clone()
    } else {
        let mut v = Vec::new();
        for name in &args.schemes {
            let found = all.iter().find(|(n, _, _)| n == name).with_context(|| {
                let names: Vec<_> = all.iter().map(|v| v.0.as_str()).collect();
                format!(
                    "unknown variant {name:?}: expected all or one of {}",
                    names.join(", ")
                )
            })?;
            v.push(found.clone());
        }
        v
    };
    for m in &args.models {
        model_config(m, args.slim)?;
    }
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| args.out.with_extension("work"));
    let device = args.device.open()?;
    let mut results = Vec::new();
    for (variant, scheme, drop_empty) in &chosen {
        let data = work.join("datasets").join(variant);
        build_dataset(&args, *scheme, *drop_empty, &data)?;
        for model in &args.models {
            let run = work.join("runs").join(format!("{model}-{variant}"));
            let result_path = run.join("result.json");
            if let Ok(text) = std::fs::read_to_string(&result_path)
                && let Ok(r) = serde_json::from_str::<CellResult>(&text)
            {
                eprintln!("{model} on {variant}: done before, read back");
                results.push(r);
                continue;
            }
            eprintln!("{model} on {variant}: training");
            let options = TrainOptions {
                data: vec![data.clone()],
                init: None,
                stain_jitter: 0.0,
                model: model_config(model, args.slim)?,
                epochs: args.epochs,
                batch: args.batch,
                lr: 1e-3,
                optimizer: OptimizerKind::Adam,
                loss: histoseg_model::loss::LossKind::BceDice,
                weight_map: false,
                encoder_weights: None,
                seed: args.seed,
                valid_fraction: 0.15,
                plateau_patience: 3,
                early_stop_patience: 10,
            };
            let resume = run.join("state.json").is_file();
            let mut progress = Progress::new(args.epochs, args.quiet);
            let state = train(&options, &run, &device, resume, &mut progress)?;
            let (train_dice, train_iou, train_samples) = score(&run, &data, Split::Train, &device)?;
            let (test_dice, test_iou, test_samples) = score(&run, &data, Split::Test, &device)?;
            let r = CellResult {
                model: model.clone(),
                variant: variant.clone(),
                train_dice,
                train_iou,
                test_dice,
                test_iou,
                train_samples,
                test_samples,
                epochs: state.epochs_done,
            };
            std::fs::write(&result_path, serde_json::to_string_pretty(&r)?)
                .with_context(|| format!("cannot write {}", result_path.display()))?;
            results.push(r);
        }
    }
    let mut md = format!(
        "# histoseg experiment\n\nSource: `{}` ({}), device: {}, {} epochs per cell, batch {}, width 1/{}, seed {}.\n\
         Command: `histoseg {}`\n\n\
         | Dataset | Model | Train Dice | Train IoU | Test Dice | Test IoU | Size (train/test) | Epochs | Paper test Dice | Paper test IoU |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        args.dir.display(),
        args.layout,
        device.description,
        args.epochs,
        args.batch,
        args.slim,
        args.seed,
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    for r in &results {
        let paper = PAPER.iter().find(|p| p.0 == r.variant && p.1 == r.model);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {}/{} | {} | {} | {} |\n",
            r.variant,
            r.model,
            fmt(r.train_dice),
            fmt(r.train_iou),
            fmt(r.test_dice),
            fmt(r.test_iou),
            r.train_samples,
            r.test_samples,
            r.epochs,
            paper.map(|p| fmt(p.2)).unwrap_or_else(|| "n/a".into()),
            paper.map(|p| fmt(p.3)).unwrap_or_else(|| "n/a".into()),
        ));
    }
    md.push_str("\nPaper: only the best published cells are recorded here (n/a elsewhere). Our test split holds out whole source images.\n");
    std::fs::write(&args.out, md)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    outln!("{}: {} cells", args.out.display(), results.len());
    Ok(())
}

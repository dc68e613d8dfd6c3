//! `histoseg export`: a run's checkpoint as the compact model file the browser loads.

use std::path::PathBuf;

use anyhow::Context;
use histoseg_model::device::Backend;
use histoseg_model::weights::{load_hsm, save_hsm};

use super::model_args::model_file;

/// Arguments of `histoseg export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A run folder (its best.hsm) or a model file.
    run: PathBuf,
    /// The model file to write.
    #[arg(short, long)]
    out: PathBuf,
    /// Take the last checkpoint instead of the best.
    #[arg(long)]
    last: bool,
    /// Keep full precision (default: f16 weights, half the size).
    #[arg(long)]
    full: bool,
}

/// Runs `histoseg export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let file = if args.last && args.run.is_dir() {
        args.run.join("last.hsm")
    } else {
        model_file(&args.run)
    };
    let cpu = Backend::Cpu.open()?;
    let (model, spec) =
        load_hsm(&file, &cpu.device).with_context(|| format!("cannot load {}", file.display()))?;
    save_hsm(&model, &spec, !args.full, &args.out)?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    outln!(
        "{}: {} ({}), {:.1} MB",
        args.out.display(),
        spec.config.name(),
        if args.full { "f32" } else { "f16" },
        size as f64 / 1e6
    );
    Ok(())
}

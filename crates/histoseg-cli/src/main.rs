//! `histoseg`: the command-line face of the histoseg toolkit.

/// `println!` that returns the write error instead of panicking, so a closed pipe
/// (`histoseg info --json | head`) ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod cmd;
mod progress;
mod shipped;

use clap::{Parser, Subcommand};

/// Breast-cancer histopathology toolkit: slides, fragments, nuclei segmentation.
#[derive(Debug, Parser)]
#[command(name = "histoseg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the paper's preprocessing chain (Gaussian 5x5, sharpen 3x3, median 3x3) on an image.
    Preprocess(cmd::preprocess::Args),
    /// Pixel Dice and IoU between a predicted and a ground-truth mask.
    Metrics(cmd::metrics::Args),
    /// Levels, sizes, downsamples, tile size, microns per pixel and associated images of a slide.
    Info(cmd::info::Args),
    /// Write a reduced picture of a whole slide, read tile by tile from the smallest level that serves.
    Overview(cmd::overview::Args),
    /// Find the tissue on slides and save each fragment with its slide coordinates in its name.
    Extract(cmd::extract::Args),
    /// Build the paper's datasets (schemes, drop-empty, preprocessing, split by image), and
    /// summarise or tabulate them.
    Dataset(cmd::dataset::Args),
    /// Bring annotations made on fragment images (Makesense.AI exports) back onto the slide.
    Annotations(cmd::annotations::Args),
    /// Train a U-Net or U-Net-ResNet50 on a built dataset (burn-wgpu or CPU).
    Train(cmd::train::Args),
    /// Score a model: pixel Dice and IoU, nucleus precision, recall and F1, overlays.
    Evaluate(cmd::evaluate::Args),
    /// The paper's grid: build the nine dataset variants, train and evaluate every model on
    /// each, and write the table beside the paper's numbers.
    Experiment(cmd::experiment::Args),
    /// Write a run's model as the compact file the browser loads.
    Export(cmd::export::Args),
    /// Find nuclei on images or slide fragments: mask, instances, GeoJSON points.
    Predict(cmd::predict::Args),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Preprocess(args) => cmd::preprocess::run(args),
        Command::Metrics(args) => cmd::metrics::run(args),
        Command::Info(args) => cmd::info::run(args),
        Command::Overview(args) => cmd::overview::run(args),
        Command::Dataset(args) => cmd::dataset::run(args),
        Command::Extract(args) => cmd::extract::run(args),
        Command::Annotations(args) => cmd::annotations::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Experiment(args) => cmd::experiment::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Predict(args) => cmd::predict::run(args),
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`| head`): nothing more to say, as other tools.
        Err(err) if is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

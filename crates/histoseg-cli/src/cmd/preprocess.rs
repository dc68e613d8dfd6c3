//! `histoseg preprocess`: the paper's preprocessing chain on one image.

use std::path::PathBuf;

use anyhow::Context;
use clap::ValueEnum;
use histoseg_core::filters;
use image::RgbImage;

/// One stage of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Step {
    /// Gaussian blur 5x5, sigma from the kernel size.
    Gaussian,
    /// Sharpen 3x3 (centre 5, cross -1).
    Sharpen,
    /// Median 3x3.
    Median,
}

/// Arguments of `histoseg preprocess`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input image (PNG, JPEG or TIFF; alpha is dropped).
    input: PathBuf,
    /// Output image; the format follows the extension (PNG keeps it lossless).
    #[arg(short, long)]
    output: PathBuf,
    /// Stages to run, in order (default: the paper's chain).
    #[arg(long, value_delimiter = ',', default_values = ["gaussian", "sharpen", "median"])]
    steps: Vec<Step>,
}

/// Reads the image, runs the chosen stages and writes the 8-bit result.
pub fn run(args: Args) -> anyhow::Result<()> {
    let input = open_rgb(&args.input)?;
    let mut image = input;
    for step in &args.steps {
        image = match step {
            Step::Gaussian => filters::gaussian_blur(&image, 5, 0.0)?,
            Step::Sharpen => filters::sharpen(&image),
            Step::Median => filters::median3(&image),
        };
    }
    image
        .save(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))
}

/// Opens an image file as RGB, naming the file in any error.
pub fn open_rgb(path: &std::path::Path) -> anyhow::Result<RgbImage> {
    let image =
        image::open(path).with_context(|| format!("cannot read image {}", path.display()))?;
    Ok(image.to_rgb8())
}

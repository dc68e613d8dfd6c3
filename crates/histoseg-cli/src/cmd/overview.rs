//! `histoseg overview`: a reduced picture of the whole slide, read from the smallest pyramid
//! level that serves, tile by tile.

use std::path::PathBuf;

use anyhow::Context;
use histoseg_core::slide::Slide;

/// Arguments of `histoseg overview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide or image.
    slide: PathBuf,
    /// Output image (format from the extension: .jpg, .png, ...).
    #[arg(short, long)]
    out: PathBuf,
    /// Long side of the overview in pixels (smaller levels are not enlarged).
    #[arg(long, default_value_t = 2048)]
    max_side: u32,
    /// JPEG quality for .jpg output.
    #[arg(long, default_value_t = 90)]
    quality: u8,
    /// Fail on the first damaged tile (broken JPEG data) instead of warning about it.
    #[arg(long)]
    strict: bool,
}

/// Writes the overview and prints its size and the level it came from.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut slide = Slide::open_path(&args.slide)?;
    slide.set_strict(args.strict);
    let level = slide.level_for_side(args.max_side);
    let img = slide.overview(args.max_side)?;
    super::report_damage(&slide);
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "jpg" || ext == "jpeg" {
        let bytes = histoseg_core::jpeg::encode(&img, args.quality)
            .with_context(|| format!("cannot encode {}", args.out.display()))?;
        std::fs::write(&args.out, bytes)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
    } else {
        img.save(&args.out)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
    }
    let (w, h) = slide.level_dimensions(level).unwrap_or((0, 0));
    outln!(
        "{}: overview {}x{} from level {level} ({w}x{h}) -> {}",
        slide.name(),
        img.width(),
        img.height(),
        args.out.display()
    );
    Ok(())
}

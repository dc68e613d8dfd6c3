//! `histoseg info`: what a slide declares: levels, sizes, downsamples, tiles, resolution,
//! associated images.

use std::path::PathBuf;

use histoseg_core::slide::{Slide, SlideInfo};

/// Arguments of `histoseg info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The slide or image (Aperio SVS, Hamamatsu NDPI, Philips TIFF, Leica SCN, Ventana BIF, OME-TIFF, any tiled TIFF or BigTIFF, PNG, JPEG, or a folder of DICOM files).
    slide: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Opens the slide (reading only its directories) and prints its description.
pub fn run(args: Args) -> anyhow::Result<()> {
    let slide = Slide::open_path(&args.slide)?;
    let info = slide.info();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(info)?);
    } else {
        outln!("{}", table(info).trim_end());
    }
    Ok(())
}

fn table(i: &SlideInfo) -> String {
    let mut s = String::new();
    let vendor = serde_json::to_value(i.vendor).ok();
    let vendor = vendor.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
    s += &format!("file      {}\n", i.file);
    s += &format!(
        "vendor    {vendor}{}\n",
        if i.bigtiff { " (BigTIFF)" } else { "" }
    );
    let mpp = match (i.mpp_x, i.mpp_y) {
        (Some(x), Some(y)) if (x - y).abs() < 1e-9 => format!("{x}"),
        (Some(x), Some(y)) => format!("{x} x {y}"),
        _ => "unknown".into(),
    };
    s += &format!("mpp       {mpp}\n");
    if let Some(p) = i.objective_power {
        s += &format!("objective {p}x\n");
    }
    s += &format!("levels    {}\n", i.levels.len());
    s += "  level        width       height   downsample   tile        compression\n";
    for (n, l) in i.levels.iter().enumerate() {
        let tile = if l.tiled {
            format!("{}x{}", l.tile_width, l.tile_height)
        } else {
            format!("strips of {}", l.tile_height)
        };
        s += &format!(
            "  {n:<5} {:>12} {:>12} {:>12.3}   {tile:<11} {}\n",
            l.width, l.height, l.downsample, l.compression
        );
    }
    if i.associated.is_empty() {
        s += "associated none\n";
    } else {
        s += "associated\n";
        for a in &i.associated {
            s += &format!(
                "  {:<10} {}x{} {}\n",
                a.kind.to_string(),
                a.width,
                a.height,
                a.compression
            );
        }
    }
    s
}

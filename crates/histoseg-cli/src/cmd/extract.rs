//! `histoseg extract`: tissue fragments of slides, named with their level-0 coordinates.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use histoseg_core::extract::{crop_from_overview, plan_fragments, read_fragment, scale_rect};
use histoseg_core::fragment::NameStyle;
use histoseg_core::manifest::{Manifest, ManifestFragment, ManifestSlide};
use histoseg_core::rect::Rect;
use histoseg_core::regions::{RegionParams, Threshold, detect_regions};
use histoseg_core::slide::Slide;
use image::{Rgb, RgbImage};

use crate::progress;

/// Arguments of `histoseg extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Slides (SVS, TIFF, BigTIFF, OME-TIFF) or plain images.
    #[arg(required = true)]
    slides: Vec<PathBuf>,
    /// Output folder (created if missing).
    #[arg(short, long)]
    output: PathBuf,
    /// Long side of the overview that tissue is detected on, in pixels.
    #[arg(long, default_value_t = 2048)]
    max_side: u32,
    /// Downsample of the fragment images (default: the overview's, 1 = full resolution).
    #[arg(long)]
    downsample: Option<f64>,
    /// `otsu`, or a fixed level 0-255 below which the channel counts as tissue.
    #[arg(long, default_value = "otsu", value_parser = parse_threshold)]
    threshold: Threshold,
    /// Boxes at most this many overview pixels apart merge.
    #[arg(long, default_value_t = RegionParams::default().gap)]
    gap: u32,
    /// Regions smaller than this many overview pixels are dropped.
    #[arg(long, default_value_t = RegionParams::default().min_area)]
    min_area: u64,
    /// Regions with a smaller share of tissue pixels are dropped (0-1).
    #[arg(long, default_value_t = 0.0)]
    min_tissue: f64,
    /// Fragments larger than this many pixels on a side are split into tiles.
    #[arg(long, default_value_t = 4096)]
    max_fragment: u32,
    /// JPEG quality of the fragments (1-100).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// How fragment file names carry their coordinates.
    #[arg(long, value_enum, default_value = "qupath")]
    names: Names,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
    /// Fail on the first damaged tile (broken JPEG data) instead of warning about it.
    #[arg(long)]
    strict: bool,
}

/// File-name styles, as the CLI spells them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Names {
    /// `{stem} [d=4,x=..,y=..,w=..,h=..].jpg`
    Qupath,
    /// `{stem}__d4_x.._y.._w.._h...jpg`
    Safe,
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    if text.eq_ignore_ascii_case("otsu") {
        return Ok(Threshold::Otsu);
    }
    text.parse::<u8>()
        .map(Threshold::Fixed)
        .map_err(|_| format!("expected 'otsu' or a level 0-255, got '{text}'"))
}

/// What `manifest.json` records: every slide and every fragment, in level-0 pixels.
/// Detects tissue on each slide's overview, writes the fragments, the overview, the overview
/// with the regions drawn and `manifest.json`.
pub fn run(args: Args) -> anyhow::Result<()> {
    fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let params = RegionParams {
        threshold: args.threshold,
        gap: args.gap,
        min_area: args.min_area,
        min_tissue_fraction: args.min_tissue,
        ..RegionParams::default()
    };
    let mut stems = std::collections::HashMap::new();
    for path in &args.slides {
        if let Some(earlier) = stems.insert(path.file_stem(), path) {
            anyhow::bail!(
                "{} and {} have the same file stem: their fragments would overwrite each other; \
                 extract them into different folders",
                earlier.display(),
                path.display()
            );
        }
    }
    let slides_bar = progress::bar(args.slides.len() as u64, "slides", args.quiet);
    let mut manifest = Manifest::default();
    for path in &args.slides {
        slides_bar.set_message(path.display().to_string());
        // Errors from the slide reader already name the file.
        let entry = extract_slide(path, &args, &params)?;
        manifest.slides.push(entry);
        slides_bar.inc(1);
    }
    slides_bar.finish_and_clear();
    let manifest_path = args.output.join("manifest.json");
    fs::write(&manifest_path, manifest.to_json())
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    let fragments: usize = manifest.slides.iter().map(|s| s.fragments.len()).sum();
    let regions: usize = manifest.slides.iter().map(|s| s.regions.len()).sum();
    outln!(
        "{} slide(s), {regions} tissue region(s), {fragments} fragment(s) written to {}",
        manifest.slides.len(),
        args.output.display()
    );
    Ok(())
}

fn extract_slide(path: &Path, args: &Args, params: &RegionParams) -> anyhow::Result<ManifestSlide> {
    let mut slide = Slide::open_path(path)?;
    slide.set_strict(args.strict);
    let (width, height) = slide
        .level_dimensions(0)
        .context("the slide has no image")?;
    let stem = path
        .file_stem()
        .map_or_else(|| "slide".into(), |s| s.to_string_lossy());
    let overview = slide.overview(args.max_side)?;
    let overview_downsample = f64::from(width) / f64::from(overview.width().max(1));
    let downsample = args.downsample.unwrap_or(overview_downsample);
    anyhow::ensure!(
        downsample.is_finite() && downsample > 0.0,
        "--downsample must be a positive number, got {downsample}"
    );
    let overview_name = format!("{stem}.overview.jpg");
    let regions_name = format!("{stem}.regions.jpg");
    let style = match args.names {
        Names::Qupath => NameStyle::Qupath,
        Names::Safe => NameStyle::Safe,
    };

    // The overview and regions pictures are encoded on a second core while this one detects
    // tissue and writes the fragments.
    std::thread::scope(|scope| {
        let overview_writer =
            scope.spawn(|| write_jpeg(&overview, &args.output.join(&overview_name), args.quality));
        let stages = detect_regions(&overview, params)?;
        let drawn = draw_boxes(&overview, &stages.regions);
        let regions_path = args.output.join(&regions_name);
        let regions_writer = scope.spawn(move || write_jpeg(&drawn, &regions_path, args.quality));

        let mut plan = Vec::new();
        for region in &stages.regions {
            let level0 = scale_rect(*region, overview.dimensions(), (width, height));
            plan.extend(plan_fragments(
                &stem,
                level0,
                downsample,
                args.max_fragment,
            )?);
        }
        let bar = progress::bar(plan.len() as u64, "fragments", args.quiet);
        let mut fragments = Vec::with_capacity(plan.len());
        for fragment in plan {
            let pixels = match crop_from_overview(&overview, (width, height), &fragment) {
                Some(pixels) => pixels,
                None => read_fragment(&mut slide, &fragment)?,
            };
            let file = fragment.file_name(style, "jpg");
            write_jpeg(&pixels, &args.output.join(&file), args.quality)?;
            fragments.push(ManifestFragment { file, fragment });
            bar.inc(1);
        }
        bar.finish_and_clear();
        super::report_damage(&slide);
        for writer in [overview_writer, regions_writer] {
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("a JPEG writer thread panicked"))??;
        }
        Ok(ManifestSlide {
            slide: path.display().to_string(),
            width,
            height,
            overview: Some(overview_name.clone()),
            overview_downsample: Some(overview_downsample),
            regions_image: Some(regions_name.clone()),
            regions: stages
                .regions
                .iter()
                .map(|r| scale_rect(*r, overview.dimensions(), (width, height)))
                .collect(),
            fragments,
        })
    })
}

fn write_jpeg(image: &RgbImage, path: &Path, quality: u8) -> anyhow::Result<()> {
    let bytes = histoseg_core::jpeg::encode(image, quality)
        .with_context(|| format!("cannot encode {}", path.display()))?;
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The overview with each box outlined in green, 2 px wide.
fn draw_boxes(overview: &RgbImage, boxes: &[Rect]) -> RgbImage {
    let mut out = overview.clone();
    let bounds = Rect::new(0, 0, out.width(), out.height());
    for r in boxes {
        let t = 2.min(r.w).min(r.h);
        let edges = [
            Rect::new(r.x, r.y, r.w, t),
            Rect::new(r.x, (r.bottom() - u64::from(t)) as u32, r.w, t),
            Rect::new(r.x, r.y, t, r.h),
            Rect::new((r.right() - u64::from(t)) as u32, r.y, t, r.h),
        ];
        for edge in edges.iter().filter_map(|e| e.intersection(&bounds)) {
            for y in edge.y..edge.y + edge.h {
                for x in edge.x..edge.x + edge.w {
                    out.put_pixel(x, y, Rgb([0, 200, 0]));
                }
            }
        }
    }
    out
}

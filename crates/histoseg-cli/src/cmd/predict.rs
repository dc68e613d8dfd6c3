//! `histoseg predict`: nuclei on images or slide fragments: mask, instance labels (16-bit PNG
//! and a coloured picture) and centre points as GeoJSON (in level-0 slide coordinates when the
//! file name carries a fragment's).

use std::path::{Path, PathBuf};

use anyhow::Context;
use anyhow::bail;
use histoseg_core::annotations::{Annotation, Geometry, geojson};
use histoseg_core::fragment::Fragment;
use histoseg_core::instances::LabelMap;
use histoseg_core::nuclei::summary_csv;
use image::{ImageBuffer, Luma, Rgb, RgbImage};

use super::model_args::{DeviceArgs, load_predictor};
use super::predict_slide;

/// Arguments of `histoseg predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A model file (.hsm) or a run folder; default: the shipped model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Images, fragments (names made by `histoseg extract` map points to the slide) or whole
    /// slides (Aperio, OME-TIFF, pyramids): a slide is predicted over its tissue, window by
    /// window, into outlined, measured nuclei and `summary.csv`.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// On slides: predict in this level-0 rectangle `x,y,w,h` instead of the detected tissue
    /// (and take every input as a slide).
    #[arg(long, value_parser = super::predict_slide::parse_region)]
    region: Option<histoseg_core::rect::Rect>,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    #[command(flatten)]
    device: DeviceArgs,
    /// Probability threshold (default: the model's).
    #[arg(long)]
    threshold: Option<f32>,
    /// Smallest nucleus in pixels (default: the model's).
    #[arg(long)]
    min_area: Option<u32>,
    /// Also write the probability map as `<stem>.probabilities.npy` (float32, height x width).
    #[arg(long)]
    probabilities: bool,
    /// Test-time augmentation: average the model over the eight D4 symmetries.
    #[arg(long)]
    tta: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// A float32 map in NumPy's `.npy` format (version 1.0: magic, header dict padded to 64 bytes,
/// little-endian data), which numpy.load and our browser tests read. Written by hand: the
/// format is a dozen lines, and the npy crates pull in an array library we do not use.
fn npy(map: &histoseg_model::weight_map::FloatMap) -> Vec<u8> {
    let (w, h) = map.dimensions();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + map.as_raw().len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in map.as_raw() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Colours each instance from its label, for a look.
fn instance_image(labels: &LabelMap) -> RgbImage {
    RgbImage::from_fn(labels.width(), labels.height(), |x, y| {
        let l = labels.get_pixel(x, y)[0];
        if l == 0 {
            return Rgb([0, 0, 0]);
        }
        let h = l.wrapping_mul(2_654_435_761);
        Rgb([
            64 + (h >> 24) as u8 % 192,
            64 + (h >> 16) as u8 % 192,
            64 + (h >> 8) as u8 % 192,
        ])
    })
}

/// The labels as a 16-bit grey image, refused beyond 65,535 nuclei.
fn labels_png(labels: &LabelMap, count: usize) -> anyhow::Result<ImageBuffer<Luma<u16>, Vec<u16>>> {
    if count > usize::from(u16::MAX) {
        bail!(
            "{count} nuclei do not fit a 16-bit label image (at most 65,535): predict on smaller fragments"
        );
    }
    Ok(ImageBuffer::from_fn(
        labels.width(),
        labels.height(),
        |x, y| Luma([labels.get_pixel(x, y)[0] as u16]),
    ))
}

/// Runs `histoseg predict`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let device = args.device.open()?;
    let mut predictor = load_predictor(args.model.as_deref(), &device)?;
    predictor.tta = args.tta;
    if let Some(t) = args.threshold {
        predictor.spec.threshold = t;
    }
    if let Some(a) = args.min_area {
        predictor.spec.min_area = a;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut total = 0;
    let mut summaries = Vec::new();
    for path in &args.images {
        if let Some(slide) = predict_slide::open_if_slide(path, args.region.is_some())? {
            let summary =
                predict_slide::run(&predictor, path, slide, args.region, &args.out, args.quiet)?;
            total += summary.total() as usize;
            summaries.push(summary);
            continue;
        }
        let image = image::open(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .to_rgb8();
        let bar = crate::progress::bar(1, "predict", args.quiet);
        let prediction = predictor.predict(&image, &mut |done, n| {
            bar.set_length(n as u64);
            bar.set_position(done as u64);
            true
        })?;
        bar.finish_and_clear();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let write =
            |suffix: &str, f: &dyn Fn(&Path) -> image::ImageResult<()>| -> anyhow::Result<()> {
                let p = args.out.join(format!("{stem}.{suffix}"));
                f(&p).with_context(|| format!("cannot write {}", p.display()))
            };
        write("mask.png", &|p| prediction.mask.save(p))?;
        if args.probabilities {
            let p = args.out.join(format!("{stem}.probabilities.npy"));
            std::fs::write(&p, npy(&prediction.probabilities))
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        let labels = labels_png(&prediction.labels, prediction.nuclei.len())?;
        write("labels.png", &|p| labels.save(p))?;
        write("instances.png", &|p| {
            instance_image(&prediction.labels).save(p)
        })?;
        let fragment = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| Fragment::parse(n).ok());
        let points: Vec<Annotation> = prediction
            .nuclei
            .iter()
            .map(|n| {
                let a = Annotation::new("nucleus", Geometry::Point { x: n.x, y: n.y });
                match &fragment {
                    Some(f) => a.to_slide(f),
                    None => a,
                }
            })
            .collect();
        let geo = args.out.join(format!("{stem}.nuclei.geojson"));
        std::fs::write(&geo, geojson::write(&points))
            .with_context(|| format!("cannot write {}", geo.display()))?;
        outln!(
            "{}: {} nuclei{} -> {}",
            path.display(),
            points.len(),
            if fragment.is_some() {
                " (slide coordinates)"
            } else {
                ""
            },
            geo.display()
        );
        total += points.len();
    }
    if !summaries.is_empty() {
        let file = args.out.join("summary.csv");
        std::fs::write(&file, summary_csv(&summaries))
            .with_context(|| format!("cannot write {}", file.display()))?;
        outln!(
            "{} slide(s) summarised in {}",
            summaries.len(),
            file.display()
        );
    }
    outln!("{} image(s), {total} nuclei", args.images.len());
    Ok(())
}

//! `histoseg annotations`: annotations made on fragment images, brought back onto the slide.
//!
//! - `convert`: read Makesense.AI exports of fragments (`--from`), find each fragment in
//!   `--fragments DIR` (its `manifest.json` and file names) and write the annotations in level-0
//!   slide pixels as QuPath GeoJSON, COCO or CSV (`--to`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use histoseg_core::annotations::makesense::{self, Format, yolo};
use histoseg_core::annotations::{Annotation, FragmentLookup, Imported, coco, csv, geojson};
use histoseg_core::safe_name::safe_file_name;

/// Arguments of `histoseg annotations`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AnnotationsCommand,
}

#[derive(Debug, Subcommand)]
enum AnnotationsCommand {
    /// Map Makesense.AI exports made on fragment images onto the slide (level-0 pixels).
    Convert(ConvertArgs),
}

/// Makesense's export formats, for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    /// Rectangles: one `<image>.txt` per image (`class x_c y_c w h`, normalised) + labels.txt.
    Yolo,
    /// Rectangles: one Pascal VOC `<image>.xml` per image.
    Voc,
    /// Rectangles: `label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height`.
    CsvRects,
    /// Points: `label_name,point_x,point_y,image_name,image_width,image_height`.
    CsvPoints,
    /// Polygons: one COCO JSON.
    Coco,
    /// Polygons: one VGG (VIA) JSON.
    Vgg,
}

impl Source {
    fn format(self) -> Format {
        match self {
            Source::Yolo => Format::Yolo,
            Source::Voc => Format::Voc,
            Source::CsvRects => Format::CsvRects,
            Source::CsvPoints => Format::CsvPoints,
            Source::Coco => Format::Coco,
            Source::Vgg => Format::Vgg,
        }
    }
}

/// Slide-level output formats, for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// QuPath-importable GeoJSON FeatureCollection.
    Geojson,
    /// COCO JSON with the slide as its one image.
    Coco,
    /// `class,shape,x,y,width,height,vertices`.
    Csv,
}

impl Target {
    fn extension(self) -> &'static str {
        match self {
            Target::Geojson => "geojson",
            Target::Coco => "json",
            Target::Csv => "csv",
        }
    }
}

/// Arguments of `histoseg annotations convert`.
#[derive(Debug, clap::Args)]
struct ConvertArgs {
    /// Export files (for YOLO: the `.txt` files, each named after its fragment image).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The folder `histoseg extract` wrote: fragments are looked up by file name in its
    /// manifest.json and among its files.
    #[arg(long)]
    fragments: PathBuf,
    /// Makesense.AI export format of FILE.
    #[arg(long, value_enum)]
    from: Source,
    /// YOLO's class names, one a line (default: a FILE named labels.txt, or labels.txt beside
    /// the first FILE).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "geojson")]
    to: Target,
    /// Output file; when the annotations belong to several slides, a folder receiving one
    /// `{slide}.{geojson|json|csv}` per slide.
    #[arg(short, long)]
    output: PathBuf,
    /// Treat warnings (coordinates outside a fragment, image sizes that differ) as errors.
    #[arg(long)]
    strict: bool,
}

/// Runs `histoseg annotations`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        AnnotationsCommand::Convert(args) => convert(args),
    }
}

fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let lookup = load_lookup(&args.fragments)?;
    let format = args.from.format();
    let (labels, files) = if format == Format::Yolo {
        yolo_labels(&args)?
    } else {
        (Vec::new(), args.files.clone())
    };
    let mut imported = Imported::default();
    for file in &files {
        let text = read_text(file)?;
        imported.extend(makesense::read(
            format,
            &file.display().to_string(),
            &text,
            &labels,
            &lookup,
        )?);
    }
    for warning in &imported.warnings {
        eprintln!("warning: {warning}");
    }
    if args.strict && !imported.warnings.is_empty() {
        bail!(
            "{} warning(s) and --strict: nothing written",
            imported.warnings.len()
        );
    }
    let written = match imported.slides.len() {
        0 => {
            eprintln!("warning: the exports hold no annotations");
            write_slide(&args, &lookup, None, &[], &args.output)?;
            vec![args.output.clone()]
        }
        1 => {
            let (slide, annotations) = imported.slides.iter().next().context("one slide")?;
            write_slide(&args, &lookup, Some(slide), annotations, &args.output)?;
            vec![args.output.clone()]
        }
        _ => {
            fs::create_dir_all(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?;
            let mut paths = Vec::new();
            for (slide, annotations) in &imported.slides {
                // The slide's name comes from manifest.json: never let it reach outside -o.
                let name = safe_file_name(slide).with_context(|| {
                    format!("the slide name {slide:?} in the manifest cannot be a file name")
                })?;
                let path = args.output.join(format!("{name}.{}", args.to.extension()));
                if paths.contains(&path) {
                    bail!(
                        "two slides of the manifest would both be written to {}",
                        path.display()
                    );
                }
                write_slide(&args, &lookup, Some(slide), annotations, &path)?;
                paths.push(path);
            }
            paths
        }
    };
    outln!(
        "{} annotation(s) from {} file(s) onto {} slide(s), {} warning(s): {}",
        imported.len(),
        files.len(),
        imported.slides.len(),
        imported.warnings.len(),
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Fragments named by the files of `dir` and by its manifest.json, if any.
fn load_lookup(dir: &Path) -> anyhow::Result<FragmentLookup> {
    let names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("cannot read the fragments folder {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let mut lookup = FragmentLookup::from_names(&names);
    let manifest = dir.join("manifest.json");
    if manifest.is_file() {
        lookup.add_manifest(&manifest.display().to_string(), &read_text(&manifest)?)?;
    }
    if lookup.is_empty() {
        bail!(
            "{} holds no fragments (no manifest.json and no file named like \
             'slide [d=4,x=..,y=..,w=..,h=..].jpg'); pass the folder `histoseg extract` wrote",
            dir.display()
        );
    }
    Ok(lookup)
}

/// YOLO's labels and the files left to read.
fn yolo_labels(args: &ConvertArgs) -> anyhow::Result<(Vec<String>, Vec<PathBuf>)> {
    let is_labels = |p: &PathBuf| p.file_name().is_some_and(|n| n == "labels.txt");
    let files: Vec<PathBuf> = args
        .files
        .iter()
        .filter(|p| !is_labels(p))
        .cloned()
        .collect();
    let labels_path = match &args.labels {
        Some(path) => path.clone(),
        None => match args.files.iter().find(|p| is_labels(p)) {
            Some(path) => path.clone(),
            None => {
                let beside = files
                    .first()
                    .and_then(|f| f.parent())
                    .map(|dir| dir.join("labels.txt"))
                    .filter(|p| p.is_file());
                beside.context(
                    "YOLO class ids need their names: pass --labels FILE or a labels.txt among \
                     the files",
                )?
            }
        },
    };
    let labels = yolo::parse_labels(&read_text(&labels_path)?);
    if labels.is_empty() {
        bail!("{} names no classes", labels_path.display());
    }
    Ok((labels, files))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

fn write_slide(
    args: &ConvertArgs,
    lookup: &FragmentLookup,
    slide: Option<&str>,
    annotations: &[Annotation],
    path: &Path,
) -> anyhow::Result<()> {
    let text = match args.to {
        Target::Geojson => geojson::write(annotations),
        Target::Csv => csv::write(annotations),
        Target::Coco => {
            let name = slide.unwrap_or("slide");
            let size = slide.and_then(|s| lookup.slide_size(s));
            if size.is_none() {
                eprintln!(
                    "warning: the size of slide '{name}' is unknown (no manifest.json entry); \
                     COCO image width and height are written as 0"
                );
            }
            coco::write(name, size.unwrap_or((0, 0)), annotations)
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

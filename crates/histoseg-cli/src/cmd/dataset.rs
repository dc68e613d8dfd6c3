//! `histoseg dataset`: build the paper's datasets (Tables 2 and 3) from BreCaHAD-style data or
//! other nuclei datasets, summarise a built one, and compare sample counts with the paper.
//!
//! - `build`: read a folder (`--layout`), optionally preprocess, make square, cut by a scheme,
//!   optionally drop empty samples, split by source image and write `images/`, `masks/` and
//!   `dataset.json`.
//! - `stats`: samples per split and the share of empty ones, from `dataset.json`.
//! - `table`: the sample counts of the paper's nine variants for the folder's images, for all
//!   162 BreCaHAD images (from `all_cells.csv`, without the images) and from the paper.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use histoseg_core::dataset::all_cells::AllCells;
use histoseg_core::dataset::from_slide::{AreaOptions, annotated_areas};
use histoseg_core::dataset::layout::{self, Layout, ReadOptions};
use histoseg_core::dataset::manifest::{MANIFEST_VERSION, Manifest, SampleRecord};
use histoseg_core::dataset::points::DEFAULT_RADIUS_PX;
use histoseg_core::dataset::split::{Split, patch_split_leak, split_groups};
use histoseg_core::dataset::square::SquareMode;
use histoseg_core::dataset::tiling::Scheme;
use histoseg_core::dataset::{PrepareOptions, SampleCount, count_samples, cut, prepare};
use histoseg_core::safe_name::safe_file_name;
use serde::Serialize;

/// Arguments of `histoseg dataset`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DatasetCommand,
}

#[derive(Debug, Subcommand)]
enum DatasetCommand {
    /// Build a dataset: images, masks and dataset.json.
    Build(BuildArgs),
    /// Samples per split and the share of empty samples of a built dataset.
    Stats(StatsArgs),
    /// Sample counts of the paper's nine variants (Table 2): for the folder's images, for all
    /// of BreCaHAD from its all_cells.csv, and the paper's.
    Table(TableArgs),
}

/// The layouts, for clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    /// images/ + groundTruth/*.json (normalised nucleus points per class).
    Brecahad,
    /// Slide_NN/*.png + GT_NN/*.png masks; split by slide.
    Tnbc,
    /// Tissue_Images/*.tif + Binary_masks/*.png.
    Monuseg,
    /// images/ + masks/ with matching names.
    Folder,
    /// A slide (DIR) and the annotations made on it (a GeoJSON file in level-0 pixels, the
    /// second argument): each cluster of annotations becomes one source image.
    Geojson,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Layout {
        match l {
            LayoutArg::Brecahad => Layout::Brecahad,
            LayoutArg::Tnbc => Layout::Tnbc,
            LayoutArg::Monuseg => Layout::Monuseg,
            // A slide's annotated areas are written out as a folder first (`materialise`).
            LayoutArg::Folder | LayoutArg::Geojson => Layout::Folder,
        }
    }
}

fn parse_scheme(s: &str) -> Result<Scheme, String> {
    s.parse().map_err(|e: histoseg_core::Error| e.to_string())
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not a fraction in [0, 1]"))
    }
}

/// Options shared by `build` and `table`: where the data is and how masks and squares are
/// made.
#[derive(Debug, clap::Args)]
struct SourceArgs {
    /// The dataset folder (with --layout geojson: the slide).
    dir: PathBuf,
    /// With --layout geojson: the slide's annotations (QuPath GeoJSON, level-0 pixels).
    #[arg(required_if_eq("layout", "geojson"))]
    annotations: Option<PathBuf>,
    /// How the folder is organised.
    #[arg(long, value_enum)]
    layout: LayoutArg,
    /// BreCaHAD classes drawn into the masks (the paper: tumor and non_tumor).
    #[arg(long, value_delimiter = ',', default_values = ["tumor", "non_tumor"])]
    classes: Vec<String>,
    /// Radius in source pixels of the disk drawn around each annotated point (16: the disk
    /// inscribed in BreCaHAD's median nucleus box, 37x36 px, less a margin).
    #[arg(long, default_value_t = DEFAULT_RADIUS_PX)]
    radius: f32,
    /// Make images N x N (default: 1024 for brecahad, as the paper did; none otherwise).
    #[arg(long, value_name = "N")]
    square: Option<u32>,
    /// Keep the images' size (no square step, even for brecahad).
    #[arg(long, conflicts_with = "square")]
    no_square: bool,
    /// Square by a centre crop instead of resizing the whole image.
    #[arg(long)]
    crop: bool,
    /// Fraction of source images (TNBC: slides) for training.
    #[arg(long, default_value_t = 0.8, value_parser = parse_fraction)]
    split: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Put exactly these groups (images; TNBC: slides such as Slide_07) in the test split,
    /// instead of a random split.
    #[arg(long, value_delimiter = ',')]
    test_groups: Vec<String>,
}

impl SourceArgs {
    fn layout(&self) -> Layout {
        self.layout.into()
    }

    fn square(&self) -> Option<(u32, SquareMode)> {
        let mode = if self.crop {
            SquareMode::CentreCrop
        } else {
            SquareMode::Resize
        };
        if self.no_square {
            return None;
        }
        match (self.square, self.layout) {
            (Some(n), _) => Some((n, mode)),
            (None, LayoutArg::Brecahad) => Some((1024, mode)),
            (None, _) => None,
        }
    }

    fn read_options(&self) -> anyhow::Result<ReadOptions> {
        if !(self.radius.is_finite() && self.radius >= 0.0) {
            bail!(
                "--radius {} is not a non-negative number of pixels",
                self.radius
            );
        }
        Ok(ReadOptions {
            classes: self.classes.clone(),
            radius_px: self.radius,
        })
    }

    /// The side of every group: `--test-groups` when given, else a seeded random split.
    fn sides(
        &self,
        scan: &layout::Scan,
    ) -> anyhow::Result<std::collections::BTreeMap<String, Split>> {
        let groups: Vec<String> = scan.items.iter().map(|i| i.group.clone()).collect();
        if self.test_groups.is_empty() {
            return Ok(split_groups(&groups, self.split, self.seed)?);
        }
        if let Some(unknown) = self.test_groups.iter().find(|g| !groups.contains(g)) {
            bail!(
                "--test-groups: {unknown:?} is not a group of {}",
                self.dir.display()
            );
        }
        Ok(groups
            .into_iter()
            .map(|g| {
                let side = if self.test_groups.contains(&g) {
                    Split::Test
                } else {
                    Split::Train
                };
                (g, side)
            })
            .collect())
    }

    /// Scans the folder, printing its warnings, and fails when nothing is usable.
    fn scan(&self) -> anyhow::Result<layout::Scan> {
        let scan = layout::scan(self.layout(), &self.dir)
            .with_context(|| format!("cannot read the {} dataset", self.layout()))?;
        for w in &scan.warnings {
            eprintln!("warning: {w}");
        }
        if scan.items.is_empty() {
            bail!("{}: no image with an annotation found", self.dir.display());
        }
        Ok(scan)
    }
}

/// Arguments of `histoseg dataset build`.
#[derive(Debug, clap::Args)]
struct BuildArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Tiling scheme: original, grid2 (the paper's "1/4"), 512p256s, 256p128s, 128p64s or any
    /// NpMs (patch N, stride M).
    #[arg(long, value_parser = parse_scheme)]
    scheme: Scheme,
    /// Leave out samples whose mask is empty (the paper's "zero" variants).
    #[arg(long)]
    drop_empty: bool,
    /// Run the preprocessing chain (Gaussian 5x5, sharpen 3x3, median 3x3) first.
    #[arg(long)]
    prep: bool,
    /// Output folder (created; must not hold a dataset.json unless --force).
    #[arg(short, long)]
    out: PathBuf,
    /// Overwrite a dataset already in the output folder.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// Arguments of `histoseg dataset stats`.
#[derive(Debug, clap::Args)]
struct StatsArgs {
    /// A built dataset folder (or its dataset.json).
    dataset: PathBuf,
}

/// Arguments of `histoseg dataset table`.
#[derive(Debug, clap::Args)]
struct TableArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// BreCaHAD's all_cells.csv (every cell of all 162 images): adds a column counting the
    /// variants for every image it lists, made by the same rules from its box centres, without
    /// the images (default: DIR/all_cells.csv when present; brecahad layout only).
    #[arg(long, value_name = "FILE")]
    all_cells: Option<PathBuf>,
    /// Print the table as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
}

/// Runs a `dataset` subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        DatasetCommand::Build(a) => build(a),
        DatasetCommand::Stats(a) => stats(a),
        DatasetCommand::Table(a) => table(a),
    }
}

/// Writes the annotated areas of the slide `args.source.dir` with their masks under
/// `OUT/sources/` (`images/`, `masks/`, named after the slide and each area's level-0
/// rectangle) and returns that folder.
fn materialise(args: &BuildArgs) -> anyhow::Result<PathBuf> {
    let src = &args.source;
    let file = src
        .annotations
        .as_ref()
        .context("--layout geojson needs the annotations file after the slide")?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let annotations =
        histoseg_core::annotations::geojson::read(&file.display().to_string(), &text)?;
    let mut slide = histoseg_core::slide::Slide::open_path(&src.dir)?;
    let options = AreaOptions {
        radius_px: src.radius,
        ..AreaOptions::default()
    };
    let (areas, skipped) = annotated_areas(&mut slide, &annotations, &options)?;
    if skipped > 0 {
        eprintln!(
            "warning: {skipped} annotation(s) of {} lie outside the slide or have no finite \
             coordinates; skipped",
            file.display()
        );
    }
    if areas.is_empty() {
        bail!(
            "{}: no annotation on the slide {}",
            file.display(),
            src.dir.display()
        );
    }
    let slide_stem = src
        .dir
        .file_stem()
        .and_then(|s| safe_file_name(&s.to_string_lossy()))
        .unwrap_or_else(|| "slide".into());
    let sources = args.out.join("sources");
    for sub in ["images", "masks"] {
        let d = sources.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    for a in &areas {
        let r = a.rect;
        let name = format!("{slide_stem}__x{}_y{}_w{}_h{}.png", r.x, r.y, r.w, r.h);
        for (sub, result) in [
            ("images", a.image.save(sources.join("images").join(&name))),
            ("masks", a.mask.save(sources.join("masks").join(&name))),
        ] {
            result.with_context(|| format!("cannot write {}/{sub}/{name}", sources.display()))?;
        }
    }
    eprintln!(
        "{} annotated area(s) from {} annotation(s) of {}",
        areas.len(),
        annotations.len() - skipped,
        file.display()
    );
    Ok(sources)
}

fn build(mut args: BuildArgs) -> anyhow::Result<()> {
    let manifest_path = args.out.join("dataset.json");
    if manifest_path.exists() && !args.force {
        bail!(
            "{} already exists (use --force to overwrite)",
            manifest_path.display()
        );
    }
    if args.source.layout == LayoutArg::Geojson {
        args.source.dir = materialise(&args)?;
        args.source.layout = LayoutArg::Folder;
    }
    let src = &args.source;
    let opts = src.read_options()?;
    let scan = src.scan()?;
    for sub in ["images", "masks"] {
        let d = args.out.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let sides = src.sides(&scan)?;
    let prep = PrepareOptions {
        prep: args.prep,
        square: src.square(),
    };

    let bar = crate::progress::bar(scan.items.len() as u64, "build", args.quiet);
    let mut samples = Vec::new();
    for item in &scan.items {
        bar.set_message(item.name.clone());
        let (image, mask) = item.read(&opts)?;
        let (image, mask) =
            prepare(&image, &mask, prep).with_context(|| item.image.display().to_string())?;
        let patches = cut(&image, &mask, args.scheme, args.drop_empty)
            .with_context(|| format!("{}: scheme {}", item.image.display(), args.scheme))?;
        let split = sides.get(&item.group).copied().unwrap_or(Split::Train);
        for p in patches {
            let r = p.rect;
            let stem = format!("{}__x{}_y{}_{}x{}", item.name, r.x, r.y, r.w, r.h);
            let rel_image = format!("images/{stem}.png");
            let rel_mask = format!("masks/{stem}.png");
            let path = args.out.join(&rel_image);
            p.image
                .save(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let path = args.out.join(&rel_mask);
            p.mask
                .save(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            samples.push(SampleRecord {
                image: rel_image,
                mask: rel_mask,
                source: item.name.clone(),
                group: item.group.clone(),
                rect: r,
                split,
                empty: p.empty,
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let rects: Vec<(String, _)> = samples.iter().map(|s| (s.source.clone(), s.rect)).collect();
    let leak = patch_split_leak(&rects, src.split, src.seed)?;
    let square = src.square();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        layout: src.layout().to_string(),
        source_dir: src.dir.display().to_string(),
        scheme: args.scheme,
        drop_empty: args.drop_empty,
        prep: args.prep,
        square: square.map(|(n, _)| n),
        square_mode: square.map(|(_, m)| m).unwrap_or_default(),
        classes: if src.layout() == Layout::Brecahad {
            src.classes.clone()
        } else {
            Vec::new()
        },
        radius_px: src.radius,
        train_fraction: src.split,
        seed: src.seed,
        warnings: scan.warnings.clone(),
        patch_split_leak: leak,
        samples,
    };
    let json = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(&manifest_path, json)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;

    let st = manifest.stats();
    let (train, test) = (st[&Split::Train], st[&Split::Test]);
    outln!(
        "{}: {} samples ({} train from {} images, {} test from {} images), scheme {}{}{}",
        args.out.display(),
        train.samples + test.samples,
        train.samples,
        train.sources,
        test.samples,
        test.sources,
        args.scheme,
        if args.drop_empty {
            ", empty dropped"
        } else {
            ""
        },
        if args.prep { ", preprocessed" } else { "" },
    );
    print_leak(&manifest)?;
    if !scan.warnings.is_empty() {
        outln!(
            "{} file(s) skipped, listed in dataset.json and above",
            scan.warnings.len()
        );
    }
    Ok(())
}

fn print_leak(m: &Manifest) -> std::io::Result<()> {
    let l = m.patch_split_leak;
    outln!(
        "a random split over patches (the paper's) would leak: {} of {} test patches overlap a \
         training patch of the same image; {} share their image with training (here: 0, split by {})",
        l.overlapping_train,
        l.test_patches,
        l.same_image_as_train,
        if m.layout == "tnbc" { "slide" } else { "image" },
    );
    Ok(())
}

fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let path = if args.dataset.is_dir() {
        args.dataset.join("dataset.json")
    } else {
        args.dataset.clone()
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let m: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a histoseg dataset.json", path.display()))?;
    let root = path.parent().unwrap_or(Path::new("."));
    let st = m.stats();
    outln!(
        "{} ({}, {}{}{}{})",
        root.display(),
        m.layout,
        m.scheme,
        if m.drop_empty { ", empty dropped" } else { "" },
        if m.prep { ", preprocessed" } else { "" },
        m.square
            .map(|n| format!(", square {n}"))
            .unwrap_or_default(),
    );
    outln!(
        "{:<6} {:>8} {:>7} {:>8} {:>7} {:>7}",
        "split",
        "samples",
        "empty",
        "empty %",
        "images",
        "groups"
    );
    let mut total = histoseg_core::dataset::manifest::SideStats::default();
    for (side, s) in &st {
        outln!(
            "{:<6} {:>8} {:>7} {:>8.1} {:>7} {:>7}",
            side.to_string(),
            s.samples,
            s.empty,
            100.0 * s.empty_share(),
            s.sources,
            s.groups
        );
        total.samples += s.samples;
        total.empty += s.empty;
        total.sources += s.sources;
        total.groups += s.groups;
    }
    outln!(
        "{:<6} {:>8} {:>7} {:>8.1} {:>7} {:>7}",
        "all",
        total.samples,
        total.empty,
        100.0 * total.empty_share(),
        total.sources,
        total.groups
    );
    print_leak(&m)?;
    let missing = m
        .samples
        .iter()
        .flat_map(|s| [&s.image, &s.mask])
        .filter(|f| !root.join(f).is_file())
        .count();
    if missing > 0 {
        outln!("warning: {missing} file(s) listed in dataset.json are missing");
    }
    if !m.warnings.is_empty() {
        outln!(
            "{} source file(s) were skipped when building:",
            m.warnings.len()
        );
        for w in &m.warnings {
            outln!("  {w}");
        }
    }
    Ok(())
}

/// The paper's sample counts, one per variant of [`VARIANTS`]: Table 2 (U-Net) and Table 3
/// (U-Net-ResNet50), as published.
const PAPER_TABLE_2: [usize; 9] = [162, 648, 635, 247, 286, 1349, 1258, 6196, 4655];
const PAPER_TABLE_3: [usize; 9] = [162, 453, 435, 247, 228, 1190, 1190, 5103, 4655];

/// The paper's nine variants: the whole image, then each of four schemes with all samples and
/// with empty ones dropped ("zero").
const VARIANTS: [(usize, bool); 9] = [
    (0, false),
    (1, false),
    (1, true),
    (2, false),
    (2, true),
    (3, false),
    (3, true),
    (4, false),
    (4, true),
];

/// One row of the table, as `--json` prints it.
#[derive(Debug, Serialize)]
struct VariantRow {
    variant: String,
    scheme: Scheme,
    drop_empty: bool,
    samples: usize,
    train: usize,
    test: usize,
    /// Over every image of all_cells.csv; `None` without one.
    all_cells: Option<usize>,
    /// The paper's Table 2 (U-Net).
    paper_unet: usize,
    /// The paper's Table 3 (U-Net-ResNet50).
    paper_resnet50: usize,
}

/// Where the all-images column comes from, as `--json` prints it.
#[derive(Debug, Serialize)]
struct AllCellsSource {
    file: String,
    images: usize,
    cells: usize,
}

/// The whole table, as `--json` prints it.
#[derive(Debug, Serialize)]
struct TableJson {
    source_dir: String,
    layout: String,
    images: usize,
    square: Option<u32>,
    square_mode: SquareMode,
    classes: Vec<String>,
    radius_px: f32,
    train_fraction: f64,
    seed: u64,
    all_cells: Option<AllCellsSource>,
    variants: Vec<VariantRow>,
    notes: Vec<String>,
}

/// Where the paper's tables disagree with the counts of every image by our rules, and with
/// themselves. `all` holds the all-images column when all_cells.csv was read.
fn paper_notes(variants: &[VariantRow]) -> Vec<String> {
    let mut notes = Vec::new();
    if variants.iter().any(|v| v.all_cells.is_some()) {
        let differ: Vec<String> = variants
            .iter()
            .filter_map(|v| {
                let all = v.all_cells?;
                (all != v.paper_unet || all != v.paper_resnet50).then(|| {
                    format!(
                        "{} (all images {all}, paper {} / {})",
                        v.variant, v.paper_unet, v.paper_resnet50
                    )
                })
            })
            .collect();
        if !differ.is_empty() {
            notes.push(format!(
                "the paper's counts differ from every image's count by the same rules for: {}; \
                 its patch counts are far below 162 images x patches per image, so the paper \
                 cut or selected patches in a way it does not describe",
                differ.join(", ")
            ));
        }
    }
    for (name, table) in [("Table 2", &PAPER_TABLE_2), ("Table 3", &PAPER_TABLE_3)] {
        for pair in VARIANTS
            .iter()
            .zip(table.iter())
            .collect::<Vec<_>>()
            .windows(2)
        {
            let ((&(scheme, false), &all), (&(same, true), &zero)) = (pair[0], pair[1]) else {
                continue;
            };
            if scheme == same && zero > all {
                notes.push(format!(
                    "the paper's {name} lists more samples with empty ones dropped ({zero}) than \
                     with all ({all}) for {}",
                    Scheme::PAPER[scheme]
                ));
            }
        }
    }
    let disagree: Vec<&str> = variants
        .iter()
        .filter(|v| v.paper_unet != v.paper_resnet50)
        .map(|v| v.variant.as_str())
        .collect();
    if !disagree.is_empty() {
        notes.push(format!(
            "the paper's Tables 2 and 3 give different counts for the same data in: {}",
            disagree.join(", ")
        ));
    }
    notes
}

/// The all_cells.csv to read: `--all-cells`, else `DIR/all_cells.csv` when it exists (brecahad
/// layout only).
fn all_cells_file(args: &TableArgs) -> anyhow::Result<Option<PathBuf>> {
    let src = &args.source;
    match (&args.all_cells, src.layout()) {
        (Some(file), Layout::Brecahad) => Ok(Some(file.clone())),
        (Some(_), layout) => bail!("--all-cells needs --layout brecahad (not {layout})"),
        (None, Layout::Brecahad) => {
            let file = src.dir.join("all_cells.csv");
            Ok(file.is_file().then_some(file))
        }
        (None, _) => Ok(None),
    }
}

/// Reads and checks an all_cells.csv.
fn read_all_cells(file: &Path) -> anyhow::Result<AllCells> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cells = AllCells::parse(&text, &file.display().to_string())?;
    if cells.is_empty() {
        bail!("{}: no cell listed", file.display());
    }
    Ok(cells)
}

/// Adds one image's counts to `counts[scheme]` = (all train, all test, labelled train,
/// labelled test).
fn add_counts(counts: &mut [[usize; 4]; 5], per_scheme: &[SampleCount], test: bool) {
    let test = usize::from(test);
    for (c, n) in counts.iter_mut().zip(per_scheme) {
        c[test] += n.all;
        c[2 + test] += n.labelled;
    }
}

fn table(args: TableArgs) -> anyhow::Result<()> {
    let src = &args.source;
    if src.layout == LayoutArg::Geojson {
        bail!("dataset table reads dataset folders, not --layout geojson");
    }
    let opts = src.read_options()?;
    // The CSV is read (and its errors reported) before the slower counting of the folder.
    let all_cells = match all_cells_file(&args)? {
        Some(file) => Some((read_all_cells(&file)?, file)),
        None => None,
    };
    let scan = src.scan()?;
    let sides = src.sides(&scan)?;
    let square = src.square();

    // counts[scheme] = (all train, all test, non-empty train, non-empty test)
    let mut counts = [[0usize; 4]; 5];
    let bar = crate::progress::bar(scan.items.len() as u64, "count", args.quiet);
    for item in &scan.items {
        bar.set_message(item.name.clone());
        let mask = item.read_mask(&opts)?;
        let per_scheme = count_samples(&mask, square, &Scheme::PAPER)
            .with_context(|| item.image.display().to_string())?;
        add_counts(
            &mut counts,
            &per_scheme,
            sides.get(&item.group) == Some(&Split::Test),
        );
        bar.inc(1);
    }
    bar.finish_and_clear();

    // The same counts for every image of all_cells.csv, from its points (no split: totals).
    let mut all_counts = [[0usize; 4]; 5];
    if let Some((cells, file)) = &all_cells {
        let bar = crate::progress::bar(cells.len() as u64, "all cells", args.quiet);
        for name in cells.images() {
            bar.set_message(name.to_owned());
            let mask = cells.mask(name, &opts.classes, opts.radius_px)?;
            let per_scheme = count_samples(&mask, square, &Scheme::PAPER)
                .with_context(|| format!("{}: image {name}", file.display()))?;
            add_counts(&mut all_counts, &per_scheme, false);
            bar.inc(1);
        }
        bar.finish_and_clear();
    }

    let variants: Vec<VariantRow> = VARIANTS
        .iter()
        .zip(PAPER_TABLE_2.iter().zip(PAPER_TABLE_3))
        .map(|(&(scheme_i, zero), (&paper_unet, paper_resnet50))| {
            let pick = |c: [usize; 4]| if zero { (c[2], c[3]) } else { (c[0], c[1]) };
            let (train, test) = pick(counts[scheme_i]);
            let scheme = Scheme::PAPER[scheme_i];
            VariantRow {
                variant: format!("{scheme}{}", if zero { " zero" } else { "" }),
                scheme,
                drop_empty: zero,
                samples: train + test,
                train,
                test,
                all_cells: all_cells.as_ref().map(|_| pick(all_counts[scheme_i]).0),
                paper_unet,
                paper_resnet50,
            }
        })
        .collect();
    let notes = paper_notes(&variants);

    if args.json {
        let out = TableJson {
            source_dir: src.dir.display().to_string(),
            layout: src.layout().to_string(),
            images: scan.items.len(),
            square: square.map(|(n, _)| n),
            square_mode: square.map(|(_, m)| m).unwrap_or_default(),
            classes: src.classes.clone(),
            radius_px: src.radius,
            train_fraction: src.split,
            seed: src.seed,
            all_cells: all_cells.as_ref().map(|(cells, file)| AllCellsSource {
                file: file.display().to_string(),
                images: cells.len(),
                cells: cells.cells(),
            }),
            variants,
            notes,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    outln!(
        "{} images from {} ({}), square {}, split {} by {} (seed {})",
        scan.items.len(),
        src.dir.display(),
        src.layout(),
        square
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| "none".into()),
        src.split,
        if src.layout() == Layout::Tnbc {
            "slide"
        } else {
            "image"
        },
        src.seed,
    );
    let all_header = all_cells
        .as_ref()
        .map(|(cells, _)| format!("all {}", cells.len()));
    if let (Some((cells, file)), Some(header)) = (&all_cells, &all_header) {
        let selected: usize = cells
            .images()
            .map(|name| cells.points(name, &opts.classes).map_or(0, |p| p.len()))
            .sum();
        outln!(
            "{header}: counts for every BreCaHAD image, from all_cells.csv ({}: {} images, {} \
             cells, {} of them {}), by the same rules, without the images",
            file.display(),
            cells.len(),
            cells.cells(),
            selected,
            src.classes.join(", "),
        );
    }
    let all_col = |v: String| {
        if all_header.is_some() {
            format!(" {v:>8}")
        } else {
            String::new()
        }
    };
    outln!(
        "{:<15} {:>8} {:>8} {:>8}{} {:>10} {:>10}",
        "variant",
        "samples",
        "train",
        "test",
        all_col(all_header.clone().unwrap_or_default()),
        "paper-unet",
        "paper-r50"
    );
    for row in &variants {
        outln!(
            "{:<15} {:>8} {:>8} {:>8}{} {:>10} {:>10}",
            row.variant,
            row.samples,
            row.train,
            row.test,
            all_col(row.all_cells.map(|n| n.to_string()).unwrap_or_default()),
            row.paper_unet,
            row.paper_resnet50
        );
    }
    outln!("paper-unet: the paper's Table 2 (U-Net); paper-r50: its Table 3 (U-Net-ResNet50)");
    for note in &notes {
        outln!("note: {note}");
    }
    Ok(())
}

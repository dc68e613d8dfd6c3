//! Dataset layouts on disk and their readers: BreCaHAD (images + JSON points), TNBC (slides +
//! ground-truth masks), MoNuSeg (tissue images + binary masks) and a plain image/mask folder.
//!
//! This is the one place of the dataset module that touches the file system. [`scan`] lists
//! the image/annotation pairs of a folder, warning (not failing) about images without an
//! annotation; [`SourceItem::read`] loads one pair as an RGB image (alpha dropped) and a 0/255
//! mask of the same size.
//!
//! | layout | images | annotations | group for the split |
//! |---|---|---|---|
//! | `brecahad` | `images/*.{tif,jpg,png}` | `groundTruth/<stem>.json` points | the image |
//! | `tnbc` | `Slide_NN/*.png` | `GT_NN/<same name>` masks | the slide `Slide_NN` |
//! | `monuseg` | `Tissue_Images/*.tif` | `Binary_masks/<stem>.png` masks | the image |
//! | `folder` | `images/*` | `masks/<stem>.*` masks | the image |

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use super::points::{self, DEFAULT_RADIUS_PX};
use crate::{Error, Result};

/// The image file extensions the readers pick up (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// How a dataset folder is organised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `images/` + `groundTruth/*.json` with normalised nucleus points per class.
    Brecahad,
    /// `Slide_NN/*.png` + `GT_NN/*.png` binary masks.
    Tnbc,
    /// `Tissue_Images/*.tif` + `Binary_masks/*.png`.
    Monuseg,
    /// `images/` + `masks/` with matching file stems.
    Folder,
}

impl Layout {
    /// All layouts.
    pub const ALL: [Layout; 4] = [
        Layout::Brecahad,
        Layout::Tnbc,
        Layout::Monuseg,
        Layout::Folder,
    ];
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Brecahad => "brecahad",
            Layout::Tnbc => "tnbc",
            Layout::Monuseg => "monuseg",
            Layout::Folder => "folder",
        })
    }
}

impl FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Layout::ALL
            .into_iter()
            .find(|l| l.to_string().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::InvalidParameter {
                name: "layout",
                problem: format!("'{s}' is not one of brecahad, tnbc, monuseg, folder"),
            })
    }
}

/// Where the labels of an image come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    /// A BreCaHAD JSON file of normalised points per class.
    Points(PathBuf),
    /// A mask image (non-zero = nucleus).
    Mask(PathBuf),
}

/// One image of a dataset with its annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceItem {
    /// A name unique within the dataset (the file stem), used for output names.
    pub name: String,
    /// The unit of the split: the image itself, or its TNBC slide.
    pub group: String,
    /// The image file.
    pub image: PathBuf,
    /// The annotation file.
    pub annotation: Annotation,
}

/// The pairs found in a folder, and what was skipped and why.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Usable image/annotation pairs, sorted by name.
    pub items: Vec<SourceItem>,
    /// One line per skipped file.
    pub warnings: Vec<String>,
}

/// How point annotations become masks.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// BreCaHAD classes whose points are drawn.
    pub classes: Vec<String>,
    /// Disk radius in source pixels.
    pub radius_px: f32,
}

impl Default for ReadOptions {
    /// The paper's classes (`tumor`, `non_tumor`) and [`DEFAULT_RADIUS_PX`].
    fn default() -> Self {
        Self {
            classes: vec!["tumor".to_string(), "non_tumor".to_string()],
            radius_px: DEFAULT_RADIUS_PX,
        }
    }
}

fn input_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::DatasetInput {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|k| k.eq_ignore_ascii_case(e)))
}

/// The files of a folder, sorted, hidden ones left out.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(input_error(dir, "folder not found"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| input_error(dir, e.to_string()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| input_error(dir, e.to_string()))?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Finds `dir/<stem>.<ext>` for the first extension that exists.
fn find_with_stem(dir: &Path, stem: &str, exts: &[&str]) -> Option<PathBuf> {
    exts.iter()
        .map(|e| dir.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

/// Pairs the images of `images` with annotations found by `find`, warning about the rest.
fn pair_up(
    images: &Path,
    group_of: impl Fn(&str) -> String,
    find: impl Fn(&Path, &str) -> Option<Annotation>,
    missing: impl Fn(&str) -> String,
    scan: &mut Scan,
) -> Result<()> {
    for image in files_in(images)?.into_iter().filter(|p| is_image(p)) {
        let name = stem(&image);
        match find(&image, &name) {
            Some(annotation) => scan.items.push(SourceItem {
                group: group_of(&name),
                name,
                image,
                annotation,
            }),
            None => scan.warnings.push(format!(
                "{}: no annotation file {}; skipped",
                image.display(),
                missing(&name)
            )),
        }
    }
    Ok(())
}

/// Lists the image/annotation pairs of a dataset folder.
///
/// Fails when the layout's folders are missing; an image without its annotation file, or a
/// second image with an already used name, is skipped with a warning in [`Scan::warnings`].
pub fn scan(layout: Layout, dir: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    match layout {
        Layout::Brecahad => {
            let gt = dir.join("groundTruth");
            if !gt.is_dir() {
                return Err(input_error(&gt, "folder not found (BreCaHAD layout)"));
            }
            pair_up(
                &dir.join("images"),
                str::to_string,
                |_, name| {
                    let p = gt.join(format!("{name}.json"));
                    p.is_file().then_some(Annotation::Points(p))
                },
                |name| gt.join(format!("{name}.json")).display().to_string(),
                &mut scan,
            )?;
        }
        Layout::Tnbc => {
            let slides: Vec<PathBuf> = files_in(dir)?
                .into_iter()
                .filter(|p| p.is_dir() && stem(p).starts_with("Slide_"))
                .collect();
            if slides.is_empty() {
                return Err(input_error(dir, "no Slide_NN folders (TNBC layout)"));
            }
            for slide in slides {
                let slide_name = stem(&slide);
                let gt = dir.join(slide_name.replacen("Slide_", "GT_", 1));
                if !gt.is_dir() {
                    scan.warnings.push(format!(
                        "{}: no mask folder {}; slide skipped",
                        slide.display(),
                        gt.display()
                    ));
                    continue;
                }
                pair_up(
                    &slide,
                    |_| slide_name.clone(),
                    |image, _| {
                        let p = gt.join(image.file_name()?);
                        p.is_file().then_some(Annotation::Mask(p))
                    },
                    |name| gt.join(format!("{name}.png")).display().to_string(),
                    &mut scan,
                )?;
            }
        }
        Layout::Monuseg => {
            let masks = dir.join("Binary_masks");
            if !masks.is_dir() {
                return Err(input_error(&masks, "folder not found (MoNuSeg layout)"));
            }
            pair_up(
                &dir.join("Tissue_Images"),
                str::to_string,
                |_, name| find_with_stem(&masks, name, &["png"]).map(Annotation::Mask),
                |name| masks.join(format!("{name}.png")).display().to_string(),
                &mut scan,
            )?;
        }
        Layout::Folder => {
            let masks = dir.join("masks");
            if !masks.is_dir() {
                return Err(input_error(&masks, "folder not found (folder layout)"));
            }
            pair_up(
                &dir.join("images"),
                str::to_string,
                |_, name| find_with_stem(&masks, name, &IMAGE_EXTENSIONS).map(Annotation::Mask),
                |name| masks.join(format!("{name}.*")).display().to_string(),
                &mut scan,
            )?;
        }
    }
    // Names become output file names: keep the first of any duplicates.
    let mut seen = BTreeSet::new();
    let mut items = Vec::with_capacity(scan.items.len());
    for item in std::mem::take(&mut scan.items) {
        if seen.insert(item.name.clone()) {
            items.push(item);
        } else {
            scan.warnings.push(format!(
                "{}: another image is already named '{}'; skipped",
                item.image.display(),
                item.name
            ));
        }
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    scan.items = items;
    Ok(scan)
}

fn open_image(path: &Path) -> Result<image::DynamicImage> {
    image::open(path).map_err(|e| input_error(path, format!("cannot read image: {e}")))
}

fn binarise(mask: GrayImage) -> GrayImage {
    let (w, h) = mask.dimensions();
    let raw = mask
        .into_raw()
        .into_iter()
        .map(|v| if v == 0 { 0 } else { 255 })
        .collect();
    GrayImage::from_raw(w, h, raw).unwrap_or_else(|| unreachable!("same length"))
}

impl SourceItem {
    /// The mask of a `width x height` image: points drawn as disks, or the mask file made
    /// 0/255 (any non-zero value, such as MoNuSeg's 1, is a nucleus).
    fn mask_for(&self, width: u32, height: u32, opts: &ReadOptions) -> Result<GrayImage> {
        match &self.annotation {
            Annotation::Points(file) => {
                let text = std::fs::read_to_string(file).map_err(|e| Error::Annotation {
                    file: file.display().to_string(),
                    problem: format!("cannot read: {e}"),
                })?;
                let pts =
                    points::parse_brecahad_json(&text, &opts.classes, &file.display().to_string())?;
                points::points_to_mask(width, height, &pts, opts.radius_px)
            }
            Annotation::Mask(file) => {
                let mask = binarise(open_image(file)?.to_luma8());
                if mask.dimensions() != (width, height) {
                    return Err(Error::MaskSize {
                        image: self.image.display().to_string(),
                        mask: file.display().to_string(),
                        image_w: width,
                        image_h: height,
                        mask_w: mask.width(),
                        mask_h: mask.height(),
                    });
                }
                Ok(mask)
            }
        }
    }

    /// The image (RGB, alpha dropped) and its 0/255 mask of the same size.
    pub fn read(&self, opts: &ReadOptions) -> Result<(RgbImage, GrayImage)> {
        let image = open_image(&self.image)?.to_rgb8();
        let mask = self.mask_for(image.width(), image.height(), opts)?;
        Ok((image, mask))
    }

    /// The mask alone, reading only the image's header for its size (for counting samples).
    pub fn read_mask(&self, opts: &ReadOptions) -> Result<GrayImage> {
        let (w, h) = image::image_dimensions(&self.image)
            .map_err(|e| input_error(&self.image, format!("cannot read image size: {e}")))?;
        self.mask_for(w, h, opts)
    }
}

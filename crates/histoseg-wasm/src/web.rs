//! The JavaScript-facing exports. `#[wasm_bindgen]` applies on wasm targets only, so the crate
//! also builds natively; the logic lives in the other modules and is tested there.
//!
//! Errors become JavaScript `Error`s carrying the core's message; structured results are plain
//! objects (field names as in the CLI's JSON), byte buffers `Uint8Array`s.

use histoseg_core::filters::{self, Image8};
use histoseg_core::fragment::{Fragment, NameStyle};
use histoseg_core::metrics::{self, PixelCounts, PixelSummary};
use histoseg_core::rect::Rect;
use histoseg_core::stain::StainMatrix;
use image::Pixel;
use serde::Serialize;
use serde::de::DeserializeOwned;
#[cfg(target_family = "wasm")]
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsError, JsValue};

use crate::annotations::{self, AnnotationValue, FragmentAnnotations, TextFile};
use crate::blob::{BlobSource, ReadAhead};
use crate::options::{DetectOptions, ExtractOptions, field_names};
use crate::pixels::{self, Filter};
use crate::reader::ByteCounter;
use crate::session::SlideSession;

/// Installs the panic hook (a panic then reaches the console with its message).
#[cfg_attr(target_family = "wasm", wasm_bindgen(start))]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The crate's version.
#[cfg_attr(target_family = "wasm", wasm_bindgen)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let s = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    Ok(value.serialize(&s)?)
}

pub(crate) fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("{what}: {e}")))
}

/// Options from a JavaScript object (`undefined` or `null`: the defaults); unknown keys are
/// refused, so a misspelt option is an error rather than silently ignored.
fn options<T: DeserializeOwned + Default>(value: JsValue) -> Result<T, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    let known = field_names::<T>();
    if let Some(object) = value.dyn_ref::<js_sys::Object>() {
        for key in js_sys::Object::keys(object).iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                return Err(JsError::new(&format!(
                    "options: unknown field `{key}`, expected one of {}",
                    known.join(", ")
                )));
            }
        }
    }
    from_js(value, "options")
}

/// An RGB picture as JavaScript sees it, serialised straight from the image's bytes.
#[derive(Serialize)]
struct Picture<'a> {
    width: u32,
    height: u32,
    #[serde(with = "serde_bytes")]
    pixels: &'a [u8],
}

impl<'a> From<&'a image::RgbImage> for Picture<'a> {
    fn from(img: &'a image::RgbImage) -> Self {
        Picture {
            width: img.width(),
            height: img.height(),
            pixels: img.as_raw(),
        }
    }
}

/// A slide opened from a `File` (or any `Blob`) inside a Web Worker.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = Slide))]
#[derive(Debug)]
pub struct WebSlide {
    session: SlideSession<ReadAhead<BlobSource>>,
    /// Bytes fetched from each of the slide's files.
    fetched: Vec<ByteCounter>,
    size: u64,
}

#[cfg_attr(target_family = "wasm", wasm_bindgen(js_class = Slide))]
impl WebSlide {
    /// Opens `file` (reading only its directories); `name` names it in errors and gives the
    /// fragments' stem.
    pub fn open(file: web_sys::Blob, name: &str) -> Result<WebSlide, JsError> {
        let (reader, fetched) = ReadAhead::new(BlobSource::new(file)?);
        let size = reader.size();
        let session = SlideSession::open(reader, name)?;
        Ok(WebSlide {
            session,
            fetched: vec![fetched],
            size,
        })
    }

    /// Opens a slide kept as several files (the DICOM files of one slide, in any order);
    /// `names` name each file in errors, `name` the slide.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = openFiles))]
    pub fn open_files(
        files: Vec<web_sys::Blob>,
        names: Vec<String>,
        name: &str,
    ) -> Result<WebSlide, JsError> {
        if files.len() != names.len() {
            return Err(JsError::new("one name is needed for each file"));
        }
        let mut readers = Vec::with_capacity(files.len());
        let mut fetched = Vec::with_capacity(files.len());
        let mut size = 0;
        for (file, n) in files.into_iter().zip(names) {
            let (reader, counter) = ReadAhead::new(BlobSource::new(file)?);
            size += reader.size();
            fetched.push(counter);
            readers.push((reader, n));
        }
        let session = SlideSession::open_files(readers, name)?;
        Ok(WebSlide {
            session,
            fetched,
            size,
        })
    }

    /// Levels, sizes, tiles, resolution and associated images (as `histoseg info --json`).
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(self.session.info())
    }

    /// The file name without its extension.
    pub fn stem(&self) -> String {
        self.session.stem().to_owned()
    }

    /// Bytes read from the file so far.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = bytesRead))]
    pub fn bytes_read(&self) -> f64 {
        self.fetched.iter().map(|c| c.get()).sum::<u64>() as f64
    }

    /// The file's size in bytes.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = fileSize))]
    pub fn file_size(&self) -> f64 {
        self.size as f64
    }

    /// A region of `level` in that level's pixels: `{width, height, pixels}` (RGB).
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = readRegion))]
    pub fn read_region(
        &mut self,
        level: usize,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    ) -> Result<JsValue, JsError> {
        let img = self
            .session
            .read_region(level, Rect::new(x, y, width, height))?;
        to_js(&Picture::from(&img))
    }

    /// The overview, at most `max_side` pixels on its long side: `{width, height, pixels}`.
    pub fn overview(&mut self, max_side: u32) -> Result<JsValue, JsError> {
        to_js(&Picture::from(self.session.overview(max_side)?))
    }

    /// Whether the overview of `max_side` is ready (made or joined) in this worker.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = hasOverview))]
    pub fn has_overview(&self, max_side: u32) -> bool {
        self.session.has_overview(max_side)
    }

    /// Share `part` of `parts` of the overview of `max_side`, made here (in a helper worker
    /// with its own copy of the slide) for `joinOverview` in the slide's own worker.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = overviewPart))]
    pub fn overview_part(
        &mut self,
        max_side: u32,
        part: u32,
        parts: u32,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .overview_part(max_side, part as usize, parts as usize)?,
        )
    }

    /// Makes share `part` of `parts` of the overview of `max_side` and keeps it here for
    /// `joinOverview`.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = keepOverviewPart))]
    pub fn keep_overview_part(
        &mut self,
        max_side: u32,
        part: u32,
        parts: u32,
    ) -> Result<(), JsError> {
        Ok(self
            .session
            .keep_overview_part(max_side, part as usize, parts as usize)?)
    }

    /// Joins the shares of the overview of `max_side` (from `overviewPart` in the helpers, and
    /// those kept here) and keeps it for `overview`, `detectRegions` and `extractFragments`.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = joinOverview))]
    pub fn join_overview(&mut self, max_side: u32, parts: JsValue) -> Result<(), JsError> {
        let parts = from_js(parts, "overview shares")?;
        Ok(self.session.join_overview(max_side, parts)?)
    }

    /// Tissue regions with every stage (mask, first boxes, merged, filtered, final, level-0).
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = detectRegions))]
    pub fn detect_regions(&mut self, options: JsValue) -> Result<JsValue, JsError> {
        let options: DetectOptions = self::options(options)?;
        to_js(&self.session.detect(&options)?)
    }

    /// Tissue inside `regions` (`[{x, y, w, h}]`, level-0 pixels) in level-0 pixels, found on
    /// the overview of `max_side` as `histoseg predict` finds it (green channel, Otsu).
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = tissueArea))]
    pub fn tissue_area(&mut self, max_side: u32, regions: JsValue) -> Result<f64, JsError> {
        let regions: Vec<Rect> = from_js(regions, "regions")?;
        Ok(self.session.tissue_area(max_side, &regions)?)
    }

    /// Fragments as JPEG bytes with their names and level-0 rectangles; `on_progress(done,
    /// total)` after each fragment.
    #[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = extractFragments))]
    pub fn extract_fragments(
        &mut self,
        options: JsValue,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let options: ExtractOptions = self::options(options)?;
        let extraction = self.session.extract(&options, |done, total| {
            if let Some(f) = &on_progress {
                // A failing progress callback must not stop the extraction.
                let _ = f.call2(
                    &JsValue::NULL,
                    &(done as f64).into(),
                    &(total as f64).into(),
                );
            }
        })?;
        to_js(&extraction)
    }
}

struct Gaussian(u32, f64);
struct Sharpen;
struct Median;
struct Chain;

impl Filter for Gaussian {
    fn apply<P: Pixel<Subpixel = u8>>(&self, i: &Image8<P>) -> crate::Result<Image8<P>> {
        Ok(filters::gaussian_blur(i, self.0, self.1)?)
    }
}
impl Filter for Sharpen {
    fn apply<P: Pixel<Subpixel = u8>>(&self, i: &Image8<P>) -> crate::Result<Image8<P>> {
        Ok(filters::sharpen(i))
    }
}
impl Filter for Median {
    fn apply<P: Pixel<Subpixel = u8>>(&self, i: &Image8<P>) -> crate::Result<Image8<P>> {
        Ok(filters::median3(i))
    }
}
impl Filter for Chain {
    fn apply<P: Pixel<Subpixel = u8>>(&self, i: &Image8<P>) -> crate::Result<Image8<P>> {
        Ok(filters::preprocess_u8(i))
    }
}

/// `summary.csv` of some slides (`[{slide, counts: [[class, n]], tissuePixels, mpp: [x, y] |
/// null}]`): per class the nuclei, the tissue area and the density per mm² of tissue (per
/// megapixel without mpp), as `histoseg predict` writes it.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = summaryCsv))]
pub fn summary_csv(summaries: JsValue) -> Result<String, JsError> {
    let summaries: Vec<histoseg_core::nuclei::Summary> = from_js(summaries, "summaries")?;
    Ok(histoseg_core::nuclei::summary_csv(&summaries))
}

/// Gaussian blur (`ksize` odd, `sigma` 0 = from the size) of 1-, 3- or 4-byte pixels.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = gaussianBlur))]
pub fn gaussian_blur(
    pixels: &[u8],
    width: u32,
    height: u32,
    ksize: u32,
    sigma: f64,
) -> Result<Vec<u8>, JsError> {
    Ok(pixels::filter(
        pixels,
        width,
        height,
        &Gaussian(ksize, sigma),
    )?)
}

/// Sharpen 3x3 (centre 5, cross -1).
#[cfg_attr(target_family = "wasm", wasm_bindgen)]
pub fn sharpen(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, JsError> {
    Ok(pixels::filter(pixels, width, height, &Sharpen)?)
}

/// Median 3x3.
#[cfg_attr(target_family = "wasm", wasm_bindgen)]
pub fn median3(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, JsError> {
    Ok(pixels::filter(pixels, width, height, &Median)?)
}

/// The paper's chain in 8 bits: Gaussian 5x5, sharpen, median 3x3.
#[cfg_attr(target_family = "wasm", wasm_bindgen)]
pub fn preprocess(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, JsError> {
    Ok(pixels::filter(pixels, width, height, &Chain)?)
}

/// One stain of an image (1, 3 or 4 bytes a pixel) in its own colour, the others left out
/// (colour deconvolution with QuPath's default vectors): `stains` is `"he"` (H&E) or `"hdab"`
/// (H-DAB), `index` 0 for haematoxylin. RGB bytes.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = singleStain))]
pub fn single_stain(
    pixels: &[u8],
    width: u32,
    height: u32,
    stains: &str,
    index: usize,
) -> Result<Vec<u8>, JsError> {
    let matrix = match stains {
        "he" => StainMatrix::hematoxylin_eosin(),
        "hdab" => StainMatrix::hematoxylin_dab(),
        other => {
            return Err(JsError::new(&format!(
                "stains must be 'he' or 'hdab', got '{other}'"
            )));
        }
    };
    let image = crate::pixels::rgb(pixels, width, height)?;
    Ok(matrix.single_stain(&image, index).into_raw())
}

/// Bytes scaled to `[0, 1]` (`Float32Array`).
#[cfg_attr(target_family = "wasm", wasm_bindgen)]
pub fn normalize(pixels: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
    Ok(pixels::normalize(pixels, width, height)?)
}

#[derive(Serialize)]
struct PixelScores {
    #[serde(flatten)]
    counts: PixelCounts,
    dice: f64,
    iou: f64,
}

/// Pixel counts, Dice and IoU of two masks (one byte a pixel, non-zero = foreground).
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = pixelScores))]
pub fn pixel_scores(
    predicted: &[u8],
    truth: &[u8],
    width: u32,
    height: u32,
) -> Result<JsValue, JsError> {
    let p = pixels::mask(predicted, width, height, "prediction")?;
    let t = pixels::mask(truth, width, height, "truth")?;
    let counts = PixelCounts::from_masks(&p, &t)?;
    to_js(&PixelScores {
        counts,
        dice: counts.dice(),
        iou: counts.iou(),
    })
}

/// Mean and dataset-level Dice / IoU of per-image counts (as `pixelScores` returns them).
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = pixelSummary))]
pub fn pixel_summary(counts: JsValue) -> Result<JsValue, JsError> {
    let counts: Vec<PixelCounts> = from_js(counts, "counts")?;
    let summary = PixelSummary::from_counts(&counts)
        .ok_or_else(|| JsError::new("pixelSummary needs the counts of at least one image"))?;
    to_js(&summary)
}

#[derive(Serialize)]
struct PointScores {
    #[serde(flatten)]
    matching: metrics::PointMatch,
    precision: f64,
    recall: f64,
    f1: f64,
}

/// One-to-one matching of predicted and true points (`[[x, y], ...]`) within `radius`, with
/// precision, recall and F1.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = matchPoints))]
pub fn match_points(predicted: JsValue, truth: JsValue, radius: f64) -> Result<JsValue, JsError> {
    let p: Vec<(f64, f64)> = from_js(predicted, "predicted points")?;
    let t: Vec<(f64, f64)> = from_js(truth, "true points")?;
    let m = metrics::match_points(&p, &t, radius)?;
    to_js(&PointScores {
        precision: m.precision(),
        recall: m.recall(),
        f1: m.f1(),
        matching: m,
    })
}

fn name_style(style: Option<String>) -> Result<NameStyle, JsError> {
    match style.as_deref() {
        None | Some("qupath") => Ok(NameStyle::Qupath),
        Some("safe") => Ok(NameStyle::Safe),
        Some(other) => Err(JsError::new(&format!(
            "name style must be 'qupath' or 'safe', got '{other}'"
        ))),
    }
}

/// A fragment's file name (`style` `"qupath"` or `"safe"`, `ext` default `"jpg"`).
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = fragmentName))]
pub fn fragment_name(
    fragment: JsValue,
    style: Option<String>,
    ext: Option<String>,
) -> Result<String, JsError> {
    let f: Fragment = from_js(fragment, "fragment")?;
    let rect = f.rect();
    let f = Fragment::new(f.source, rect, f.downsample)?;
    Ok(f.file_name(name_style(style)?, ext.as_deref().unwrap_or("jpg")))
}

/// The fragment a file name carries: `{source, x, y, w, h, downsample}`.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = parseFragmentName))]
pub fn parse_fragment_name(name: &str) -> Result<JsValue, JsError> {
    to_js(&Fragment::parse(name)?)
}

/// Fragment-image pixel `(u, v)` in level-0 slide pixels: `[x, y]`.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = fragmentToSlide))]
pub fn fragment_to_slide(fragment: JsValue, u: f64, v: f64) -> Result<JsValue, JsError> {
    let f: Fragment = from_js(fragment, "fragment")?;
    to_js(&f.to_slide(u, v))
}

/// Level-0 slide pixel `(x, y)` in fragment-image pixels: `[u, v]`.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = slideToFragment))]
pub fn slide_to_fragment(fragment: JsValue, x: f64, y: f64) -> Result<JsValue, JsError> {
    let f: Fragment = from_js(fragment, "fragment")?;
    to_js(&f.to_fragment(x, y))
}

/// Reads a slide-level annotation file (`geojson`, `coco`, `csv`).
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = readAnnotations))]
pub fn read_annotations(format: &str, file: &str, text: &str) -> Result<JsValue, JsError> {
    to_js(&annotations::read_slide(format, file, text)?)
}

/// Writes a slide-level annotation file; COCO records `slide` and its level-0 size.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = writeAnnotations))]
pub fn write_annotations(
    format: &str,
    annotations: JsValue,
    slide: &str,
    width: u32,
    height: u32,
) -> Result<String, JsError> {
    let a: Vec<AnnotationValue> = from_js(annotations, "annotations")?;
    Ok(annotations::write_slide(
        format,
        &a,
        slide,
        (width, height),
    )?)
}

/// Reads Makesense exports (`[{name, text}]`) of fragments back onto the slide.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = importMakesense))]
pub fn import_makesense(
    format: &str,
    files: JsValue,
    fragment_names: Vec<String>,
    labels: Option<Vec<String>>,
    manifest: Option<String>,
) -> Result<JsValue, JsError> {
    let files: Vec<TextFile> = from_js(files, "files")?;
    let lookup = annotations::lookup(&fragment_names, manifest.as_deref())?;
    let imported =
        annotations::import_makesense(format, &files, &labels.unwrap_or_default(), &lookup)?;
    to_js(&imported)
}

/// Writes Makesense files for fragments (`[{name, annotations}]`): `[{name, text}]`.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = exportMakesense))]
pub fn export_makesense(
    format: &str,
    items: JsValue,
    labels: Option<Vec<String>>,
) -> Result<JsValue, JsError> {
    let items: Vec<FragmentAnnotations> = from_js(items, "fragments")?;
    to_js(&annotations::export_makesense(
        format,
        &items,
        &labels.unwrap_or_default(),
    )?)
}

/// Places slide annotations on the fragments (by file name) that hold them whole.
#[cfg_attr(target_family = "wasm", wasm_bindgen(js_name = assignToFragments))]
pub fn assign_to_fragments(
    annotations: JsValue,
    fragment_names: Vec<String>,
) -> Result<JsValue, JsError> {
    let a: Vec<AnnotationValue> = from_js(annotations, "annotations")?;
    let lookup = annotations::lookup(&fragment_names, None)?;
    to_js(&annotations::assign(&a, &lookup))
}

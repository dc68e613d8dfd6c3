//! An opened slide and its cached overview: info, regions of any level, tissue regions with
//! every stage, and fragments encoded as JPEG, exactly as `histoseg extract` makes them.

use std::io::{Read, Seek};

use histoseg_core::extract::{crop_from_overview, plan_fragments, read_fragment, scale_rect};
use histoseg_core::fragment::Fragment;
use histoseg_core::rect::Rect;
use histoseg_core::regions::detect_regions;
use histoseg_core::slide::{OverviewPart, Slide, SlideInfo};
use histoseg_core::tissue::{Tissue, tissue_params};
use image::RgbImage;
use serde::Serialize;
use serde_bytes::ByteBuf;

use crate::options::{DetectOptions, ExtractOptions};
use crate::{Error, Result};

/// Every stage of tissue detection; boxes in overview pixels, `regions_level0` in level-0.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// Overview width (the mask's).
    pub width: u32,
    /// Overview height.
    pub height: u32,
    /// Level-0 pixels per overview pixel, horizontally.
    pub downsample: f64,
    /// The channel level below which pixels count as tissue.
    pub threshold: u8,
    /// Tissue mask after morphology, one byte a pixel (255 tissue, 0 glass).
    pub mask: ByteBuf,
    /// Bounding boxes of the mask's components (first boxes).
    pub components: Vec<Rect>,
    /// After merging intersecting and nearby boxes.
    pub merged: Vec<Rect>,
    /// After dropping small boxes.
    pub filtered: Vec<Rect>,
    /// The final regions.
    pub regions: Vec<Rect>,
    /// The final regions in level-0 pixels (as `manifest.json` of `histoseg extract`).
    pub regions_level0: Vec<Rect>,
}

/// One extracted fragment: its codec name, level-0 rectangle and JPEG bytes.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractedFragment {
    /// File name carrying the coordinates (`{stem} [d=..,x=..,y=..,w=..,h=..].jpg`).
    pub name: String,
    /// Source stem, level-0 rectangle and downsample.
    pub fragment: Fragment,
    /// Width of the fragment image.
    pub width: u32,
    /// Height of the fragment image.
    pub height: u32,
    /// The JPEG file.
    pub jpeg: ByteBuf,
}

/// The result of [`SlideSession::extract`].
#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    /// The tissue regions in level-0 pixels.
    pub regions_level0: Vec<Rect>,
    /// The fragments, region by region.
    pub fragments: Vec<ExtractedFragment>,
}

fn check_side(max_side: u32) -> Result<()> {
    if max_side == 0 {
        return Err(Error::Input("maxSide must be at least 1 pixel".into()));
    }
    Ok(())
}

/// A slide opened from any `Read + Seek`, with the last overview kept for reuse.
#[derive(Debug)]
pub struct SlideSession<R> {
    slide: Slide<R>,
    stem: String,
    overview: Option<(u32, RgbImage)>,
    kept_share: Option<OverviewPart>,
}

impl<R: Read + Seek> SlideSession<R> {
    /// Opens a slide; `file_name` names it in errors and gives the fragments' stem.
    pub fn open(reader: R, file_name: &str) -> Result<Self> {
        let slide = Slide::open(reader, file_name)?;
        // A dropped file's name is the user's, not a path: no separator or `..` reaches the
        // fragments' names, and through them the zip exports' entries.
        let stem = histoseg_core::safe_name::safe_stem(file_name);
        Ok(SlideSession {
            slide,
            stem,
            overview: None,
            kept_share: None,
        })
    }

    /// Opens a slide kept as several files (DICOM: one a level or associated image), each
    /// with its name; `name` names the slide in errors and gives the fragments' stem.
    pub fn open_files(files: Vec<(R, String)>, name: &str) -> Result<Self> {
        let slide = Slide::open_files(files, name)?;
        Ok(SlideSession {
            slide,
            stem: histoseg_core::safe_name::safe_stem(name),
            overview: None,
            kept_share: None,
        })
    }

    /// What the slide declares (as `histoseg info --json`).
    pub fn info(&self) -> &SlideInfo {
        self.slide.info()
    }

    /// The fragments' stem: the file name without its extension.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// A region of `level`, in that level's pixels.
    pub fn read_region(&mut self, level: usize, rect: Rect) -> Result<RgbImage> {
        Ok(self.slide.read_region(level, rect)?)
    }

    /// The overview with `max_side` pixels on its long side at most (cached).
    pub fn overview(&mut self, max_side: u32) -> Result<&RgbImage> {
        check_side(max_side)?;
        if !self.has_overview(max_side) {
            let img = self.slide.overview(max_side)?;
            self.overview = Some((max_side, img));
        }
        match &self.overview {
            Some((_, img)) => Ok(img),
            None => unreachable!("set just above"),
        }
    }

    /// Whether the overview of `max_side` is cached.
    pub fn has_overview(&self, max_side: u32) -> bool {
        self.overview
            .as_ref()
            .is_some_and(|(side, _)| *side == max_side)
    }

    /// Share `part` of `parts` of the overview of `max_side`, to join in another session of the
    /// same slide (another worker) with [`SlideSession::join_overview`].
    pub fn overview_part(
        &mut self,
        max_side: u32,
        part: usize,
        parts: usize,
    ) -> Result<OverviewPart> {
        check_side(max_side)?;
        Ok(self.slide.overview_part(max_side, part, parts)?)
    }

    /// Makes share `part` of `parts` of the overview of `max_side` and keeps it here for the
    /// next [`SlideSession::join_overview`] (replacing one kept before), sparing its pixels a
    /// trip out and back.
    pub fn keep_overview_part(&mut self, max_side: u32, part: usize, parts: usize) -> Result<()> {
        self.kept_share = None;
        self.kept_share = Some(self.overview_part(max_side, part, parts)?);
        Ok(())
    }

    /// Joins the shares of the overview of `max_side` (`parts` and those kept here) and
    /// caches it, as [`Self::overview`] would have made it.
    pub fn join_overview(&mut self, max_side: u32, mut parts: Vec<OverviewPart>) -> Result<()> {
        check_side(max_side)?;
        parts.extend(self.kept_share.take());
        let img = self.slide.overview_from_parts(max_side, parts)?;
        self.overview = Some((max_side, img));
        Ok(())
    }

    fn level0(&self) -> Result<(u32, u32)> {
        self.slide
            .level_dimensions(0)
            .ok_or_else(|| Error::Input("the slide has no image".into()))
    }

    /// Tissue inside `regions` (level-0 pixels), in level-0 pixels: found on the overview of
    /// `max_side` (cached) with the tissue rule of `histoseg predict`
    /// ([`histoseg_core::tissue::tissue_params`]), for densities per mm² of tissue.
    pub fn tissue_area(&mut self, max_side: u32, regions: &[Rect]) -> Result<f64> {
        let level0 = self.level0()?;
        let overview = self.overview(max_side)?;
        let tissue = Tissue::on_overview(overview, level0, &tissue_params())?;
        Ok(tissue.area_in(regions))
    }

    /// Tissue detection on the overview, every stage returned.
    pub fn detect(&mut self, options: &DetectOptions) -> Result<Detection> {
        let params = options.region_params()?;
        let level0 = self.level0()?;
        let overview = self.overview(options.max_side)?;
        let stages = detect_regions(overview, &params)?;
        let size = overview.dimensions();
        Ok(Detection {
            width: size.0,
            height: size.1,
            downsample: f64::from(level0.0) / f64::from(size.0.max(1)),
            threshold: stages.threshold,
            regions_level0: stages
                .regions
                .iter()
                .map(|r| scale_rect(*r, size, level0))
                .collect(),
            mask: ByteBuf::from(stages.mask.into_raw()),
            components: stages.components,
            merged: stages.merged,
            filtered: stages.filtered,
            regions: stages.regions,
        })
    }

    /// Detects tissue and cuts, reads and encodes the fragments as `histoseg extract` does;
    /// `progress(done, total)` is called after each fragment.
    pub fn extract(
        &mut self,
        options: &ExtractOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Extraction> {
        options.check()?;
        let detection = self.detect(&options.detect())?;
        let level0 = self.level0()?;
        let downsample = options.downsample.unwrap_or(detection.downsample);
        let mut plan = Vec::new();
        for region in &detection.regions_level0 {
            plan.extend(plan_fragments(
                &self.stem,
                *region,
                downsample,
                options.max_fragment,
            )?);
        }
        let mut fragments = Vec::with_capacity(plan.len());
        let total = plan.len();
        for fragment in plan {
            let cropped = self
                .overview(options.max_side)
                .ok()
                .and_then(|o| crop_from_overview(o, level0, &fragment));
            let pixels = match cropped {
                Some(pixels) => pixels,
                None => read_fragment(&mut self.slide, &fragment)?,
            };
            let jpeg = histoseg_core::jpeg::encode(&pixels, options.quality)?;
            fragments.push(ExtractedFragment {
                name: fragment.file_name(options.names, "jpg"),
                width: pixels.width(),
                height: pixels.height(),
                fragment,
                jpeg: ByteBuf::from(jpeg),
            });
            progress(fragments.len(), total);
        }
        Ok(Extraction {
            regions_level0: detection.regions_level0,
            fragments,
        })
    }
}

//! Nuclei over a whole slide: the tissue regions (or a region the user chose) are cut into
//! cells, and each cell is read at level 0 with a margin around it, predicted, outlined and
//! measured, one window at a time, so memory follows the window, not the slide. A nucleus on
//! a seam is whole in both windows (the margin is wider than a nucleus) and kept once: by the
//! window whose cell holds its centroid. The two windows see it in different context, so its
//! centroid can move by a pixel between them: a window also takes nuclei just outside its cell
//! ([`SEAM_SLACK`]) unless an earlier window already gave one at the same place.

use std::collections::HashMap;
use std::io::{Read, Seek};

use histoseg_core::instances::LabelMap;
use histoseg_core::nuclei::{MeasuredNucleus, measure_nuclei};
use histoseg_core::rect::Rect;
use histoseg_core::slide::Slide;
use histoseg_core::stain::StainMatrix;
use image::RgbImage;
use image::imageops::{FilterType, resize};
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::predict::Predictor;
use crate::weights::ModelSpec;

/// How a slide is cut for prediction, in level-0 pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlideParams {
    /// Side of the cells each window owns.
    pub cell: u32,
    /// Pixels read around a cell on every side; wider than the largest nucleus.
    pub margin: u32,
    /// Model pixels per slide pixel: windows are resized by this before prediction, so a
    /// model trained at 0.25 µm per pixel sees a 0.5 µm slide at its own scale (2).
    pub scale: f64,
}

impl Default for SlideParams {
    /// 1024 px cells with a 64 px margin: a window of at most 1152 x 1152 px (4 MB of RGB, and
    /// about 25 MB with the model's maps), and a margin twice a large nucleus at 40x.
    fn default() -> Self {
        Self {
            cell: 1024,
            margin: 64,
            scale: 1.0,
        }
    }
}

impl SlideParams {
    /// The default cutting for a slide of `mpp` (x, y) µm per level-0 pixel, seen at the
    /// resolution `spec`'s model was trained at; a slide without mpp is taken as it is.
    pub fn for_slide(mpp: Option<(f64, f64)>, spec: &ModelSpec) -> Self {
        let scale = match mpp {
            Some((mx, my)) => (mx + my) / 2.0 / spec.training_mpp(),
            None => 1.0,
        };
        Self {
            scale,
            ..Self::default()
        }
    }
}

/// One unit of work: the cell it owns and the larger rectangle it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Nuclei whose centroid lies here are this window's.
    pub cell: Rect,
    /// What is read and predicted: the cell and its margin, within the slide.
    pub read: Rect,
    /// Index of the region the cell belongs to.
    pub region: usize,
}

/// Longest side of a window at the model's scale. It bounds a window's memory (about 100 MB
/// of maps at 2304 px) whatever scale a slide's mpp asks for: cells shrink to fit.
pub const MAX_MODEL_WINDOW: u32 = 2304;

/// The windows covering `regions` (level-0 pixels) of a slide of size `level0`, region by
/// region, row by row. Regions are clipped to the slide; cells are made smaller than
/// `params.cell` where the window would exceed [`MAX_MODEL_WINDOW`] at the model's scale.
pub fn plan_windows(
    regions: &[Rect],
    level0: (u32, u32),
    params: &SlideParams,
) -> Result<Vec<Window>> {
    if params.cell == 0 {
        return Err(ModelError::Config(
            "a slide cell needs at least one pixel".into(),
        ));
    }
    if !(0.125..=8.0).contains(&params.scale) {
        return Err(ModelError::Config(format!(
            "the scale from slide to model pixels must lie in 1/8..8, got {}",
            params.scale
        )));
    }
    let fits = (f64::from(MAX_MODEL_WINDOW) / params.scale) as u32;
    let side = params.cell.min(fits.saturating_sub(2 * params.margin));
    if side < 16 {
        return Err(ModelError::Config(format!(
            "a margin of {} px leaves no room for a cell in a window of {fits} px",
            params.margin
        )));
    }
    let slide = Rect::new(0, 0, level0.0, level0.1);
    let mut windows = Vec::new();
    for (index, region) in regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.intersection(&slide)?)))
    {
        for y in (region.y..region.bottom() as u32).step_by(side as usize) {
            for x in (region.x..region.right() as u32).step_by(side as usize) {
                let cell = Rect::new(x, y, side, side)
                    .intersection(&region)
                    .unwrap_or(region);
                let m = params.margin;
                let (x0, y0) = (cell.x.saturating_sub(m), cell.y.saturating_sub(m));
                let x1 = (cell.right() + u64::from(m)).min(u64::from(level0.0)) as u32;
                let y1 = (cell.bottom() + u64::from(m)).min(u64::from(level0.1)) as u32;
                windows.push(Window {
                    cell,
                    read: Rect::new(x0, y0, x1 - x0, y1 - y0),
                    region: index,
                });
            }
        }
    }
    Ok(windows)
}

/// How far outside its cell (level-0 pixels) a window still takes a nucleus.
pub const SEAM_SLACK: f64 = 8.0;

/// Whether `(x, y)` lies within `slack` of the border of `rect`.
fn near_border(rect: &Rect, (x, y): (f64, f64), slack: f64) -> bool {
    rect.holds(x, y, slack) && !rect.holds(x, y, -slack)
}

/// A kept nucleus near a seam: centroid and equivalent radius.
type SeamNucleus = ((f64, f64), f64);

/// Nuclei kept near a seam, bucketed by position.
#[derive(Debug, Default)]
struct SeamNuclei(HashMap<(i64, i64), Vec<SeamNucleus>>);

impl SeamNuclei {
    const BUCKET: f64 = 32.0;

    fn key((x, y): (f64, f64)) -> (i64, i64) {
        (
            (x / Self::BUCKET).floor() as i64,
            (y / Self::BUCKET).floor() as i64,
        )
    }

    /// Whether a nucleus already kept stands where `at` (radius `r`) does: centroids closer
    /// than 3 px or 0.6 of the smaller radius (touching nuclei are about two radii apart).
    fn seen(&self, at: (f64, f64), r: f64) -> bool {
        let (kx, ky) = Self::key(at);
        (kx - 1..=kx + 1)
            .flat_map(|x| (ky - 1..=ky + 1).map(move |y| (x, y)))
            .filter_map(|k| self.0.get(&k))
            .flatten()
            .any(|&(c, r2)| (c.0 - at.0).hypot(c.1 - at.1) < (0.6 * r.min(r2)).max(3.0))
    }

    fn insert(&mut self, at: (f64, f64), r: f64) {
        self.0.entry(Self::key(at)).or_default().push((at, r));
    }
}

/// One whole-slide run, window by window: what each window reads, and the nuclei kept so far
/// near seams, so a nucleus two windows see is kept once. The reading and the network are the
/// caller's ([`predict_slide`] natively; the browser's workers read and predict
/// asynchronously), so the windows can run in any host, be paused, and be resumed.
#[derive(Debug)]
pub struct SlideRun {
    regions: Vec<Rect>,
    windows: Vec<Window>,
    scale: f64,
    stains: StainMatrix,
    seams: SeamNuclei,
}

impl SlideRun {
    /// A run over `regions` (level-0 pixels) of a slide of size `level0`.
    pub fn new(regions: &[Rect], level0: (u32, u32), params: &SlideParams) -> Result<Self> {
        Ok(Self {
            regions: regions.to_vec(),
            windows: plan_windows(regions, level0, params)?,
            scale: params.scale,
            stains: StainMatrix::hematoxylin_eosin(),
            seams: SeamNuclei::default(),
        })
    }

    /// The windows, in the order they are meant to run.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// A window's level-0 pixels (its `read` rectangle) resized to the model's scale.
    pub fn model_image(&self, image: RgbImage) -> RgbImage {
        at_model_scale(image, self.scale)
    }

    /// The nuclei window `index` keeps, in level-0 pixels, from the instance `labels` the
    /// model found on its `image` at the model's scale. Nuclei of other cells and nuclei a
    /// neighbouring window already kept are left out.
    pub fn keep(
        &mut self,
        index: usize,
        labels: &LabelMap,
        image: &RgbImage,
    ) -> Result<Vec<MeasuredNucleus>> {
        let candidates = self.candidates(index, labels, image)?;
        self.keep_candidates(index, candidates)
    }

    /// The first half of [`Self::keep`], which needs no state of the run, so that windows can
    /// be predicted in parallel (in several workers): the nuclei of window `index` whose
    /// centroid lies in its cell (or within [`SEAM_SLACK`] of it) and in its region.
    pub fn candidates(
        &self,
        index: usize,
        labels: &LabelMap,
        image: &RgbImage,
    ) -> Result<Vec<MeasuredNucleus>> {
        let window = self.window(index)?;
        let (dx, dy) = (f64::from(window.read.x), f64::from(window.read.y));
        Ok(measure_nuclei(labels, image, &self.stains, 0.5)
            .into_iter()
            .map(|n| n.placed(1.0 / self.scale, dx, dy))
            .filter(|n| {
                let at = n.centroid;
                // The first region holding the centroid owns it, should regions overlap.
                let owner = self.regions.iter().position(|r| r.holds(at.0, at.1, 0.0));
                window.cell.holds(at.0, at.1, SEAM_SLACK) && owner == Some(window.region)
            })
            .collect())
    }

    /// The second half of [`Self::keep`], run in window order: of window `index`'s
    /// `candidates`, those no earlier window kept.
    pub fn keep_candidates(
        &mut self,
        index: usize,
        candidates: Vec<MeasuredNucleus>,
    ) -> Result<Vec<MeasuredNucleus>> {
        let window = self.window(index)?;
        let mut kept = Vec::new();
        for nucleus in candidates {
            let at = nucleus.centroid;
            if near_border(&window.cell, at, 2.0 * SEAM_SLACK) {
                if self.seams.seen(at, radius_of(nucleus.area)) {
                    continue;
                }
                self.seams.insert(at, radius_of(nucleus.area));
            }
            kept.push(nucleus);
        }
        Ok(kept)
    }

    fn window(&self, index: usize) -> Result<Window> {
        self.windows.get(index).copied().ok_or_else(|| {
            ModelError::Input(format!(
                "window {index} does not exist: the run has {}",
                self.windows.len()
            ))
        })
    }

    /// Tells a resumed run of a nucleus an earlier session kept (level-0 centroid and area),
    /// so that the windows still to run do not find it again.
    pub fn remember(&mut self, centroid: (f64, f64), area: f64) {
        self.seams.insert(centroid, radius_of(area));
    }
}

/// The radius of a disc of `area`.
fn radius_of(area: f64) -> f64 {
    (area.max(0.0) / std::f64::consts::PI).sqrt()
}

/// Predicts nuclei over `regions` of `slide` (level-0 pixels), giving each nucleus to `found`
/// in level-0 coordinates as soon as its window is done. `progress(done, total, nuclei)`
/// counts windows and the nuclei found so far; returning `false` cancels with an error.
/// Returns how many nuclei were found.
pub fn predict_slide<R: Read + Seek>(
    predictor: &Predictor,
    slide: &mut Slide<R>,
    regions: &[Rect],
    params: &SlideParams,
    found: &mut dyn FnMut(MeasuredNucleus) -> Result<()>,
    progress: &mut dyn FnMut(usize, usize, u64) -> bool,
) -> Result<u64> {
    let level0 = slide
        .level_dimensions(0)
        .ok_or_else(|| ModelError::Input(format!("{}: the slide has no image", slide.name())))?;
    let mut run = SlideRun::new(regions, level0, params)?;
    let total = run.windows().len();
    let mut count = 0;
    for index in 0..total {
        let read = run.windows()[index].read;
        let image = slide
            .read_region(0, read)
            .map_err(|e| ModelError::Input(e.to_string()))?;
        let image = run.model_image(image);
        let prediction = predictor.predict(&image, &mut |_, _| true)?;
        for nucleus in run.keep(index, &prediction.labels, &image)? {
            found(nucleus)?;
            count += 1;
        }
        if !progress(index + 1, total, count) {
            return Err(ModelError::Input("prediction cancelled".into()));
        }
    }
    Ok(count)
}

/// `image` resized by `scale` (bilinear), or as it is at scale 1.
fn at_model_scale(image: RgbImage, scale: f64) -> RgbImage {
    if (scale - 1.0).abs() < 1e-9 {
        return image;
    }
    let size = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    resize(
        &image,
        size(image.width()),
        size(image.height()),
        FilterType::Triangle,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_partition_the_regions_and_windows_add_the_margin_within_the_slide() {
        let params = SlideParams {
            cell: 100,
            margin: 10,
            scale: 1.0,
        };
        let regions = [Rect::new(50, 40, 250, 120), Rect::new(900, 900, 200, 200)];
        let windows = plan_windows(&regions, (1000, 1000), &params).expect("valid");
        let area: u64 = windows.iter().map(|w| w.cell.area()).sum();
        assert_eq!(
            area,
            250 * 120 + 100 * 100,
            "the second region is clipped to the slide"
        );
        for (i, a) in windows.iter().enumerate() {
            assert!(a.read.contains(&a.cell));
            assert!(Rect::new(0, 0, 1000, 1000).contains(&a.read));
            for b in &windows[i + 1..] {
                assert!(!a.cell.intersects(&b.cell));
            }
        }
        assert_eq!(windows[0].read, Rect::new(40, 30, 120, 120));
        assert_eq!(
            windows.last().map(|w| w.read),
            Some(Rect::new(890, 890, 110, 110))
        );
        let bad = |cell, scale| SlideParams {
            cell,
            margin: 0,
            scale,
        };
        assert!(plan_windows(&regions, (10, 10), &bad(0, 1.0)).is_err());
        // A slide whose mpp asks for 8x: cells shrink so windows stay within bounds.
        let big = SlideParams {
            cell: 1024,
            margin: 64,
            scale: 8.0,
        };
        let windows = plan_windows(&[Rect::new(0, 0, 1000, 1000)], (1000, 1000), &big).expect("ok");
        assert!(windows.len() > 1);
        for w in &windows {
            assert!(f64::from(w.read.w.max(w.read.h)) * 8.0 <= f64::from(MAX_MODEL_WINDOW));
        }
        let default_at_2x = SlideParams {
            scale: 2.0,
            ..SlideParams::default()
        };
        let windows = plan_windows(&[Rect::new(0, 0, 3000, 3000)], (3000, 3000), &default_at_2x);
        assert_eq!(
            windows.expect("ok")[0].cell.w,
            1024,
            "the default fits at 2x"
        );
        let huge_margin = SlideParams {
            margin: 2000,
            ..SlideParams::default()
        };
        assert!(plan_windows(&regions, (10, 10), &huge_margin).is_err());
        assert!(plan_windows(&regions, (10, 10), &bad(10, 0.0)).is_err());
    }
}

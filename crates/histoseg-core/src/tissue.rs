//! Where a slide's tissue is, in level-0 pixels: the regions found on its overview, and how
//! much tissue (mask pixels, scaled to level 0) lies inside any rectangle, for densities per
//! mm² of tissue rather than per mm² of bounding box.

use std::io::{Read, Seek};

use image::{GrayImage, RgbImage};

use crate::Result;
use crate::extract::scale_rect;
use crate::rect::Rect;
use crate::regions::{RegionParams, detect_regions};
use crate::slide::Slide;

/// The parameters tissue for densities is found with: the green channel, which both
/// haematoxylin and eosin absorb (on the red channel, the fragments' default, pale pink stroma
/// reads as glass), and the other defaults.
pub fn tissue_params() -> RegionParams {
    RegionParams {
        channel: 1,
        ..RegionParams::default()
    }
}

/// The tissue of one slide.
#[derive(Debug, Clone)]
pub struct Tissue {
    /// Level-0 size of the slide.
    pub level0: (u32, u32),
    /// Tissue regions in level-0 pixels.
    pub regions: Vec<Rect>,
    /// The tissue mask on the overview (255 tissue).
    pub mask: GrayImage,
}

impl Tissue {
    /// Finds the tissue of `slide` on an overview of at most `max_side` pixels.
    pub fn find<R: Read + Seek>(
        slide: &mut Slide<R>,
        max_side: u32,
        params: &RegionParams,
    ) -> Result<Self> {
        let level0 = slide.level_dimensions(0).unwrap_or((0, 0));
        let overview = slide.overview(max_side)?;
        Self::on_overview(&overview, level0, params)
    }

    /// Finds the tissue on an `overview` already made of a slide of size `level0`.
    pub fn on_overview(
        overview: &RgbImage,
        level0: (u32, u32),
        params: &RegionParams,
    ) -> Result<Self> {
        let stages = detect_regions(overview, params)?;
        let regions = stages
            .regions
            .iter()
            .map(|r| scale_rect(*r, overview.dimensions(), level0))
            .filter(|r| !r.is_empty())
            .collect();
        Ok(Self {
            level0,
            regions,
            mask: stages.mask,
        })
    }

    /// Tissue area inside any of `regions` (level-0 pixels), in level-0 pixels: the mask
    /// pixels whose centres fall inside one, each counting the level-0 area it stands for
    /// (overlaps count once).
    ///
    /// ```
    /// use histoseg_core::{rect::Rect, tissue::Tissue};
    /// let mut mask = image::GrayImage::new(10, 10);
    /// for x in 0..5 {
    ///     mask.put_pixel(x, 0, image::Luma([255]));
    /// }
    /// let t = Tissue { level0: (100, 100), regions: vec![], mask };
    /// assert_eq!(t.area_in(&[Rect::new(0, 0, 100, 100)]), 500.0);
    /// assert_eq!(t.area_in(&[Rect::new(0, 0, 30, 10), Rect::new(0, 0, 20, 20)]), 300.0);
    /// ```
    pub fn area_in(&self, regions: &[Rect]) -> f64 {
        let (mw, mh) = self.mask.dimensions();
        if mw == 0 || mh == 0 {
            return 0.0;
        }
        let sx = f64::from(self.level0.0) / f64::from(mw);
        let sy = f64::from(self.level0.1) / f64::from(mh);
        let count = self
            .mask
            .enumerate_pixels()
            .filter(|(x, y, v)| {
                let cx = (f64::from(*x) + 0.5) * sx;
                let cy = (f64::from(*y) + 0.5) * sy;
                v[0] > 0 && regions.iter().any(|r| r.holds(cx, cy, 0.0))
            })
            .count();
        count as f64 * sx * sy
    }
}

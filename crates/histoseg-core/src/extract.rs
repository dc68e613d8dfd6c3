//! Tissue fragments cut from a slide: regions found on the overview, mapped to level-0 pixels,
//! split into pieces no larger than a limit, and read at a chosen downsample.

use std::io::{Read, Seek};

use image::{RgbImage, imageops::FilterType};

use crate::fragment::Fragment;
use crate::rect::Rect;
use crate::slide::Slide;
use crate::{Error, Result};

/// Maps `region` from an image of size `from` onto the same picture at size `to` (overview to
/// level 0, level 0 to another level), rounding outwards and clipping to `to`.
///
/// ```
/// use histoseg_core::{extract::scale_rect, rect::Rect};
/// let r = scale_rect(Rect::new(10, 5, 20, 10), (100, 50), (1000, 500));
/// assert_eq!(r, Rect::new(100, 50, 200, 100));
/// ```
pub fn scale_rect(region: Rect, from: (u32, u32), to: (u32, u32)) -> Rect {
    let sx = f64::from(to.0) / f64::from(from.0.max(1));
    let sy = f64::from(to.1) / f64::from(from.1.max(1));
    let x0 = (f64::from(region.x) * sx)
        .floor()
        .clamp(0.0, f64::from(to.0));
    let y0 = (f64::from(region.y) * sy)
        .floor()
        .clamp(0.0, f64::from(to.1));
    let x1 = (region.right() as f64 * sx)
        .ceil()
        .clamp(x0, f64::from(to.0));
    let y1 = (region.bottom() as f64 * sy)
        .ceil()
        .clamp(y0, f64::from(to.1));
    Rect::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
}

/// The fragments of one slide region: `region` (level-0 pixels) read at `downsample`, cut into
/// a grid of equal pieces so that no fragment image exceeds `max_side` pixels on a side.
///
/// ```
/// use histoseg_core::{extract::plan_fragments, rect::Rect};
/// let parts = plan_fragments("s", Rect::new(0, 0, 1000, 400), 2.0, 300).unwrap();
/// assert_eq!(parts.len(), 2); // 500 x 200 fragment pixels -> two pieces of 250 x 200
/// assert_eq!((parts[1].x, parts[1].w, parts[1].image_size()), (500, 500, (250, 200)));
/// ```
pub fn plan_fragments(
    source: &str,
    region: Rect,
    downsample: f64,
    max_side: u32,
) -> Result<Vec<Fragment>> {
    if max_side == 0 {
        return Err(Error::InvalidParameter {
            name: "max_side",
            problem: "a fragment must be allowed at least one pixel".into(),
        });
    }
    if region.is_empty() {
        return Ok(Vec::new());
    }
    let limit = f64::from(max_side) * downsample;
    let columns = (f64::from(region.w) / limit).ceil().max(1.0) as u32;
    let rows = (f64::from(region.h) / limit).ceil().max(1.0) as u32;
    let edges = |start: u32, len: u32, parts: u32, i: u32| {
        let at = |k: u32| start + (u64::from(len) * u64::from(k) / u64::from(parts)) as u32;
        (at(i), at(i + 1) - at(i))
    };
    let mut fragments = Vec::with_capacity((columns * rows) as usize);
    for row in 0..rows {
        let (y, h) = edges(region.y, region.h, rows, row);
        for column in 0..columns {
            let (x, w) = edges(region.x, region.w, columns, column);
            fragments.push(Fragment::new(source, Rect::new(x, y, w, h), downsample)?);
        }
    }
    Ok(fragments)
}

/// Reads a fragment's pixels: from the largest level that is still at least as detailed as the
/// fragment's downsample, resized (area-weighted triangle filter) to [`Fragment::image_size`].
pub fn read_fragment<R: Read + Seek>(
    slide: &mut Slide<R>,
    fragment: &Fragment,
) -> Result<RgbImage> {
    let level = (0..slide.level_count())
        .rfind(|&l| {
            slide
                .level_downsample(l)
                .is_some_and(|d| d <= fragment.downsample * 1.001)
        })
        .unwrap_or(0);
    let (lw, lh) = slide.level_dimensions(level).unwrap_or((0, 0));
    let (w0, h0) = slide.level_dimensions(0).unwrap_or((0, 0));
    let region = scale_rect(fragment.rect(), (w0, h0), (lw, lh));
    let pixels = slide.read_region(level, region)?;
    let (w, h) = fragment.image_size();
    Ok(if pixels.dimensions() == (w, h) {
        pixels
    } else {
        image::imageops::resize(&pixels, w, h, FilterType::Triangle)
    })
}

/// A fragment's pixels cut straight from the overview, when the overview already has the
/// fragment's resolution (both axes within 0.5 % of its downsample) and holds the whole
/// fragment; `None` otherwise, and [`read_fragment`] reads the slide instead.
///
/// ```
/// use histoseg_core::{extract::crop_from_overview, fragment::Fragment, rect::Rect};
/// let overview = image::RgbImage::from_fn(100, 50, |x, y| image::Rgb([x as u8, y as u8, 0]));
/// let f = Fragment::new("s", Rect::new(40, 20, 60, 40), 2.0).unwrap(); // slide is 200 x 100
/// let crop = crop_from_overview(&overview, (200, 100), &f).unwrap();
/// assert_eq!((crop.dimensions(), crop.get_pixel(0, 0).0), ((30, 20), [20, 10, 0]));
/// assert!(crop_from_overview(&overview, (200, 100), &Fragment { downsample: 1.0, ..f }).is_none());
/// ```
pub fn crop_from_overview(
    overview: &RgbImage,
    level0: (u32, u32),
    fragment: &Fragment,
) -> Option<RgbImage> {
    let (ow, oh) = overview.dimensions();
    let dx = f64::from(level0.0) / f64::from(ow.max(1));
    let dy = f64::from(level0.1) / f64::from(oh.max(1));
    let close = |d: f64| (d / fragment.downsample - 1.0).abs() < 0.005;
    if !(close(dx) && close(dy)) {
        return None;
    }
    let (w, h) = fragment.image_size();
    let x = (f64::from(fragment.x) / dx).round() as u32;
    let y = (f64::from(fragment.y) / dy).round() as u32;
    Rect::new(0, 0, ow, oh)
        .contains(&Rect::new(x, y, w, h))
        .then(|| image::imageops::crop_imm(overview, x, y, w, h).to_image())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn plans_tile_the_region_exactly(
            x in 0u32..10_000, y in 0u32..10_000, w in 1u32..20_000, h in 1u32..20_000,
            downsample in prop_oneof![Just(1.0), Just(4.0), 0.5f64..16.0],
            max_side in 64u32..4096,
        ) {
            let region = Rect::new(x, y, w, h);
            let parts = plan_fragments("s", region, downsample, max_side).expect("valid");
            let area: u64 = parts.iter().map(|f| f.rect().area()).sum();
            prop_assert_eq!(area, region.area());
            // Pairs are checked only for plans of a few thousand parts: the check is quadratic,
            // and a random case can plan hundreds of thousands.
            let check_pairs = parts.len() <= 3000;
            for (i, a) in parts.iter().enumerate() {
                prop_assert!(region.contains(&a.rect()));
                let (iw, ih) = a.image_size();
                prop_assert!(iw <= max_side + 1 && ih <= max_side + 1, "{iw}x{ih} > {max_side}");
                if check_pairs {
                    for b in &parts[i + 1..] {
                        prop_assert!(!a.rect().intersects(&b.rect()));
                    }
                }
            }
        }

        #[test]
        fn mapped_regions_cover_the_overview_box(
            x in 0u32..500, y in 0u32..500, w in 1u32..500, h in 1u32..500,
            ow in 500u32..2048, oh in 500u32..2048, scale in 1u32..40,
        ) {
            let region = Rect::new(x, y, w, h);
            let (lw, lh) = (ow * scale, oh * scale);
            let r = scale_rect(region, (ow, oh), (lw, lh));
            prop_assert!(Rect::new(0, 0, lw, lh).contains(&r));
            let clipped = region.intersection(&Rect::new(0, 0, ow, oh));
            if let Some(c) = clipped {
                prop_assert_eq!(r, Rect::new(c.x * scale, c.y * scale, c.w * scale, c.h * scale));
            }
        }
    }

    #[test]
    fn zero_max_side_is_refused() {
        assert!(plan_fragments("s", Rect::new(0, 0, 5, 5), 1.0, 0).is_err());
    }
}

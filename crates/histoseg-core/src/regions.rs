//! Tissue detection on a slide overview, the biopsy-annotation method's first half.
//!
//! One colour channel (red by default: stained tissue absorbs red, glass does not) is binarised
//! with Otsu's threshold or a fixed one, tissue being darker than glass; the mask is cleaned by
//! a morphological opening (drops specks) and closing (fills holes) with OpenCV's elliptic
//! kernels;
//! each 8-connected component gives a bounding box; boxes are merged where they intersect,
//! then where they lie within `gap` pixels, boxes smaller than `min_area` (or with too little
//! tissue inside) are dropped, and the survivors are merged once more. Every stage is returned
//! so a viewer can show them. All sizes are overview pixels.

use image::{GrayImage, RgbImage};
use imageproc::contrast::otsu_level;
use serde::{Deserialize, Serialize};

use crate::morphology::BitMask;
use crate::rect::{Rect, filter_by_area, merge_intersecting, merge_near};
use crate::union_find::DisjointSets;

/// How the channel is binarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    /// Otsu's threshold of the channel's histogram.
    #[default]
    Otsu,
    /// Pixels with channel value below this are tissue.
    Fixed(u8),
}

/// Parameters of [`detect_regions`], in overview pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionParams {
    /// Colour channel to binarise: 0 red, 1 green, 2 blue.
    pub channel: usize,
    /// Otsu or a fixed level.
    pub threshold: Threshold,
    /// Radius of the elliptic kernel used to open the mask (0: no opening).
    pub open_radius: u32,
    /// Radius of the elliptic kernel used to close the mask (0: no closing).
    pub close_radius: u32,
    /// Boxes at most this many pixels apart merge.
    pub gap: u32,
    /// Boxes with a smaller area are dropped.
    pub min_area: u64,
    /// Boxes whose share of tissue pixels is below this are dropped (0: keep all).
    pub min_tissue_fraction: f64,
}

impl Default for RegionParams {
    /// Defaults for an overview of about 1000-2000 px on its long side: a 2 px opening drops
    /// dust, a 4 px closing bridges the pale gaps inside tissue, boxes 16 px apart belong to the
    /// same fragment, and anything under 32x32 px is too small to annotate.
    fn default() -> Self {
        RegionParams {
            channel: 0,
            threshold: Threshold::Otsu,
            open_radius: 2,
            close_radius: 4,
            gap: 16,
            min_area: 32 * 32,
            min_tissue_fraction: 0.0,
        }
    }
}

/// Every stage of [`detect_regions`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegionStages {
    /// The channel level below which pixels count as tissue.
    pub threshold: u8,
    /// Tissue mask after opening and closing (255 tissue, 0 glass).
    pub mask: GrayImage,
    /// Bounding boxes of the mask's connected components.
    pub components: Vec<Rect>,
    /// After merging intersecting boxes and boxes within `gap`.
    pub merged: Vec<Rect>,
    /// After dropping small boxes and boxes with too little tissue.
    pub filtered: Vec<Rect>,
    /// After a last merge of intersecting boxes: the tissue fragments.
    pub regions: Vec<Rect>,
}

/// Finds the tissue regions of an overview image.
///
/// ```
/// use histoseg_core::{rect::Rect, regions::{detect_regions, RegionParams}};
/// let mut overview = image::RgbImage::from_pixel(200, 100, image::Rgb([240, 240, 240]));
/// for y in 20..60 {
///     for x in 30..90 {
///         overview.put_pixel(x, y, image::Rgb([150, 60, 140])); // stained tissue
///     }
/// }
/// let stages = detect_regions(&overview, &RegionParams::default()).unwrap();
/// assert_eq!(stages.regions, vec![Rect::new(30, 20, 60, 40)]);
/// ```
pub fn detect_regions(overview: &RgbImage, params: &RegionParams) -> crate::Result<RegionStages> {
    if params.channel > 2 {
        return Err(crate::Error::InvalidParameter {
            name: "channel",
            problem: format!(
                "must be 0 (red), 1 (green) or 2 (blue), got {}",
                params.channel
            ),
        });
    }
    if !(0.0..=1.0).contains(&params.min_tissue_fraction) {
        return Err(crate::Error::InvalidParameter {
            name: "min_tissue_fraction",
            problem: format!("must lie in [0, 1], got {}", params.min_tissue_fraction),
        });
    }
    let channel: Vec<u8> = overview
        .as_raw()
        .chunks_exact(3)
        .map(|p| p[params.channel])
        .collect();
    let (w, h) = overview.dimensions();
    let channel = GrayImage::from_raw(w, h, channel)
        .unwrap_or_else(|| unreachable!("one value per overview pixel"));
    let threshold = match params.threshold {
        Threshold::Otsu => otsu_level(&channel),
        Threshold::Fixed(level) => level,
    };
    // Otsu's level is the last level of the dark class, so tissue is `<=`.
    let px = channel.as_raw();
    let mut bits = BitMask::from_fn(w as usize, h as usize, |i| px[i] <= threshold);
    if params.open_radius > 0 {
        bits = bits.open(params.open_radius);
    }
    if params.close_radius > 0 {
        bits = bits.close(params.close_radius);
    }
    let components = component_boxes(&bits);
    let mask = bits.to_gray();

    let merged = merge_near(&merge_intersecting(&components), params.gap);
    let filtered: Vec<Rect> = filter_by_area(&merged, params.min_area)
        .into_iter()
        .filter(|r| {
            params.min_tissue_fraction == 0.0
                || tissue_fraction(&mask, r) >= params.min_tissue_fraction
        })
        .collect();
    let regions = merge_intersecting(&filtered);
    Ok(RegionStages {
        threshold,
        mask,
        components,
        merged,
        filtered,
        regions,
    })
}

/// Bounding boxes of the 8-connected components of the set pixels, sorted.
///
/// Labels runs of set pixels rather than pixels (a union-find over runs, a run joining the runs
/// of the row above that touch it or its two diagonal neighbours): masks have few runs, and
/// imageproc's pixel labelling allocated and walked a forest as large as the image.
fn component_boxes(mask: &BitMask) -> Vec<Rect> {
    let (_, height) = mask.dimensions();
    // Runs: (row, first x, one past the last x).
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut sets = DisjointSets::default();
    let mut above = 0..0;
    for y in 0..height {
        let start = runs.len();
        let row = mask.row(y);
        let mut x = 0usize;
        let end_x = row.len() * 64;
        while x < end_x {
            let (word, bit) = (x / 64, x % 64);
            let ones = row[word] >> bit;
            if ones == 0 {
                x = (word + 1) * 64;
                continue;
            }
            let s = x + ones.trailing_zeros() as usize;
            // Extend the run across words while they stay set.
            let mut e = s;
            loop {
                let (word, bit) = (e / 64, e % 64);
                if word >= row.len() {
                    break;
                }
                let zeros = (!row[word]) >> bit;
                if zeros == 0 {
                    e = (word + 1) * 64;
                } else {
                    e += zeros.trailing_zeros() as usize;
                    break;
                }
            }
            runs.push((y as u32, s as u32, e as u32));
            sets.push();
            x = e;
        }
        // Join with the runs above that touch, diagonals included.
        let mut j = above.start;
        for i in start..runs.len() {
            let (_, s, e) = runs[i];
            while j < above.end && runs[j].2 < s {
                j += 1;
            }
            let mut k = j;
            while k < above.end && runs[k].1 <= e {
                sets.union(i, k);
                k += 1;
            }
        }
        above = start..runs.len();
    }
    let mut extents: Vec<Option<(u32, u32, u32, u32)>> = vec![None; runs.len()];
    for (i, &(y, s, e)) in runs.iter().enumerate() {
        let root = sets.find(i);
        extents[root] = Some(match extents[root] {
            None => (s, y, e - 1, y),
            Some((x0, y0, x1, y1)) => (x0.min(s), y0.min(y), x1.max(e - 1), y1.max(y)),
        });
    }
    let mut boxes: Vec<Rect> = extents
        .into_iter()
        .flatten()
        .map(|(x0, y0, x1, y1)| Rect::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1))
        .collect();
    boxes.sort_unstable();
    boxes
}

/// Share of tissue pixels inside `rect` (clipped to the mask).
fn tissue_fraction(mask: &GrayImage, rect: &Rect) -> f64 {
    let Some(inside) = rect.intersection(&Rect::new(0, 0, mask.width(), mask.height())) else {
        return 0.0;
    };
    let tissue: u64 = (inside.y..inside.y + inside.h)
        .map(|y| {
            (inside.x..inside.x + inside.w)
                .filter(|&x| mask.get_pixel(x, y).0[0] != 0)
                .count() as u64
        })
        .sum();
    tissue as f64 / inside.area() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use proptest::strategy::Strategy;

    fn glass(w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb([235, 230, 238]))
    }

    fn paint(img: &mut RgbImage, r: Rect, colour: [u8; 3]) {
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                img.put_pixel(x, y, Rgb(colour));
            }
        }
    }

    #[test]
    fn near_pieces_merge_and_specks_vanish() {
        let mut img = glass(300, 200);
        paint(&mut img, Rect::new(10, 10, 50, 50), [160, 70, 150]);
        paint(&mut img, Rect::new(70, 10, 40, 40), [170, 80, 160]); // 10 px right of the first
        paint(&mut img, Rect::new(200, 120, 60, 60), [150, 60, 140]);
        paint(&mut img, Rect::new(150, 20, 2, 2), [40, 40, 40]); // dust
        let stages = detect_regions(&img, &RegionParams::default()).expect("valid");
        assert_eq!(
            stages.regions,
            vec![Rect::new(10, 10, 100, 50), Rect::new(200, 120, 60, 60)]
        );
        assert_eq!(
            stages.components.len(),
            3,
            "opening removes the speck: {:?}",
            stages.components
        );
        // Otsu splits between the darkest glass and the palest tissue (170).
        assert!(
            (170..235).contains(&stages.threshold),
            "{}",
            stages.threshold
        );
    }

    #[test]
    fn small_regions_and_sparse_boxes_are_dropped() {
        let mut img = glass(200, 200);
        paint(&mut img, Rect::new(10, 10, 20, 20), [150, 60, 140]);
        paint(&mut img, Rect::new(100, 100, 60, 60), [150, 60, 140]);
        let params = RegionParams {
            gap: 0,
            ..RegionParams::default()
        };
        let stages = detect_regions(&img, &params).expect("valid");
        assert_eq!(stages.filtered, vec![Rect::new(100, 100, 60, 60)]);

        // An L-shaped piece fills well under half of its box.
        let mut img = glass(200, 200);
        paint(&mut img, Rect::new(10, 10, 150, 12), [150, 60, 140]);
        paint(&mut img, Rect::new(10, 10, 12, 150), [150, 60, 140]);
        let sparse = RegionParams {
            min_tissue_fraction: 0.5,
            ..RegionParams::default()
        };
        assert!(
            detect_regions(&img, &sparse)
                .expect("valid")
                .regions
                .is_empty()
        );
        assert_eq!(
            detect_regions(&img, &RegionParams::default())
                .expect("valid")
                .regions
                .len(),
            1
        );
    }

    #[test]
    fn fixed_threshold_and_channel_choice() {
        let mut img = glass(100, 100);
        paint(&mut img, Rect::new(20, 20, 40, 40), [230, 100, 230]); // only green is dark
        let red = RegionParams {
            threshold: Threshold::Fixed(200),
            ..RegionParams::default()
        };
        assert!(
            detect_regions(&img, &red)
                .expect("valid")
                .regions
                .is_empty()
        );
        let green = RegionParams { channel: 1, ..red };
        assert_eq!(
            detect_regions(&img, &green).expect("valid").regions,
            vec![Rect::new(20, 20, 40, 40)]
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        let img = glass(10, 10);
        let err = detect_regions(
            &img,
            &RegionParams {
                channel: 3,
                ..RegionParams::default()
            },
        );
        assert!(err.expect_err("channel 3").to_string().contains("channel"));
        let err = detect_regions(
            &img,
            &RegionParams {
                min_tissue_fraction: 2.0,
                ..RegionParams::default()
            },
        );
        assert!(err.is_err());
    }

    /// The boxes of imageproc's pixel labelling.
    fn reference_boxes(mask: &GrayImage) -> Vec<Rect> {
        use imageproc::region_labelling::{Connectivity, connected_components};
        let labels = connected_components(mask, Connectivity::Eight, image::Luma([0u8]));
        let mut extents = std::collections::BTreeMap::new();
        for (x, y, l) in labels.enumerate_pixels().filter(|p| p.2.0[0] != 0) {
            let e = extents.entry(l.0[0]).or_insert((x, y, x, y));
            *e = (e.0.min(x), e.1.min(y), e.2.max(x), e.3.max(y));
        }
        let mut boxes: Vec<Rect> = extents
            .values()
            .map(|&(x0, y0, x1, y1)| Rect::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1))
            .collect();
        boxes.sort_unstable();
        boxes
    }

    proptest::proptest! {
        #[test]
        fn run_labelling_matches_pixel_labelling(
            (w, h, data) in (1u32..150, 1u32..30).prop_flat_map(|(w, h)| {
                (proptest::strategy::Just(w), proptest::strategy::Just(h),
                 proptest::collection::vec(proptest::prop_oneof![3 => proptest::strategy::Just(0u8), 1 => proptest::strategy::Just(255)], (w * h) as usize))
            }),
        ) {
            let mask = GrayImage::from_raw(w, h, data).expect("sized");
            // imageproc 0.27's labelling panics on a single foreground pixel image (its forest
            // is sized by pixels - 1); the answer there is the pixel itself.
            let expected = if (w, h) == (1, 1) {
                if mask.as_raw()[0] != 0 { vec![Rect::new(0, 0, 1, 1)] } else { Vec::new() }
            } else {
                reference_boxes(&mask)
            };
            proptest::prop_assert_eq!(component_boxes(&BitMask::from_gray(&mask)), expected);
        }
    }

    #[test]
    fn empty_overview_has_no_regions() {
        let stages = detect_regions(&RgbImage::new(0, 0), &RegionParams::default()).expect("valid");
        assert!(stages.regions.is_empty());
    }
}

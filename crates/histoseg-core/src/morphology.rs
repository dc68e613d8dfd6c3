//! Binary morphology with OpenCV's elliptic kernel, for cleaning tissue masks.
//!
//! A mask pixel is foreground when non-zero; results are 0 / 255. The kernel of radius `r` is
//! OpenCV's `getStructuringElement(MORPH_ELLIPSE, (2r+1, 2r+1))`: row `dy` spans
//! `round(sqrt(r² - dy²))` pixels either side. Outside the image nothing is added by dilation
//! and nothing is removed by erosion (OpenCV's default border for morphology).
//!
//! Written by hand: imageproc's binary morphology goes through an L2 distance transform, about
//! ten times slower at the small radii used here, and its disk is not OpenCV's ellipse.

use image::GrayImage;

/// Half-widths of the elliptic kernel's rows, from `dy = -r` to `r`.
fn ellipse_half_widths(radius: u32) -> Vec<u32> {
    let r = f64::from(radius);
    (0..=2 * radius)
        .map(|i| {
            let dy = f64::from(i) - r;
            (r * r - dy * dy).max(0.0).sqrt().round() as u32
        })
        .collect()
}

/// Dilation of the foreground (`invert = false`) or of the background (`invert = true`, which
/// is an erosion of the foreground), written as 0 / 255 in the foreground's terms.
///
/// Each row is first dilated horizontally once per distinct half-width (a window test on the
/// row's prefix sums), then every output row ORs the `2r + 1` horizontally dilated rows its
/// kernel covers; both steps are element-wise over whole rows, so they vectorise.
fn dilate_with(mask: &GrayImage, radius: u32, invert: bool) -> GrayImage {
    let (width, height) = (mask.width() as usize, mask.height() as usize);
    let mut out = GrayImage::new(mask.width(), mask.height());
    if width == 0 || height == 0 {
        return out;
    }
    let half_widths = ellipse_half_widths(radius);
    let mut distinct = half_widths.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut horizontal = vec![vec![0u8; width * height]; distinct.len()];
    let mut sums = vec![0u32; width + 1];
    for (y, row) in mask.chunks_exact(width).enumerate() {
        for (x, &v) in row.iter().enumerate() {
            sums[x + 1] = sums[x] + u32::from((v != 0) != invert);
        }
        for (&k, rows) in distinct.iter().zip(horizontal.iter_mut()) {
            let k = k as usize;
            let dst = &mut rows[y * width..(y + 1) * width];
            // Interior: the window [x - k, x + k] lies inside the row.
            if width > 2 * k {
                let (hi, lo) = (&sums[2 * k + 1..], &sums[..width - 2 * k]);
                for ((d, h), l) in dst[k..width - k].iter_mut().zip(hi).zip(lo) {
                    *d = u8::from(h > l);
                }
            }
            // Edges: the window is clipped to the row.
            for x in (0..k.min(width)).chain(width.saturating_sub(k).max(k.min(width))..width) {
                dst[x] = u8::from(sums[(x + k + 1).min(width)] > sums[x.saturating_sub(k)]);
            }
        }
    }
    for (y, dst) in out.chunks_exact_mut(width).enumerate() {
        for (i, k) in half_widths.iter().enumerate() {
            let Some(src_y) = (y + i).checked_sub(radius as usize).filter(|&s| s < height) else {
                continue;
            };
            let slot = distinct.iter().position(|d| d == k).unwrap_or(0);
            let src = &horizontal[slot][src_y * width..(src_y + 1) * width];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d |= s;
            }
        }
    }
    let (set, unset) = if invert { (0, 255) } else { (255, 0) };
    for d in out.iter_mut() {
        *d = if *d != 0 { set } else { unset };
    }
    out
}

/// Dilation by the elliptic kernel of `radius`.
///
/// ```
/// let mut mask = image::GrayImage::new(7, 7);
/// mask.put_pixel(3, 3, image::Luma([255]));
/// let d = histoseg_core::morphology::dilate(&mask, 2);
/// assert_eq!(d.iter().filter(|&&v| v == 255).count(), 5 + 5 + 5 + 1 + 1); // OpenCV's 5x5 ellipse
/// ```
pub fn dilate(mask: &GrayImage, radius: u32) -> GrayImage {
    dilate_with(mask, radius, false)
}

/// Erosion by the elliptic kernel of `radius`.
pub fn erode(mask: &GrayImage, radius: u32) -> GrayImage {
    dilate_with(mask, radius, true)
}

/// Opening (erosion, then dilation): removes specks smaller than the kernel.
pub fn open(mask: &GrayImage, radius: u32) -> GrayImage {
    dilate(&erode(mask, radius), radius)
}

/// Closing (dilation, then erosion): fills holes and gaps smaller than the kernel.
pub fn close(mask: &GrayImage, radius: u32) -> GrayImage {
    erode(&dilate(mask, radius), radius)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct definition: any (dilation) / every (erosion) kernel pixel inside the image.
    fn naive(mask: &GrayImage, radius: u32, erode: bool) -> GrayImage {
        let half = ellipse_half_widths(radius);
        let (w, h) = (mask.width() as i64, mask.height() as i64);
        GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
            let mut hits = (0..half.len()).flat_map(|i| {
                let dy = i as i64 - i64::from(radius);
                let k = i64::from(half[i]);
                (-k..=k).map(move |dx| (i64::from(x) + dx, i64::from(y) + dy))
            });
            let set = |(sx, sy): (i64, i64)| {
                (0..w).contains(&sx)
                    && (0..h).contains(&sy)
                    && mask.get_pixel(sx as u32, sy as u32).0[0] != 0
            };
            let inside = |(sx, sy): &(i64, i64)| (0..w).contains(sx) && (0..h).contains(sy);
            let on = if erode {
                hits.all(|p| !inside(&p) || set(p))
            } else {
                hits.any(set)
            };
            image::Luma([if on { 255 } else { 0 }])
        })
    }

    #[test]
    fn kernels_match_opencv_ellipses() {
        assert_eq!(ellipse_half_widths(1), vec![0, 1, 0]); // OpenCV's 3x3 ellipse is a cross
        assert_eq!(ellipse_half_widths(2), vec![0, 2, 2, 2, 0]);
        assert_eq!(ellipse_half_widths(4), vec![0, 3, 3, 4, 4, 4, 3, 3, 0]);
    }

    proptest! {
        #[test]
        fn dilation_and_erosion_match_the_definition(
            (w, h, data) in (1u32..20, 1u32..20).prop_flat_map(|(w, h)| {
                (Just(w), Just(h), proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], (w * h) as usize))
            }),
            radius in 0u32..5,
        ) {
            let mask = GrayImage::from_raw(w, h, data).expect("sized");
            prop_assert_eq!(dilate(&mask, radius), naive(&mask, radius, false));
            prop_assert_eq!(erode(&mask, radius), naive(&mask, radius, true));
        }
    }

    #[test]
    fn opening_removes_specks_and_closing_fills_holes() {
        let mut mask = GrayImage::new(30, 30);
        for y in 5..25 {
            for x in 5..25 {
                mask.put_pixel(x, y, image::Luma([255]));
            }
        }
        mask.put_pixel(15, 15, image::Luma([0])); // hole
        mask.put_pixel(1, 1, image::Luma([255])); // speck
        let opened = open(&mask, 2);
        assert_eq!(opened.get_pixel(1, 1).0, [0]);
        assert_eq!(opened.get_pixel(10, 10).0, [255]);
        let closed = close(&mask, 2);
        assert_eq!(closed.get_pixel(15, 15).0, [255]);
    }
}

//! Binary morphology with OpenCV's elliptic kernel, for cleaning tissue masks.
//!
//! A mask pixel is foreground when non-zero; results are 0 / 255. The kernel of radius `r` is
//! OpenCV's `getStructuringElement(MORPH_ELLIPSE, (2r+1, 2r+1))`: row `dy` spans
//! `round(sqrt(r² - dy²))` pixels either side. Outside the image nothing is added by dilation
//! and nothing is removed by erosion (OpenCV's default border for morphology).
//!
//! Written by hand: imageproc's binary morphology goes through an L2 distance transform, about
//! ten times slower at the small radii used here, and its disk is not OpenCV's ellipse. Masks
//! are packed 64 pixels to a word, so a dilation costs a few operations per 64 pixels.

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

/// A binary mask packed 64 pixels to a word (bit `x % 64` of word `x / 64` in each row), bits
/// past the width kept clear. Morphology on it works on 64 pixels per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitMask {
    width: usize,
    height: usize,
    words: usize,
    bits: Vec<u64>,
}

impl BitMask {
    /// Packs the pixels where `keep` holds.
    pub fn from_fn(width: usize, height: usize, mut keep: impl FnMut(usize) -> bool) -> Self {
        let words = width.div_ceil(64);
        let mut bits = vec![0u64; words * height];
        for y in 0..height {
            let row = &mut bits[y * words..][..words];
            for x in 0..width {
                row[x / 64] |= u64::from(keep(y * width + x)) << (x % 64);
            }
        }
        BitMask {
            width,
            height,
            words,
            bits,
        }
    }

    /// Packs a 0 / non-zero mask.
    pub fn from_gray(mask: &GrayImage) -> Self {
        let px = mask.as_raw();
        Self::from_fn(mask.width() as usize, mask.height() as usize, |i| {
            px[i] != 0
        })
    }

    /// 255 where set, 0 elsewhere.
    pub fn to_gray(&self) -> GrayImage {
        let mut out = vec![0u8; self.width * self.height];
        if self.width > 0 {
            for (row, bits) in out
                .chunks_exact_mut(self.width)
                .zip(self.bits.chunks_exact(self.words))
            {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = 0u8.wrapping_sub(((bits[x / 64] >> (x % 64)) & 1) as u8);
                }
            }
        }
        GrayImage::from_raw(self.width as u32, self.height as u32, out)
            .unwrap_or_else(|| unreachable!("sized from the mask"))
    }

    /// Width and height.
    pub fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The words of row `y`.
    pub fn row(&self, y: usize) -> &[u64] {
        &self.bits[y * self.words..][..self.words]
    }

    /// Mask of the valid bits of a row's last word.
    fn tail(&self) -> u64 {
        match self.width % 64 {
            0 => u64::MAX,
            n => (1u64 << n) - 1,
        }
    }

    /// The complement (within the width).
    fn not(&self) -> Self {
        let tail = self.tail();
        let mut out = self.clone();
        for row in out.bits.chunks_exact_mut(self.words.max(1)) {
            row.iter_mut().for_each(|w| *w = !*w);
            if let Some(last) = row.last_mut() {
                *last &= tail;
            }
        }
        out
    }

    /// Dilation of the set pixels by the elliptic kernel of `radius`; nothing outside the
    /// image is set.
    ///
    /// Each row is first dilated horizontally once per distinct half-width (ORs of shifted
    /// words), then every output row ORs the `2r + 1` horizontally dilated rows its kernel
    /// covers.
    pub fn dilate(&self, radius: u32) -> Self {
        let (w, h, n) = (self.width, self.height, self.words);
        let mut out = BitMask {
            bits: vec![0; self.bits.len()],
            ..*self
        };
        if w == 0 || h == 0 {
            return out;
        }
        let half_widths = ellipse_half_widths(radius);
        let mut distinct = half_widths.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let tail = self.tail();
        let horizontal: Vec<Vec<u64>> = distinct
            .iter()
            .map(|&k| {
                let mut rows = self.bits.clone();
                for (dst, src) in rows.chunks_exact_mut(n).zip(self.bits.chunks_exact(n)) {
                    for d in 1..=k as usize {
                        or_shifted(dst, src, d, true);
                        or_shifted(dst, src, d, false);
                    }
                    dst[n - 1] &= tail;
                }
                rows
            })
            .collect();
        for (y, dst) in out.bits.chunks_exact_mut(n).enumerate() {
            for (i, k) in half_widths.iter().enumerate() {
                let Some(src_y) = (y + i).checked_sub(radius as usize).filter(|&s| s < h) else {
                    continue;
                };
                let slot = distinct.iter().position(|d| d == k).unwrap_or(0);
                let src = &horizontal[slot][src_y * n..][..n];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d |= s);
            }
        }
        out
    }

    /// Erosion by the elliptic kernel of `radius`; nothing outside the image is removed.
    pub fn erode(&self, radius: u32) -> Self {
        self.not().dilate(radius).not()
    }

    /// Opening (erosion, then dilation): removes specks smaller than the kernel.
    pub fn open(&self, radius: u32) -> Self {
        self.erode(radius).dilate(radius)
    }

    /// Closing (dilation, then erosion): fills holes and gaps smaller than the kernel.
    pub fn close(&self, radius: u32) -> Self {
        self.dilate(radius).erode(radius)
    }
}

/// ORs into `dst` the row `src` moved by `d` pixels towards higher x (`up`) or lower x, with
/// zeros shifted in.
fn or_shifted(dst: &mut [u64], src: &[u64], d: usize, up: bool) {
    let (whole, bits) = (d / 64, (d % 64) as u32);
    let n = src.len();
    if whole >= n {
        return;
    }
    let at = |i: usize| src.get(i).copied().unwrap_or(0);
    if up {
        for (i, out) in dst.iter_mut().enumerate().take(n).skip(whole) {
            let lo = i - whole;
            let mut v = at(lo) << bits;
            if bits > 0 && lo > 0 {
                v |= at(lo - 1) >> (64 - bits);
            }
            *out |= v;
        }
    } else {
        for (i, out) in dst.iter_mut().enumerate().take(n - whole) {
            let hi = i + whole;
            let mut v = at(hi) >> bits;
            if bits > 0 {
                v |= at(hi + 1) << (64 - bits);
            }
            *out |= v;
        }
    }
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
    BitMask::from_gray(mask).dilate(radius).to_gray()
}

/// Erosion by the elliptic kernel of `radius`.
pub fn erode(mask: &GrayImage, radius: u32) -> GrayImage {
    BitMask::from_gray(mask).erode(radius).to_gray()
}

/// Opening (erosion, then dilation): removes specks smaller than the kernel.
pub fn open(mask: &GrayImage, radius: u32) -> GrayImage {
    BitMask::from_gray(mask).open(radius).to_gray()
}

/// Closing (dilation, then erosion): fills holes and gaps smaller than the kernel.
pub fn close(mask: &GrayImage, radius: u32) -> GrayImage {
    BitMask::from_gray(mask).close(radius).to_gray()
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
            (w, h, data) in (1u32..140, 1u32..12).prop_flat_map(|(w, h)| {
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
    fn radii_past_a_word_match_the_definition() {
        let mask = GrayImage::from_fn(200, 3, |x, y| {
            image::Luma([u8::from((x * 7 + y * 3) % 23 == 0) * 255])
        });
        for radius in [63, 65] {
            assert_eq!(dilate(&mask, radius), naive(&mask, radius, false));
            assert_eq!(erode(&mask, radius), naive(&mask, radius, true));
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

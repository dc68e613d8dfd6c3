//! The paper's preprocessing chain: Gaussian blur 5x5, sharpen 3x3, median 3x3, scale to `[0, 1]`.
//!
//! Every filter works on 8-bit `image` buffers of any channel count (gray, RGB, RGBA), treats
//! channels independently and extends the image past its border as the paper's OpenCV calls
//! do: the Gaussian and the sharpening by **reflect-101** (`gfedcb|abcdefgh|gfedcba`, OpenCV's
//! `BORDER_REFLECT_101`, the default of `GaussianBlur` and `filter2D`), the median by
//! **replication** (`aaa|abcdefgh|hhh`, what `medianBlur` does). The results equal OpenCV's
//! `GaussianBlur`, `filter2D` and `medianBlur` to within one grey level, border included; see
//! `tests/opencv_parity.py` and the golden files in `crates/histoseg-core/tests/data/`.
//!
//! Written by hand rather than with `imageproc::filter`: imageproc clamps at the border
//! (replicate) and picks Gaussian kernel sizes from sigma, so it cannot reproduce the paper's
//! OpenCV results, and its generic kernels are several times slower than these row-wise loops.

use image::{ImageBuffer, Luma, LumaA, Pixel, Rgb, Rgba};

use crate::{Error, Result};

/// An 8-bit pixel type that has a 32-bit float twin, for [`normalize`].
pub trait U8Pixel: Pixel<Subpixel = u8> {
    /// The same layout with `f32` channels.
    type F32: Pixel<Subpixel = f32>;
}

impl U8Pixel for Luma<u8> {
    type F32 = Luma<f32>;
}
impl U8Pixel for LumaA<u8> {
    type F32 = LumaA<f32>;
}
impl U8Pixel for Rgb<u8> {
    type F32 = Rgb<f32>;
}
impl U8Pixel for Rgba<u8> {
    type F32 = Rgba<f32>;
}

/// An 8-bit image of pixel type `P`.
pub type Image8<P> = ImageBuffer<P, Vec<u8>>;

/// Maps an index that may lie up to one image length outside `0..len` back inside by
/// reflect-101. Works for any `len >= 1` (a one-pixel axis maps everything to 0).
fn reflect101(index: i64, len: usize) -> usize {
    let len = len as i64;
    if len == 1 {
        return 0;
    }
    let period = 2 * (len - 1);
    let mut i = index.rem_euclid(period);
    if i >= len {
        i = period - i;
    }
    i as usize
}

/// Maps an index outside `0..len` to the nearest edge (replication).
fn replicate(index: i64, len: usize) -> usize {
    index.clamp(0, len as i64 - 1) as usize
}

/// Copies row `row` (interleaved, `channels` per pixel) into `out` with `radius` border pixels
/// on each side, placed by `border` (reflect-101 or replication).
fn pad_row_with(
    row: &[u8],
    channels: usize,
    radius: usize,
    border: fn(i64, usize) -> usize,
    out: &mut Vec<u8>,
) {
    let width = row.len() / channels;
    let push_pixel = |out: &mut Vec<u8>, x: i64| {
        let src = border(x, width) * channels;
        out.extend_from_slice(&row[src..src + channels]);
    };
    out.clear();
    for x in -(radius as i64)..0 {
        push_pixel(out, x);
    }
    out.extend_from_slice(row);
    for x in width as i64..(width + radius) as i64 {
        push_pixel(out, x);
    }
}

/// [`pad_row_with`] reflect-101.
fn pad_row(row: &[u8], channels: usize, radius: usize, out: &mut Vec<u8>) {
    pad_row_with(row, channels, radius, reflect101, out);
}

/// The 1-D Gaussian kernel OpenCV's `getGaussianKernel` gives for `ksize` and `sigma`.
///
/// `ksize` must be odd. With `sigma <= 0` and `ksize` of 1, 3, 5 or 7, OpenCV (and so this
/// function) uses its fixed binomial tables, e.g. `[1, 4, 6, 4, 1] / 16` for 5; for other sizes
/// it derives `sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8`. The kernel sums to 1.
///
/// ```
/// let k = histoseg_core::filters::gaussian_kernel(5, 0.0).unwrap();
/// assert_eq!(k, vec![0.0625, 0.25, 0.375, 0.25, 0.0625]);
/// ```
pub fn gaussian_kernel(ksize: u32, sigma: f64) -> Result<Vec<f32>> {
    if ksize == 0 || ksize.is_multiple_of(2) || ksize > 255 {
        return Err(Error::InvalidParameter {
            name: "ksize",
            problem: format!("Gaussian kernel size must be odd and in 1..=255, got {ksize}"),
        });
    }
    if !sigma.is_finite() {
        return Err(Error::InvalidParameter {
            name: "sigma",
            problem: format!("must be a finite number, got {sigma}"),
        });
    }
    if sigma <= 0.0 {
        let table: Option<&[f32]> = match ksize {
            1 => Some(&[1.0]),
            3 => Some(&[0.25, 0.5, 0.25]),
            5 => Some(&[0.0625, 0.25, 0.375, 0.25, 0.0625]),
            7 => Some(&[
                0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125,
            ]),
            _ => None,
        };
        if let Some(table) = table {
            return Ok(table.to_vec());
        }
    }
    let sigma = if sigma > 0.0 {
        sigma
    } else {
        0.3 * ((f64::from(ksize) - 1.0) * 0.5 - 1.0) + 0.8
    };
    let radius = f64::from(ksize / 2);
    let weights: Vec<f64> = (0..ksize)
        .map(|i| {
            let x = f64::from(i) - radius;
            (-(x * x) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    Ok(weights.iter().map(|w| (w / sum) as f32).collect())
}

/// The kernel in units of 1/256, summing to exactly 256, as OpenCV's bit-exact 8-bit Gaussian
/// quantises it: OpenCV's binomial tables are whole units already; other kernels are rounded
/// and the rounding error is given to the centre weight.
fn fixed_point_weights(kernel: &[f32]) -> Vec<u32> {
    let mut weights: Vec<u32> = kernel
        .iter()
        .map(|w| (w * 256.0).round().max(0.0) as u32)
        .collect();
    let sum: u32 = weights.iter().sum();
    let centre = weights.len() / 2;
    weights[centre] = (weights[centre] + 256).saturating_sub(sum);
    weights
}

/// Separable convolution with weights in units of 1/256 summing to 256: the horizontal pass
/// fits `u16` exactly, the vertical one `u32`; the result is rounded half up, as OpenCV's
/// bit-exact fixed-point path does.
fn convolve_separable<P: Pixel<Subpixel = u8>>(image: &Image8<P>, weights: &[u32]) -> Image8<P> {
    let (width, height) = image.dimensions();
    let channels = usize::from(P::CHANNEL_COUNT);
    let row_len = width as usize * channels;
    let radius = weights.len() / 2;
    let mut out = Image8::<P>::new(width, height);
    if row_len == 0 || height == 0 {
        return out;
    }
    let mut horizontal = vec![0u16; row_len * height as usize];
    let mut padded = Vec::with_capacity((width as usize + 2 * radius) * channels);
    for (src, dst) in image
        .chunks_exact(row_len)
        .zip(horizontal.chunks_exact_mut(row_len))
    {
        pad_row(src, channels, radius, &mut padded);
        for (tap, &weight) in weights.iter().enumerate() {
            let weight = weight as u16;
            let shifted = &padded[tap * channels..tap * channels + row_len];
            for (d, &s) in dst.iter_mut().zip(shifted) {
                *d += weight * u16::from(s);
            }
        }
    }
    let mut acc = vec![0u32; row_len];
    for (y, dst) in out.chunks_exact_mut(row_len).enumerate() {
        acc.fill(0);
        for (tap, &weight) in weights.iter().enumerate() {
            let src_y = reflect101(y as i64 + tap as i64 - radius as i64, height as usize);
            let src = &horizontal[src_y * row_len..(src_y + 1) * row_len];
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += weight * u32::from(s);
            }
        }
        for (d, &a) in dst.iter_mut().zip(&acc) {
            *d = ((a + (1 << 15)) >> 16) as u8;
        }
    }
    out
}

/// Gaussian blur with a `ksize` x `ksize` kernel, as OpenCV's
/// `GaussianBlur(src, (ksize, ksize), sigma)` with its default reflect-101 border.
///
/// `sigma <= 0` derives sigma from the kernel size as OpenCV does (see [`gaussian_kernel`]).
/// Weights are quantised to 1/256 and summed in integers, like OpenCV's bit-exact 8-bit path;
/// the binomial tables (`sigma <= 0`, `ksize <= 7`, so the paper's 5x5) are exact.
///
/// ```
/// use image::GrayImage;
/// let mut img = GrayImage::new(5, 5);
/// img.put_pixel(2, 2, image::Luma([160]));
/// let blurred = histoseg_core::filters::gaussian_blur(&img, 5, 0.0).unwrap();
/// // Centre weight (6/16)^2 = 36/256; 160 * 36 / 256 = 22.5, rounded half up.
/// assert_eq!(blurred.get_pixel(2, 2).0, [23]);
/// // At the left edge the pixel two to the right is reflected onto tap -2 as well:
/// // 160 * (2/16) * (6/16) = 7.5 -> 8.
/// assert_eq!(blurred.get_pixel(0, 2).0, [8]);
/// ```
pub fn gaussian_blur<P: Pixel<Subpixel = u8>>(
    image: &Image8<P>,
    ksize: u32,
    sigma: f64,
) -> Result<Image8<P>> {
    let kernel = gaussian_kernel(ksize, sigma)?;
    Ok(convolve_separable(image, &fixed_point_weights(&kernel)))
}

/// Sharpens with the 3x3 kernel `[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]` (as OpenCV's
/// `filter2D` with `ddepth = -1`), saturating to `0..=255`.
///
/// ```
/// use image::GrayImage;
/// let img = GrayImage::from_raw(3, 1, vec![10, 50, 10]).unwrap();
/// let sharp = histoseg_core::filters::sharpen(&img);
/// // Middle: 5*50 - 10 - 10 - 50 - 50 (up/down reflect onto the row itself) = 130.
/// assert_eq!(sharp.into_raw(), vec![0, 130, 0]);
/// ```
pub fn sharpen<P: Pixel<Subpixel = u8>>(image: &Image8<P>) -> Image8<P> {
    let (width, height) = image.dimensions();
    let channels = usize::from(P::CHANNEL_COUNT);
    let row_len = width as usize * channels;
    let mut out = Image8::<P>::new(width, height);
    if row_len == 0 || height == 0 {
        return out;
    }
    let rows: Vec<&[u8]> = image.chunks_exact(row_len).collect();
    let mut padded = Vec::with_capacity(row_len + 2 * channels);
    for (y, dst) in out.chunks_exact_mut(row_len).enumerate() {
        let up = rows[reflect101(y as i64 - 1, rows.len())];
        let down = rows[reflect101(y as i64 + 1, rows.len())];
        pad_row(rows[y], channels, 1, &mut padded);
        let left = &padded[..row_len];
        let centre = &padded[channels..channels + row_len];
        let right = &padded[2 * channels..2 * channels + row_len];
        for i in 0..row_len {
            let v = 5 * i16::from(centre[i])
                - i16::from(left[i])
                - i16::from(right[i])
                - i16::from(up[i])
                - i16::from(down[i]);
            dst[i] = v.clamp(0, 255) as u8;
        }
    }
    out
}

/// Median filter over each pixel's 3x3 neighbourhood, per channel, the border replicated as
/// OpenCV's `medianBlur(src, 3)` does.
///
/// ```
/// use image::GrayImage;
/// let mut img = GrayImage::from_pixel(3, 3, image::Luma([7]));
/// img.put_pixel(1, 1, image::Luma([255])); // salt
/// assert_eq!(histoseg_core::filters::median3(&img).get_pixel(1, 1).0, [7]);
/// ```
pub fn median3<P: Pixel<Subpixel = u8>>(image: &Image8<P>) -> Image8<P> {
    let (width, height) = image.dimensions();
    let channels = usize::from(P::CHANNEL_COUNT);
    let row_len = width as usize * channels;
    let mut out = Image8::<P>::new(width, height);
    if row_len == 0 || height == 0 {
        return out;
    }
    // Sort each column of three vertically (low, middle, high); the 3x3 median is then the
    // median of (largest low, median middle, smallest high) over three neighbouring columns.
    // Every step is an element-wise min/max over a row, which vectorises.
    let rows: Vec<&[u8]> = image.chunks_exact(row_len).collect();
    let padded_len = row_len + 2 * channels;
    let mut padded = [Vec::new(), Vec::new(), Vec::new()];
    let (mut low, mut mid, mut high) = (
        vec![0u8; padded_len],
        vec![0u8; padded_len],
        vec![0u8; padded_len],
    );
    for (y, dst) in out.chunks_exact_mut(row_len).enumerate() {
        for (dy, buffer) in padded.iter_mut().enumerate() {
            let src_y = replicate(y as i64 + dy as i64 - 1, rows.len());
            pad_row_with(rows[src_y], channels, 1, replicate, buffer);
        }
        let [a, b, c] = &padded;
        let (a, b, c) = (&a[..padded_len], &b[..padded_len], &c[..padded_len]);
        let (low, mid, high) = (
            &mut low[..padded_len],
            &mut mid[..padded_len],
            &mut high[..padded_len],
        );
        for i in 0..padded_len {
            let (lo_ab, hi_ab) = (a[i].min(b[i]), a[i].max(b[i]));
            low[i] = lo_ab.min(c[i]);
            high[i] = hi_ab.max(c[i]);
            mid[i] = lo_ab.max(hi_ab.min(c[i]));
        }
        let (dst, c2) = (&mut dst[..row_len], 2 * channels);
        let (low0, low1, low2) = (
            &low[..row_len],
            &low[channels..][..row_len],
            &low[c2..][..row_len],
        );
        let (mid0, mid1, mid2) = (
            &mid[..row_len],
            &mid[channels..][..row_len],
            &mid[c2..][..row_len],
        );
        let (hi0, hi1, hi2) = (
            &high[..row_len],
            &high[channels..][..row_len],
            &high[c2..][..row_len],
        );
        for i in 0..row_len {
            let max_low = low0[i].max(low1[i]).max(low2[i]);
            let min_high = hi0[i].min(hi1[i]).min(hi2[i]);
            let med_mid = median3_of(mid0[i], mid1[i], mid2[i]);
            dst[i] = median3_of(max_low, med_mid, min_high);
        }
    }
    out
}

/// The median of three values.
#[inline(always)]
fn median3_of(a: u8, b: u8, c: u8) -> u8 {
    a.min(b).max(a.max(b).min(c))
}

/// Scales 8-bit channels to `f32` in `[0, 1]` (divides by 255).
///
/// ```
/// let img = image::GrayImage::from_raw(2, 1, vec![0, 255]).unwrap();
/// assert_eq!(histoseg_core::filters::normalize(&img).into_raw(), vec![0.0, 1.0]);
/// ```
pub fn normalize<P: U8Pixel>(image: &Image8<P>) -> ImageBuffer<P::F32, Vec<f32>> {
    let data = image.iter().map(|&v| f32::from(v) / 255.0).collect();
    ImageBuffer::from_raw(image.width(), image.height(), data)
        .unwrap_or_else(|| unreachable!("same dimensions and channel count as the input"))
}

/// The paper's chain in 8 bits: Gaussian 5x5 (sigma from size), sharpen 3x3, median 3x3.
pub fn preprocess_u8<P: Pixel<Subpixel = u8>>(image: &Image8<P>) -> Image8<P> {
    let kernel = gaussian_kernel(5, 0.0).unwrap_or_else(|_| unreachable!("5 is a valid size"));
    median3(&sharpen(&convolve_separable(
        image,
        &fixed_point_weights(&kernel),
    )))
}

/// The paper's whole chain: [`preprocess_u8`] then [`normalize`] to `[0, 1]`.
pub fn preprocess<P: U8Pixel>(image: &Image8<P>) -> ImageBuffer<P::F32, Vec<f32>> {
    normalize(&preprocess_u8(image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, RgbImage};
    use proptest::prelude::*;

    /// Naive 2-D reference: direct double sum over the reflected neighbourhood.
    fn naive_filter(img: &GrayImage, kernel2d: &[Vec<f64>]) -> Vec<f64> {
        let (w, h) = img.dimensions();
        let r = kernel2d.len() as i64 / 2;
        let mut out = Vec::new();
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let mut s = 0.0;
                for (ky, row) in kernel2d.iter().enumerate() {
                    for (kx, &k) in row.iter().enumerate() {
                        let sx = reflect101(x + kx as i64 - r, w as usize) as u32;
                        let sy = reflect101(y + ky as i64 - r, h as usize) as u32;
                        s += k * f64::from(img.get_pixel(sx, sy).0[0]);
                    }
                }
                out.push(s);
            }
        }
        out
    }

    fn naive_median(img: &GrayImage) -> Vec<u8> {
        let (w, h) = img.dimensions();
        let mut out = Vec::new();
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let mut v: Vec<u8> = (0..9)
                    .map(|k| {
                        let sx = replicate(x + k % 3 - 1, w as usize) as u32;
                        let sy = replicate(y + k / 3 - 1, h as usize) as u32;
                        img.get_pixel(sx, sy).0[0]
                    })
                    .collect();
                v.sort_unstable();
                out.push(v[4]);
            }
        }
        out
    }

    fn gray_image() -> impl Strategy<Value = GrayImage> {
        (1u32..12, 1u32..12).prop_flat_map(|(w, h)| {
            proptest::collection::vec(any::<u8>(), (w * h) as usize)
                .prop_map(move |data| GrayImage::from_raw(w, h, data).expect("sized"))
        })
    }

    #[test]
    fn reflect101_mirrors_without_repeating_the_edge() {
        let got: Vec<usize> = (-3..8).map(|i| reflect101(i, 5)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(reflect101(-2, 1), 0);
        assert_eq!(reflect101(-2, 2), 0);
        assert_eq!(reflect101(3, 2), 1);
    }

    #[test]
    fn kernels_sum_to_one_and_match_opencv_sigma_rule() {
        for ksize in [1, 3, 5, 7, 9, 11] {
            let k = gaussian_kernel(ksize, 0.0).expect("odd");
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6, "ksize {ksize}");
        }
        // ksize 9, sigma 0 -> sigma = 0.3 * 3 + 0.8 = 1.7.
        let k = gaussian_kernel(9, 0.0).expect("odd");
        let explicit = gaussian_kernel(9, 1.7).expect("odd");
        assert_eq!(k, explicit);
    }

    #[test]
    fn bad_kernel_sizes_are_refused() {
        for ksize in [0, 2, 4, 256] {
            let err = gaussian_kernel(ksize, 0.0).expect_err("invalid");
            assert!(err.to_string().contains("ksize"), "{err}");
        }
        assert!(gaussian_kernel(5, f64::NAN).is_err());
    }

    #[test]
    fn rgb_channels_are_filtered_independently() {
        let img = RgbImage::from_fn(9, 7, |x, y| {
            image::Rgb([(x * 29) as u8, (y * 37) as u8, 200])
        });
        let blurred = gaussian_blur(&img, 5, 0.0).expect("valid");
        let red = GrayImage::from_fn(9, 7, |x, y| image::Luma([img.get_pixel(x, y).0[0]]));
        let red_blurred = gaussian_blur(&red, 5, 0.0).expect("valid");
        for (x, y, p) in blurred.enumerate_pixels() {
            assert_eq!(p.0[0], red_blurred.get_pixel(x, y).0[0]);
            assert_eq!(p.0[2], 200);
        }
        let sharp = sharpen(&img);
        assert!(sharp.pixels().all(|p| p.0[2] == 200));
    }

    #[test]
    fn empty_images_pass_through() {
        let img = GrayImage::new(0, 4);
        assert_eq!(preprocess_u8(&img).dimensions(), (0, 4));
    }

    proptest! {
        #[test]
        fn gaussian_matches_naive_2d(img in gray_image()) {
            let k = gaussian_kernel(5, 0.0).expect("valid");
            let k2: Vec<Vec<f64>> = k.iter()
                .map(|&a| k.iter().map(|&b| f64::from(a) * f64::from(b)).collect())
                .collect();
            let expected = naive_filter(&img, &k2);
            let got = gaussian_blur(&img, 5, 0.0).expect("valid");
            for (g, e) in got.iter().zip(&expected) {
                // The binomial kernel is exact in f32, so rounding half up must agree exactly.
                prop_assert_eq!(*g, (e + 0.5).floor() as u8);
            }
        }

        #[test]
        fn quantised_gaussian_stays_within_its_error_bound(
            img in gray_image(), ksize in prop_oneof![Just(9u32), Just(11)], sigma in 0.5f64..4.0,
        ) {
            let k = gaussian_kernel(ksize, sigma).expect("valid");
            let q: Vec<f64> = fixed_point_weights(&k).iter().map(|&w| f64::from(w) / 256.0).collect();
            prop_assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let outer = |v: &[f64]| -> Vec<Vec<f64>> {
                v.iter().map(|&a| v.iter().map(|&b| a * b).collect()).collect()
            };
            let exact = outer(&k.iter().map(|&w| f64::from(w)).collect::<Vec<_>>());
            let quantised = outer(&q);
            // Largest change quantising can make to a weighted sum of values in 0..=255.
            let bound: f64 = exact.iter().flatten().zip(quantised.iter().flatten())
                .map(|(e, q)| (e - q).abs() * 255.0)
                .sum();
            let expected = naive_filter(&img, &exact);
            let got = gaussian_blur(&img, ksize, sigma).expect("valid");
            for (g, e) in got.iter().zip(&expected) {
                prop_assert!((f64::from(*g) - e).abs() <= bound + 0.5 + 1e-9);
            }
        }

        #[test]
        fn sharpen_matches_naive_2d(img in gray_image()) {
            let k = vec![vec![0.0, -1.0, 0.0], vec![-1.0, 5.0, -1.0], vec![0.0, -1.0, 0.0]];
            let expected = naive_filter(&img, &k);
            let got = sharpen(&img);
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(f64::from(*g), e.clamp(0.0, 255.0));
            }
        }

        #[test]
        fn median_matches_sorting(img in gray_image()) {
            prop_assert_eq!(median3(&img).into_raw(), naive_median(&img));
        }

        #[test]
        fn normalized_values_stay_in_unit_range(img in gray_image()) {
            let n = preprocess(&img);
            prop_assert!(n.iter().all(|v| (0.0..=1.0).contains(v)));
            prop_assert_eq!(n.dimensions(), img.dimensions());
        }
    }
}

//! Colour deconvolution (Ruifrok and Johnston 2001): RGB to stain optical densities and back,
//! with QuPath's default H&E and H-DAB stain vectors, and the H&E colour augmentation of
//! Tellez et al. (2018) built on it.
//!
//! Optical density is `-log10(I / 255)` per channel, with `I` clamped to at least 1 so black
//! stays finite. A stain matrix holds one unit stain vector per row (the third completes the
//! basis, as QuPath does when a stain is missing); stain amounts are `od * M^-1`.

use image::{Rgb, RgbImage};

use crate::dataset::rng::SplitMix64;

/// Three stain vectors, one per row, each of unit length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StainMatrix {
    /// Stain names, in row order.
    pub names: [&'static str; 3],
    /// Rows: the optical density of one unit of each stain in R, G, B.
    pub vectors: [[f64; 3]; 3],
}

fn normalise(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `v * m` for a row vector `v`.
fn row_times(v: [f64; 3], m: &[[f64; 3]; 3]) -> [f64; 3] {
    std::array::from_fn(|j| v[0] * m[0][j] + v[1] * m[1][j] + v[2] * m[2][j])
}

fn invert(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c = [cross(m[1], m[2]), cross(m[2], m[0]), cross(m[0], m[1])];
    let det = m[0][0] * c[0][0] + m[0][1] * c[0][1] + m[0][2] * c[0][2];
    if det.abs() < 1e-9 {
        return None;
    }
    // The inverse's columns are the cofactor rows divided by the determinant.
    Some(std::array::from_fn(|i| {
        std::array::from_fn(|j| c[j][i] / det)
    }))
}

impl StainMatrix {
    /// Two stains and a third, orthogonal residual vector.
    pub fn from_two(names: [&'static str; 3], first: [f64; 3], second: [f64; 3]) -> Self {
        let (a, b) = (normalise(first), normalise(second));
        Self {
            names,
            vectors: [a, b, normalise(cross(a, b))],
        }
    }

    /// QuPath's default H&E vectors (`ColorDeconvolutionStains`, "H&E default").
    pub fn hematoxylin_eosin() -> Self {
        Self::from_two(
            ["Hematoxylin", "Eosin", "Residual"],
            [0.651, 0.701, 0.290],
            [0.216, 0.801, 0.471],
        )
    }

    /// QuPath's default H-DAB vectors ("H-DAB default").
    pub fn hematoxylin_dab() -> Self {
        Self::from_two(
            ["Hematoxylin", "DAB", "Residual"],
            [0.651, 0.701, 0.290],
            [0.269, 0.568, 0.778],
        )
    }

    /// The inverse matrix (stain amounts from optical densities).
    fn inverse(&self) -> [[f64; 3]; 3] {
        // Unit rows of distinct stains plus their cross product are independent.
        invert(&self.vectors).unwrap_or([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    }

    /// Stain amounts (optical density units) of one RGB pixel.
    pub fn deconvolve(&self, rgb: [u8; 3]) -> [f64; 3] {
        row_times(rgb.map(optical_density), &self.inverse())
    }

    /// The RGB pixel that the stain amounts give.
    pub fn reconvolve(&self, stains: [f64; 3]) -> [u8; 3] {
        row_times(stains, &self.vectors).map(from_optical_density)
    }

    /// `image` as stain `index` alone would have coloured it: each pixel's amount of that stain
    /// (colour deconvolution), the others left out, in the stain's own colour. With the
    /// haematoxylin of [`Self::hematoxylin_eosin`] this is the haematoxylin channel view of
    /// QuPath and HistomicsTK.
    pub fn single_stain(&self, image: &RgbImage, index: usize) -> RgbImage {
        let inverse = self.inverse();
        let od: Vec<f64> = (0..=255u8).map(optical_density).collect();
        let k = index.min(2);
        let mut out = image.clone();
        for p in out.pixels_mut() {
            let amount = row_times(p.0.map(|v| od[usize::from(v)]), &inverse)[k].max(0.0);
            let mut only = [0.0; 3];
            only[k] = amount;
            p.0 = self.reconvolve(only);
        }
        out
    }
}

/// `-log10(v / 255)`, with `v` at least 1.
pub fn optical_density(v: u8) -> f64 {
    -(f64::from(v.max(1)) / 255.0).log10()
}

fn from_optical_density(od: f64) -> u8 {
    (255.0 * 10f64.powf(-od)).round().clamp(0.0, 255.0) as u8
}

/// A random stain, brightness and contrast change: each stain's amount becomes
/// `amount * scale + shift`, then `brightness + contrast * (v - 128) + 128` per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StainJitter {
    /// Per-stain multiplier (1: unchanged).
    pub scale: [f64; 3],
    /// Per-stain additive shift in optical density units.
    pub shift: [f64; 3],
    /// Added to every channel, in grey levels.
    pub brightness: f64,
    /// Contrast factor about mid-grey.
    pub contrast: f64,
}

impl StainJitter {
    /// No change.
    pub const NONE: Self = Self {
        scale: [1.0; 3],
        shift: [0.0; 3],
        brightness: 0.0,
        contrast: 1.0,
    };

    /// Tellez et al.'s "HED-light" ranges scaled by `strength` (1: scale in `1 +- 0.05`,
    /// shift in `+- 0.05`, brightness `+- 10` grey levels, contrast `1 +- 0.1`).
    pub fn random(rng: &mut SplitMix64, strength: f64) -> Self {
        let s = strength.max(0.0);
        let mut draw = |r: f64| rng.between(-r * s, r * s);
        Self {
            scale: [1.0 + draw(0.05), 1.0 + draw(0.05), 1.0 + draw(0.05)],
            shift: [draw(0.05), draw(0.05), draw(0.05)],
            brightness: draw(10.0),
            contrast: 1.0 + draw(0.1),
        }
    }

    /// Applies the change to an H&E image (`matrix`: usually [`StainMatrix::hematoxylin_eosin`]).
    ///
    /// The stain change is one linear map on optical densities, `od * (M^-1 S M) + shift * M`,
    /// applied through a 256-entry table of optical densities and one of inverse densities.
    pub fn apply(&self, matrix: &StainMatrix, image: &RgbImage) -> RgbImage {
        let inverse = matrix.inverse();
        let scaled: [[f64; 3]; 3] =
            std::array::from_fn(|i| std::array::from_fn(|j| inverse[i][j] * self.scale[j]));
        let map: [[f64; 3]; 3] = std::array::from_fn(|i| row_times(scaled[i], &matrix.vectors));
        let offset = row_times(self.shift, &matrix.vectors);
        let od: [f64; 256] = std::array::from_fn(|v| optical_density(v as u8));
        let (brightness, contrast) = (self.brightness, self.contrast);
        let mut out = RgbImage::new(image.width(), image.height());
        for (src, dst) in image.pixels().zip(out.pixels_mut()) {
            let d = [
                od[src[0] as usize],
                od[src[1] as usize],
                od[src[2] as usize],
            ];
            let changed = row_times(d, &map);
            *dst = Rgb(std::array::from_fn(|c| {
                let v = 255.0 * 10f64.powf(-(changed[c] + offset[c]));
                (brightness + contrast * (v - 128.0) + 128.0)
                    .round()
                    .clamp(0.0, 255.0) as u8
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_single_stain_keeps_its_own_colour_and_drops_the_others() {
        let he = StainMatrix::hematoxylin_eosin();
        let purple = he.reconvolve([0.8, 0.0, 0.0]);
        let pink = he.reconvolve([0.0, 0.8, 0.0]);
        let image = RgbImage::from_fn(2, 1, |x, _| Rgb(if x == 0 { purple } else { pink }));
        let h = he.single_stain(&image, 0);
        let close = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2);
        assert!(
            close(h.get_pixel(0, 0).0, purple),
            "{:?}",
            h.get_pixel(0, 0)
        );
        assert!(
            h.get_pixel(1, 0).0.iter().all(|&v| v >= 250),
            "eosin is left out: {:?}",
            h.get_pixel(1, 0)
        );
        let e = he.single_stain(&image, 1);
        assert!(close(e.get_pixel(1, 0).0, pink));
    }
    use super::*;

    #[test]
    fn deconvolution_round_trips_within_a_grey_level() {
        let m = StainMatrix::hematoxylin_eosin();
        for rgb in [[200, 120, 180], [30, 40, 120], [250, 250, 250], [1, 2, 3]] {
            let back = m.reconvolve(m.deconvolve(rgb));
            for c in 0..3 {
                assert!(
                    (i16::from(back[c]) - i16::from(rgb[c])).abs() <= 1,
                    "{rgb:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn a_pure_stain_deconvolves_onto_its_own_channel() {
        let m = StainMatrix::hematoxylin_eosin();
        let h = m.reconvolve([0.8, 0.0, 0.0]);
        let amounts = m.deconvolve(h);
        assert!((amounts[0] - 0.8).abs() < 0.02, "{amounts:?}");
        assert!(
            amounts[1].abs() < 0.02 && amounts[2].abs() < 0.02,
            "{amounts:?}"
        );
        // Haematoxylin is blue-purple: red and green absorb more than blue.
        assert!(h[2] > h[0] && h[2] > h[1], "{h:?}");
    }

    #[test]
    fn no_jitter_is_identity_and_jitter_moves_stains() {
        let m = StainMatrix::hematoxylin_eosin();
        let image = RgbImage::from_fn(16, 16, |x, y| Rgb([(x * 15) as u8, 90, (y * 15) as u8]));
        let same = StainJitter::NONE.apply(&m, &image);
        let most = image
            .pixels()
            .zip(same.pixels())
            .all(|(a, b)| (0..3).all(|c| (i16::from(a[c]) - i16::from(b[c])).abs() <= 1));
        assert!(most);
        let more_h = StainJitter {
            scale: [1.5, 1.0, 1.0],
            ..StainJitter::NONE
        };
        let pixel = Rgb([150, 100, 170]);
        let before = m.deconvolve(pixel.0)[0];
        let after = m.deconvolve(more_h.apply(&m, &RgbImage::from_pixel(1, 1, pixel))[(0, 0)].0)[0];
        assert!((after - 1.5 * before).abs() < 0.02, "{before} -> {after}");
    }

    #[test]
    fn random_jitter_stays_in_its_ranges() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..100 {
            let j = StainJitter::random(&mut rng, 1.0);
            assert!(j.scale.iter().all(|s| (0.95..=1.05).contains(s)));
            assert!(j.shift.iter().all(|s| s.abs() <= 0.05));
            assert!(j.brightness.abs() <= 10.0 && (0.9..=1.1).contains(&j.contrast));
        }
        assert_eq!(StainJitter::random(&mut rng, 0.0), StainJitter::NONE);
    }
}

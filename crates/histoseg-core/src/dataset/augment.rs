//! D4 augmentation: the eight symmetries of the square (rotations by 90 degrees and flips),
//! applied identically to an image and its mask.
//!
//! Each [`Augmentation`] moves pixels without resampling, so a binary mask stays binary and
//! the pair stays aligned. The eight elements form the dihedral group D4: [`Augmentation::then`]
//! composes two of them into a third, every element has an [`Augmentation::inverse`], and
//! [`Augmentation::Identity`] is the neutral element. Rotations turn clockwise (as
//! `image::imageops::rotate90`); on a non-square image a quarter turn swaps width and height.

use image::{Pixel, imageops};

use super::Buffer;
use super::rng::SplitMix64;

/// One of the eight symmetries of the square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Augmentation {
    /// Leave the image as it is.
    Identity,
    /// Quarter turn clockwise.
    Rot90,
    /// Half turn.
    Rot180,
    /// Three quarter turns clockwise (a quarter turn anticlockwise).
    Rot270,
    /// Mirror left-right (about the vertical axis).
    FlipHorizontal,
    /// Mirror top-bottom (about the horizontal axis).
    FlipVertical,
    /// Mirror about the main diagonal: pixel `(x, y)` goes to `(y, x)`.
    Transpose,
    /// Mirror about the anti-diagonal.
    AntiTranspose,
}

impl Augmentation {
    /// All eight elements, identity first.
    pub const ALL: [Augmentation; 8] = [
        Augmentation::Identity,
        Augmentation::Rot90,
        Augmentation::Rot180,
        Augmentation::Rot270,
        Augmentation::FlipHorizontal,
        Augmentation::FlipVertical,
        Augmentation::Transpose,
        Augmentation::AntiTranspose,
    ];

    /// The linear map of the element on centred coordinates `(x, y)` (x right, y down),
    /// as a row-major 2x2 integer matrix.
    const fn matrix(self) -> [i8; 4] {
        match self {
            Augmentation::Identity => [1, 0, 0, 1],
            // Clockwise on screen (y down): (x, y) -> (-y, x).
            Augmentation::Rot90 => [0, -1, 1, 0],
            Augmentation::Rot180 => [-1, 0, 0, -1],
            Augmentation::Rot270 => [0, 1, -1, 0],
            Augmentation::FlipHorizontal => [-1, 0, 0, 1],
            Augmentation::FlipVertical => [1, 0, 0, -1],
            Augmentation::Transpose => [0, 1, 1, 0],
            Augmentation::AntiTranspose => [0, -1, -1, 0],
        }
    }

    fn from_matrix(m: [i8; 4]) -> Self {
        Self::ALL
            .into_iter()
            .find(|a| a.matrix() == m)
            .unwrap_or_else(|| unreachable!("D4 is closed under composition"))
    }

    /// The element that applies `self` first and then `next`.
    ///
    /// ```
    /// use histoseg_core::dataset::augment::Augmentation as A;
    /// assert_eq!(A::Rot90.then(A::Rot90), A::Rot180);
    /// assert_eq!(A::FlipHorizontal.then(A::FlipVertical), A::Rot180);
    /// assert_eq!(A::Rot90.then(A::FlipHorizontal), A::Transpose);
    /// ```
    pub fn then(self, next: Augmentation) -> Augmentation {
        let [a, b, c, d] = next.matrix();
        let [e, f, g, h] = self.matrix();
        Self::from_matrix([a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h])
    }

    /// The element that undoes `self`.
    pub fn inverse(self) -> Augmentation {
        match self {
            Augmentation::Rot90 => Augmentation::Rot270,
            Augmentation::Rot270 => Augmentation::Rot90,
            other => other,
        }
    }

    /// A uniformly random element.
    pub fn random(rng: &mut SplitMix64) -> Augmentation {
        Self::ALL[rng.below(8) as usize]
    }

    /// The transformed image (any pixel type: RGB, gray, float).
    ///
    /// ```
    /// use histoseg_core::dataset::augment::Augmentation;
    /// use image::GrayImage;
    /// let img = GrayImage::from_raw(2, 2, vec![1, 2, 3, 4]).unwrap();
    /// assert_eq!(Augmentation::Rot90.apply(&img).into_raw(), vec![3, 1, 4, 2]);
    /// assert_eq!(Augmentation::Transpose.apply(&img).into_raw(), vec![1, 3, 2, 4]);
    /// ```
    pub fn apply<P>(self, image: &Buffer<P>) -> Buffer<P>
    where
        P: Pixel + 'static,
    {
        match self {
            Augmentation::Identity => image.clone(),
            Augmentation::Rot90 => imageops::rotate90(image),
            Augmentation::Rot180 => imageops::rotate180(image),
            Augmentation::Rot270 => imageops::rotate270(image),
            Augmentation::FlipHorizontal => imageops::flip_horizontal(image),
            Augmentation::FlipVertical => imageops::flip_vertical(image),
            Augmentation::Transpose => imageops::flip_horizontal(&imageops::rotate90(image)),
            Augmentation::AntiTranspose => imageops::flip_horizontal(&imageops::rotate270(image)),
        }
    }

    /// Applies the element to an image and its mask alike.
    pub fn apply_pair<P, Q>(self, image: &Buffer<P>, mask: &Buffer<Q>) -> (Buffer<P>, Buffer<Q>)
    where
        P: Pixel + 'static,
        Q: Pixel + 'static,
    {
        (self.apply(image), self.apply(mask))
    }

    /// Draws one element from `rng` and applies it to the pair: on-the-fly augmentation for a
    /// training loop. Returns the element drawn with the transformed pair.
    pub fn random_pair<P, Q>(
        rng: &mut SplitMix64,
        image: &Buffer<P>,
        mask: &Buffer<Q>,
    ) -> (Augmentation, Buffer<P>, Buffer<Q>)
    where
        P: Pixel + 'static,
        Q: Pixel + 'static,
    {
        let a = Self::random(rng);
        let (i, m) = a.apply_pair(image, mask);
        (a, i, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    /// A 5x3 image whose every pixel differs, so any two distinct maps give distinct images.
    fn asymmetric_rgb() -> RgbImage {
        RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8, y as u8, (x * 3 + y) as u8]))
    }

    /// The mask of the RGB image's third channel.
    fn mask_of(img: &RgbImage) -> GrayImage {
        GrayImage::from_fn(img.width(), img.height(), |x, y| {
            Luma([img.get_pixel(x, y)[2]])
        })
    }

    #[test]
    fn the_eight_elements_give_eight_distinct_images() {
        let img = asymmetric_rgb();
        let outs: Vec<RgbImage> = Augmentation::ALL.iter().map(|a| a.apply(&img)).collect();
        for i in 0..8 {
            for j in i + 1..8 {
                assert_ne!(
                    outs[i],
                    outs[j],
                    "{:?} vs {:?}",
                    Augmentation::ALL[i],
                    Augmentation::ALL[j]
                );
            }
        }
    }

    #[test]
    fn composition_is_closed_and_matches_applying_twice() {
        let img = asymmetric_rgb();
        for a in Augmentation::ALL {
            for b in Augmentation::ALL {
                let twice = b.apply(&a.apply(&img));
                assert_eq!(a.then(b).apply(&img), twice, "{a:?} then {b:?}");
            }
        }
    }

    #[test]
    fn identity_and_inverses_make_a_group() {
        let img = asymmetric_rgb();
        for a in Augmentation::ALL {
            assert_eq!(a.then(Augmentation::Identity), a);
            assert_eq!(Augmentation::Identity.then(a), a);
            assert_eq!(a.then(a.inverse()), Augmentation::Identity);
            assert_eq!(a.inverse().apply(&a.apply(&img)), img);
            for b in Augmentation::ALL {
                for c in Augmentation::ALL {
                    assert_eq!(a.then(b).then(c), a.then(b.then(c)));
                }
            }
        }
        // Not commutative: D4 is not abelian.
        assert_ne!(
            Augmentation::Rot90.then(Augmentation::FlipHorizontal),
            Augmentation::FlipHorizontal.then(Augmentation::Rot90)
        );
    }

    #[test]
    fn image_and_mask_get_the_same_transform() {
        let img = asymmetric_rgb();
        let mask = mask_of(&img);
        let mut rng = SplitMix64::new(42);
        let mut drawn = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let (a, i, m) = Augmentation::random_pair(&mut rng, &img, &mask);
            drawn.insert(a);
            assert_eq!(mask_of(&i), m, "{a:?}");
            assert_eq!(i, a.apply(&img));
        }
        assert_eq!(drawn.len(), 8, "every element is drawn");
    }

    #[test]
    fn float_and_gray_images_work() {
        let f = image::ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(2, 1, vec![0.25, 0.75])
            .unwrap_or_else(|| unreachable!());
        let r = Augmentation::Rot90.apply(&f);
        assert_eq!(r.dimensions(), (1, 2));
        assert_eq!(r.into_raw(), vec![0.25, 0.75]);
    }
}

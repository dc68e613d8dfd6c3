//! The paper's data preparation: from a folder of images and annotations to square images cut
//! into samples, split by source image, with D4 augmentation for training.
//!
//! The steps, each in its own module:
//! 1. [`layout`]: find the image/annotation pairs of a BreCaHAD, TNBC, MoNuSeg or plain folder
//!    and read them as an RGB image and a 0/255 mask ([`points`] draws point annotations as
//!    disks).
//! 2. [`prepare`]: optionally run the paper's preprocessing chain
//!    ([`crate::filters::preprocess_u8`]) at the source resolution, then make the pair square
//!    ([`square`]; BreCaHAD's 1360x1024 becomes 1024x1024 as in the paper).
//! 3. [`cut`]: cut the pair into samples by a [`tiling::Scheme`] (`original`, `grid2`,
//!    `512p256s`, `256p128s`, `128p64s`, any `NpMs`), optionally dropping samples whose mask is
//!    empty (the paper's "zero" variants).
//! 4. [`split`]: assign whole source images (TNBC: slides) to train or test with a seed, and
//!    measure what a split over patches would have leaked.
//! 5. [`augment`]: the eight D4 symmetries, applied on the fly to image and mask alike.
//!
//! [`manifest`] describes a built dataset (`dataset.json`) and summarises it; [`count_samples`]
//! gives the sample counts of a build from the masks alone, and [`all_cells`] reads BreCaHAD's
//! `all_cells.csv` so those counts can be made for all 162 BreCaHAD images without them.

pub mod all_cells;
pub mod augment;
pub mod from_slide;
pub mod layout;
pub mod manifest;
pub mod points;
pub mod rng;
pub mod split;
pub mod square;
pub mod tiling;

use image::{GrayImage, ImageBuffer, Pixel, RgbImage};
use serde::Serialize;

use crate::rect::Rect;
use crate::{Error, Result};
use square::SquareMode;
use tiling::Scheme;

/// An owned image of any pixel type (RGB, gray, float), as the `image` crate stores it.
pub type Buffer<P> = ImageBuffer<P, Vec<<P as Pixel>::Subpixel>>;

/// What happens to a whole image before it is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrepareOptions {
    /// Run the preprocessing chain (Gaussian 5x5, sharpen 3x3, median 3x3) on the image.
    pub prep: bool,
    /// Make the pair `side x side` this way; `None` keeps the size.
    pub square: Option<(u32, SquareMode)>,
}

/// Preprocesses (if asked) and squares (if asked) an image and its mask.
///
/// The chain runs before squaring, so its 3x3 and 5x5 kernels act on the scanner's pixels;
/// the mask is only squared (nearest neighbour). Fails when the sizes differ.
pub fn prepare(
    image: &RgbImage,
    mask: &GrayImage,
    opts: PrepareOptions,
) -> Result<(RgbImage, GrayImage)> {
    if image.dimensions() != mask.dimensions() {
        return Err(Error::SizeMismatch {
            what: "image",
            a_w: image.width(),
            a_h: image.height(),
            other: "mask",
            b_w: mask.width(),
            b_h: mask.height(),
        });
    }
    let image = if opts.prep {
        crate::filters::preprocess_u8(image)
    } else {
        image.clone()
    };
    match opts.square {
        None => Ok((image, mask.clone())),
        Some((side, mode)) => Ok((
            square::square_image(&image, side, mode)?,
            square::square_mask(mask, side, mode)?,
        )),
    }
}

/// One sample cut from an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Where it lies in the prepared image.
    pub rect: Rect,
    /// Whether its mask has no labelled pixel.
    pub empty: bool,
    /// The image part.
    pub image: RgbImage,
    /// The mask part.
    pub mask: GrayImage,
}

/// Cuts a prepared pair into the samples of `scheme`, leaving out empty ones with
/// `drop_empty`.
///
/// ```
/// use histoseg_core::dataset::{cut, tiling::Scheme};
/// use image::{GrayImage, RgbImage, Luma};
/// let image = RgbImage::new(1024, 1024);
/// let mut mask = GrayImage::new(1024, 1024);
/// mask.put_pixel(10, 10, Luma([255]));
/// let all = cut(&image, &mask, "256p128s".parse().unwrap(), false).unwrap();
/// assert_eq!(all.len(), 49);
/// let labelled = cut(&image, &mask, "256p128s".parse().unwrap(), true).unwrap();
/// assert_eq!(labelled.len(), 1); // only the top-left patch holds (10, 10)
/// ```
pub fn cut(
    image: &RgbImage,
    mask: &GrayImage,
    scheme: Scheme,
    drop_empty: bool,
) -> Result<Vec<Patch>> {
    if image.dimensions() != mask.dimensions() {
        return Err(Error::SizeMismatch {
            what: "image",
            a_w: image.width(),
            a_h: image.height(),
            other: "mask",
            b_w: mask.width(),
            b_h: mask.height(),
        });
    }
    Ok(tiling::plan(mask, scheme, drop_empty)?
        .into_iter()
        .map(|p| Patch {
            rect: p.rect,
            empty: p.empty,
            image: tiling::crop(image, p.rect),
            mask: tiling::crop(mask, p.rect),
        })
        .collect())
}

/// How many samples a scheme cuts from one image, and how many of them are not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SampleCount {
    /// Every sample (a build without drop-empty).
    pub all: usize,
    /// The samples with a labelled pixel (a build with drop-empty).
    pub labelled: usize,
}

/// The samples each of `schemes` cuts from an image with this source `mask`, squared first as
/// [`prepare`] squares it: the counts a build would give without and with drop-empty, from the
/// mask alone (the image is not needed).
///
/// ```
/// use histoseg_core::dataset::{SampleCount, count_samples, square::SquareMode, tiling::Scheme};
/// use image::{GrayImage, Luma};
/// let mut mask = GrayImage::new(1360, 1024);
/// for (x, y) in [(10, 10), (11, 10), (10, 11), (11, 11)] {
///     mask.put_pixel(x, y, Luma([255])); // a 2x2 block survives the 1360 -> 1024 resize
/// }
/// let counts = count_samples(&mask, Some((1024, SquareMode::Resize)), &Scheme::PAPER).unwrap();
/// let all: Vec<usize> = counts.iter().map(|c| c.all).collect();
/// assert_eq!(all, vec![1, 4, 9, 49, 225]);
/// assert_eq!(counts[4], SampleCount { all: 225, labelled: 1 });
/// ```
pub fn count_samples(
    mask: &GrayImage,
    square: Option<(u32, SquareMode)>,
    schemes: &[Scheme],
) -> Result<Vec<SampleCount>> {
    let squared;
    let mask = match square {
        Some((side, mode)) => {
            squared = square::square_mask(mask, side, mode)?;
            &squared
        }
        None => mask,
    };
    schemes
        .iter()
        .map(|&scheme| {
            let plan = tiling::plan(mask, scheme, false)?;
            Ok(SampleCount {
                all: plan.len(),
                labelled: plan.iter().filter(|p| !p.empty).count(),
            })
        })
        .collect()
}

//! Making images square: the paper resizes BreCaHAD's 1360x1024 images to 1024x1024;
//! a centre crop is offered instead, keeping the scanner's pixel size.
//!
//! Images are resized with a triangle (bilinear) filter; masks with nearest neighbour, so they
//! stay binary and no new label values appear. The filter is the `image` crate's `Triangle`,
//! which widens its support when shrinking (area-aware) where OpenCV's `INTER_LINEAR` samples
//! only the four nearest pixels, so resized pixels differ slightly from an OpenCV pipeline.

use image::imageops::{self, FilterType};
use image::{GrayImage, ImageBuffer, Pixel, RgbImage};
use serde::{Deserialize, Serialize};

use crate::rect::Rect;
use crate::{Error, Result};

/// How a non-square image becomes `side x side`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SquareMode {
    /// Resize the whole image (aspect ratio changes), as the paper did.
    #[default]
    Resize,
    /// Cut the largest centred square, then resize it to the side if it differs.
    CentreCrop,
}

/// The centred square of a `width x height` image.
///
/// ```
/// use histoseg_core::dataset::square::centre_square;
/// use histoseg_core::rect::Rect;
/// assert_eq!(centre_square(1360, 1024), Rect::new(168, 0, 1024, 1024));
/// ```
pub fn centre_square(width: u32, height: u32) -> Rect {
    let side = width.min(height);
    Rect::new((width - side) / 2, (height - side) / 2, side, side)
}

fn squared<P: Pixel + 'static>(
    image: &ImageBuffer<P, Vec<P::Subpixel>>,
    side: u32,
    mode: SquareMode,
    filter: FilterType,
) -> Result<ImageBuffer<P, Vec<P::Subpixel>>> {
    let (w, h) = image.dimensions();
    if side == 0 || w == 0 || h == 0 {
        return Err(Error::InvalidParameter {
            name: "square",
            problem: format!("cannot make a {w}x{h} image {side}x{side}"),
        });
    }
    let source = match mode {
        SquareMode::Resize => None,
        SquareMode::CentreCrop => {
            let r = centre_square(w, h);
            Some(imageops::crop_imm(image, r.x, r.y, r.w, r.h).to_image())
        }
    };
    let src = source.as_ref().unwrap_or(image);
    if src.dimensions() == (side, side) {
        return Ok(src.clone());
    }
    Ok(imageops::resize(src, side, side, filter))
}

/// The image made `side x side` (bilinear when resizing).
pub fn square_image(image: &RgbImage, side: u32, mode: SquareMode) -> Result<RgbImage> {
    squared(image, side, mode, FilterType::Triangle)
}

/// The mask made `side x side` the same way as its image, by nearest neighbour.
///
/// ```
/// use histoseg_core::dataset::square::{SquareMode, square_mask};
/// use image::GrayImage;
/// let mask = GrayImage::from_raw(4, 2, vec![0, 255, 255, 0, 0, 255, 255, 0]).unwrap();
/// let crop = square_mask(&mask, 2, SquareMode::CentreCrop).unwrap();
/// assert_eq!(crop.into_raw(), vec![255, 255, 255, 255]);
/// let resized = square_mask(&mask, 2, SquareMode::Resize).unwrap();
/// assert!(resized.pixels().all(|p| p[0] == 0 || p[0] == 255));
/// ```
pub fn square_mask(mask: &GrayImage, side: u32, mode: SquareMode) -> Result<GrayImage> {
    squared(mask, side, mode, FilterType::Nearest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn resize_and_crop_give_the_side_and_crop_keeps_pixels() {
        let img = RgbImage::from_fn(136, 102, |x, y| Rgb([x as u8, y as u8, 7]));
        let r = square_image(&img, 64, SquareMode::Resize).unwrap_or_default();
        assert_eq!(r.dimensions(), (64, 64));
        let c = square_image(&img, 102, SquareMode::CentreCrop).unwrap_or_default();
        assert_eq!(c.dimensions(), (102, 102));
        assert_eq!(c.get_pixel(0, 0), img.get_pixel(17, 0));
        assert!(square_image(&img, 0, SquareMode::Resize).is_err());
    }

    #[test]
    fn an_already_square_image_is_unchanged() {
        let img = RgbImage::from_fn(32, 32, |x, y| Rgb([x as u8, y as u8, 0]));
        assert_eq!(
            square_image(&img, 32, SquareMode::Resize).ok(),
            Some(img.clone())
        );
    }
}

//! JPEG encoding of fragments and overviews.
//!
//! Uses the `jpeg-encoder` crate rather than `image`'s own JPEG encoder: it writes the same
//! baseline JPEG several times faster, and fragments are the bulk of `extract`'s output.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder};

use crate::{Error, Result};

/// Encodes `image` as a baseline JPEG of `quality` (1-100, clamped).
///
/// ```
/// let img = image::RgbImage::from_pixel(8, 4, image::Rgb([200, 40, 90]));
/// let bytes = histoseg_core::jpeg::encode(&img, 90).unwrap();
/// let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
/// assert_eq!(back.dimensions(), (8, 4));
/// assert!(back.pixels().all(|p| p.0.iter().zip([200, 40, 90]).all(|(a, b)| a.abs_diff(b) <= 3)));
/// ```
pub fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let too_large = || Error::InvalidParameter {
        name: "image",
        problem: format!(
            "{}x{} is larger than JPEG's 65535x65535 limit",
            image.width(),
            image.height()
        ),
    };
    let width = u16::try_from(image.width()).map_err(|_| too_large())?;
    let height = u16::try_from(image.height()).map_err(|_| too_large())?;
    let mut bytes = Vec::new();
    Encoder::new(&mut bytes, quality.clamp(1, 100))
        .encode(image.as_raw(), width, height, ColorType::Rgb)
        .map_err(|e| Error::InvalidParameter {
            name: "image",
            problem: format!("JPEG encoding failed: {e}"),
        })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_images_are_refused() {
        let img = RgbImage::new(70_000, 1);
        let err = encode(&img, 90).expect_err("too wide");
        assert!(err.to_string().contains("65535"), "{err}");
    }

    #[test]
    fn quality_changes_size() {
        let img = RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x ^ y) * 4) as u8])
        });
        let low = encode(&img, 10).expect("encodes");
        let high = encode(&img, 95).expect("encodes");
        assert!(low.len() < high.len());
    }
}

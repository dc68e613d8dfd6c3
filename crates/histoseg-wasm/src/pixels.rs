//! Pixels from JavaScript as `&[u8]` + width + height: 1 (grey), 3 (RGB) or 4 (RGBA, as in
//! `ImageData`) bytes a pixel, told apart by the length.

use histoseg_core::filters::{self, Image8};
use image::{GrayImage, Pixel, Rgb, Rgba};

use crate::{Error, Result};

/// Bytes a pixel of `pixels` at `width` x `height`: 1, 3 or 4.
pub fn channels(pixels: &[u8], width: u32, height: u32) -> Result<usize> {
    let area = u64::from(width) * u64::from(height);
    let len = pixels.len() as u64;
    [1u64, 3, 4]
        .into_iter()
        .find(|c| area > 0 && len == area * c)
        .map(|c| c as usize)
        .ok_or_else(|| {
            Error::Input(format!(
                "{len} bytes do not make a {width}x{height} image of 1, 3 or 4 bytes a pixel"
            ))
        })
}

/// A grey mask of `width` x `height` (one byte a pixel, non-zero = foreground).
pub fn mask(pixels: &[u8], width: u32, height: u32, what: &str) -> Result<GrayImage> {
    GrayImage::from_raw(width, height, pixels.to_vec())
        .filter(|m| m.len() == pixels.len())
        .ok_or_else(|| {
            Error::Input(format!(
                "{what}: {} bytes is not a {width}x{height} mask of one byte a pixel",
                pixels.len()
            ))
        })
}

/// An 8-bit filter, applicable to every pixel layout.
pub trait Filter {
    /// Runs the filter on one layout.
    fn apply<P: Pixel<Subpixel = u8>>(&self, image: &Image8<P>) -> Result<Image8<P>>;
}

/// Runs `filter` on the pixels in their own layout and returns the bytes in the same layout.
pub fn filter(pixels: &[u8], width: u32, height: u32, filter: &impl Filter) -> Result<Vec<u8>> {
    fn run<P: Pixel<Subpixel = u8>>(
        pixels: &[u8],
        w: u32,
        h: u32,
        f: &impl Filter,
    ) -> Result<Vec<u8>> {
        let img = Image8::<P>::from_raw(w, h, pixels.to_vec())
            .ok_or_else(|| Error::Input("pixel buffer too short".into()))?;
        Ok(f.apply(&img)?.into_raw())
    }
    match channels(pixels, width, height)? {
        1 => run::<image::Luma<u8>>(pixels, width, height, filter),
        3 => run::<Rgb<u8>>(pixels, width, height, filter),
        _ => run::<Rgba<u8>>(pixels, width, height, filter),
    }
}

/// An RGB image from pixels of any layout (grey is repeated, alpha dropped).
pub fn rgb(pixels: &[u8], width: u32, height: u32) -> Result<image::RgbImage> {
    let c = channels(pixels, width, height)?;
    let bytes: Vec<u8> = match c {
        3 => pixels.to_vec(),
        1 => pixels.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    image::RgbImage::from_raw(width, height, bytes)
        .ok_or_else(|| Error::Input("pixel buffer too short".into()))
}

/// Scales the bytes to `[0, 1]` as the model's input expects.
pub fn normalize(pixels: &[u8], width: u32, height: u32) -> Result<Vec<f32>> {
    channels(pixels, width, height)?;
    let gray = GrayImage::from_raw(pixels.len() as u32, 1, pixels.to_vec())
        .ok_or_else(|| Error::Input("pixel buffer too short".into()))?;
    Ok(filters::normalize(&gray).into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Median;
    impl Filter for Median {
        fn apply<P: Pixel<Subpixel = u8>>(&self, image: &Image8<P>) -> Result<Image8<P>> {
            Ok(filters::median3(image))
        }
    }

    #[test]
    fn layouts_follow_the_length_and_rgba_matches_rgb() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 37 % 256) as u8).collect();
        let rgba: Vec<u8> = rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let a = filter(&rgb, 4, 3, &Median).expect("rgb");
        let b = filter(&rgba, 4, 3, &Median).expect("rgba");
        let b_rgb: Vec<u8> = b.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        assert_eq!(a, b_rgb);
        assert!(b.chunks(4).all(|p| p[3] == 255));
        let err = filter(&rgb[1..], 4, 3, &Median).expect_err("35 bytes");
        assert!(err.to_string().contains("4x3"), "{err}");
        assert_eq!(normalize(&[0, 255], 2, 1).expect("grey"), vec![0.0, 1.0]);
        assert_eq!(super::rgb(&rgba, 4, 3).expect("rgba").into_raw(), rgb);
        assert_eq!(
            super::rgb(&[7, 9], 2, 1).expect("grey").into_raw(),
            [7, 7, 7, 9, 9, 9]
        );
        assert!(super::rgb(&rgb[1..], 4, 3).is_err());
    }
}

//! JPEG encoding of fragments and overviews.
//!
//! Uses the `jpeg-encoder` crate rather than `image`'s own JPEG encoder: it writes the same
//! baseline JPEG several times faster, and fragments are the bulk of `extract`'s output.
//!
//! Images taller than one strip are encoded strip by strip on all cores (natively) and joined
//! with restart markers: the bytes are exactly those of the encoder run once over the whole
//! image with that restart interval, whatever the number of threads.

use image::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use crate::{Error, Result};

/// Rows per strip (rounded down to whole MCU rows).
const STRIP_ROWS: usize = 256;

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
    let quality = quality.clamp(1, 100);
    let Some(interval) = strip_interval(width, quality) else {
        return encode_part(image.as_raw(), width, height, quality, None);
    };
    let mcu = mcu_side(quality);
    let strip_rows = usize::from(interval) / usize::from(width).div_ceil(mcu) * mcu;
    if usize::from(height) <= strip_rows {
        return encode_part(image.as_raw(), width, height, quality, None);
    }
    let strips: Vec<&[u8]> = image
        .as_raw()
        .chunks(strip_rows * usize::from(width) * 3)
        .collect();
    let parts = crate::par::map(&strips, |rows| {
        let h = (rows.len() / (usize::from(width) * 3)) as u16;
        encode_part(rows, width, h, quality, Some(interval))
    });
    let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
    join_strips(&parts, height).ok_or_else(|| Error::InvalidParameter {
        name: "image",
        problem: "JPEG strips could not be joined".into(),
    })
}

/// Side of a minimum coded unit: jpeg-encoder's default sampling, 4:2:0 below quality 90 and
/// 4:4:4 from 90 (set explicitly in [`encode_part`]).
fn mcu_side(quality: u8) -> usize {
    if quality < 90 { 16 } else { 8 }
}

/// MCUs per strip (the restart interval) for an image `width` px wide.
fn strip_interval(width: u16, quality: u8) -> Option<u16> {
    let mcu = mcu_side(quality);
    let across = usize::from(width).div_ceil(mcu).max(1);
    let mcu_rows = (STRIP_ROWS / mcu).min(usize::from(u16::MAX) / across);
    u16::try_from(across * mcu_rows).ok().filter(|&i| i > 0)
}

fn encode_part(
    rgb: &[u8],
    width: u16,
    height: u16,
    quality: u8,
    restart_interval: Option<u16>,
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, quality);
    encoder.set_sampling_factor(if mcu_side(quality) == 16 {
        SamplingFactor::F_2_2
    } else {
        SamplingFactor::F_1_1
    });
    if let Some(interval) = restart_interval {
        encoder.set_restart_interval(interval);
    }
    encoder
        .encode(rgb, width, height, ColorType::Rgb)
        .map_err(|e| Error::InvalidParameter {
            name: "image",
            problem: format!("JPEG encoding failed: {e}"),
        })?;
    Ok(bytes)
}

/// Joins strips encoded with a restart interval of one strip: the first strip's headers with
/// the full height, then each strip's entropy-coded data, `RSTn` markers between them.
fn join_strips(parts: &[Vec<u8>], height: u16) -> Option<Vec<u8>> {
    // (offset of the frame header's height, start of the scan data) of a JPEG from the encoder.
    let layout = |b: &[u8]| -> Option<(Option<usize>, usize)> {
        let (mut i, mut sof) = (2, None);
        while i + 4 <= b.len() && b[i] == 0xFF {
            let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
            match b[i + 1] {
                0xC0..=0xC2 => sof = Some(i + 5),
                0xDA => return Some((sof, i + 2 + len)),
                _ => {}
            }
            i += 2 + len;
        }
        None
    };
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for (k, part) in parts.iter().enumerate() {
        let (sof, data) = layout(part)?;
        let end = part
            .len()
            .checked_sub(2)
            .filter(|&e| part[e..] == [0xFF, 0xD9])?;
        if k == 0 {
            let sof = sof?;
            out.extend_from_slice(&part[..data]);
            out[sof..sof + 2].copy_from_slice(&height.to_be_bytes());
        } else {
            out.extend_from_slice(&[0xFF, 0xD0 + ((k - 1) % 8) as u8]);
        }
        out.extend_from_slice(&part[data..end]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
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
    fn strips_join_into_the_encoder_s_own_restart_stream() {
        for (w, h, quality) in [(100, 700, 90), (37, 600, 50), (200, 257, 95)] {
            let img = RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x * 7 + y) as u8, (y * 3) as u8, ((x ^ y) * 5) as u8])
            });
            let joined = encode(&img, quality).expect("encodes");
            let interval = strip_interval(w as u16, quality).expect("interval");
            let whole = encode_part(img.as_raw(), w as u16, h as u16, quality, Some(interval))
                .expect("encodes");
            assert!(joined == whole, "{w}x{h} q{quality}");
            let back = image::load_from_memory(&joined).expect("decodes").to_rgb8();
            assert_eq!(back.dimensions(), (w, h));
        }
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

//! Decoding one stored chunk (tile or strip) into RGB pixels: decompression (none, LZW,
//! Deflate, PackBits, JPEG with shared tables), the horizontal predictor, and the colour
//! models seen in slides (RGB, YCbCr JPEG, grey, palette).

use image::RgbImage;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::ifd::{ImageIfd, MAX_CHUNK_BYTES};

/// Whether `compression` is a JPEG 2000 flavour (Aperio 33003 / 33005, or 34712).
pub(crate) fn is_jpeg2000(compression: u16) -> bool {
    matches!(compression, 33003 | 33005 | 34712)
}

/// Checks once per image that its pixels can be decoded, with a message saying why not.
pub(crate) fn check_supported(ifd: &ImageIfd) -> Result<(), String> {
    let c = ifd.compression;
    if c == 7 || is_jpeg2000(c) {
        return Ok(()); // the JPEG / JPEG 2000 stream says what it holds
    }
    if !matches!(c, 1 | 5 | 7 | 8 | 32946 | 32773) {
        return Err(format!(
            "compression {} not supported",
            ifd.compression_name()
        ));
    }
    if ifd.bits != 8 {
        return Err(format!(
            "{}-bit samples not supported (only 8-bit)",
            ifd.bits
        ));
    }
    if ifd.sample_format != 1 {
        return Err(format!(
            "sample format {} not supported (only unsigned)",
            ifd.sample_format
        ));
    }
    if ifd.planar != 1 {
        return Err("planar (separate) sample layout not supported".into());
    }
    if !matches!(ifd.predictor, 1 | 2) {
        return Err(format!("predictor {} not supported", ifd.predictor));
    }
    match (ifd.photometric, ifd.samples) {
        (0 | 1, _) => Ok(()),
        (2, s) if s >= 3 => Ok(()),
        (3, _) if ifd.color_map.is_some() => Ok(()),
        (p, s) => Err(format!(
            "photometric interpretation {p} with {s} samples not supported without JPEG"
        )),
    }
}

/// A decoded chunk, and what was wrong with its data where it decoded only leniently.
pub(crate) struct Decoded {
    pub image: RgbImage,
    pub damage: Option<String>,
}

/// Decodes chunk bytes `raw` of `ifd` into an RGB image of the chunk's stored size.
pub(crate) fn decode_chunk(ifd: &ImageIfd, cy: u32, raw: &[u8]) -> Result<Decoded, String> {
    check_supported(ifd)?;
    let (w, h) = ifd.chunk_size(cy);
    if ifd.reduce > 1 {
        // A derived level: its source's chunk, decoded whole and reduced.
        let f = ifd.reduce;
        let source = decode_stored_chunk(ifd, raw, w * f, h * f)?;
        return Ok(Decoded {
            image: box_reduce(&source.image, f),
            damage: source.damage,
        });
    }
    decode_stored_chunk(ifd, raw, w, h)
}

/// Each `f` x `f` block of `img` averaged into one pixel (rounded).
fn box_reduce(img: &RgbImage, f: u32) -> RgbImage {
    let (w, h) = (img.width() / f, img.height() / f);
    let n = f * f;
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        for dy in 0..f {
            for dx in 0..f {
                let p = img.get_pixel(x * f + dx, y * f + dy).0;
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
            }
        }
        image::Rgb(sum.map(|v| ((v + n / 2) / n) as u8))
    })
}

fn decode_stored_chunk(ifd: &ImageIfd, raw: &[u8], w: u32, h: u32) -> Result<Decoded, String> {
    if ifd.compression == 7 {
        // Strictly first: the lenient decoder fills broken data with made-up pixels silently.
        return match decode_jpeg(ifd, raw, w, h, true) {
            Ok(image) => Ok(Decoded {
                image,
                damage: None,
            }),
            Err(problem) => decode_jpeg(ifd, raw, w, h, false).map(|image| Decoded {
                image,
                damage: Some(problem),
            }),
        };
    }
    let image = if is_jpeg2000(ifd.compression) {
        decode_jpeg2000(ifd.compression, raw, w, h)?
    } else {
        decode_plain(ifd, raw, w, h)?
    };
    Ok(Decoded {
        image,
        damage: None,
    })
}

/// Uncompressed, LZW, Deflate and PackBits chunks.
fn decode_plain(ifd: &ImageIfd, raw: &[u8], w: u32, h: u32) -> Result<RgbImage, String> {
    let spp = usize::from(ifd.samples);
    let expected = w as usize * h as usize * spp;
    if expected as u64 > MAX_CHUNK_BYTES {
        return Err(format!(
            "a chunk of {w}x{h} px is beyond the decoding limit"
        ));
    }
    let mut data = match ifd.compression {
        1 => {
            let mut d = raw[..raw.len().min(expected)].to_vec();
            d.resize(expected, 0);
            d
        }
        5 => lzw(raw, expected)?,
        8 | 32946 => inflate(raw, expected)?,
        32773 => packbits(raw, expected),
        c => return Err(format!("compression {c} not supported")),
    };
    if ifd.predictor == 2 {
        for row in data.chunks_exact_mut(w as usize * spp) {
            for i in spp..row.len() {
                row[i] = row[i].wrapping_add(row[i - spp]);
            }
        }
    }
    to_rgb(ifd, &data, w, h)
}

/// Decodes a JPEG 2000 codestream tile (Aperio 33003 YCbCr, 33005 RGB, or 34712) with the
/// pure-Rust `hayro-jpeg2000`, which also builds for wasm32.
fn decode_jpeg2000(compression: u16, raw: &[u8], w: u32, h: u32) -> Result<RgbImage, String> {
    use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};
    let image = Image::new(raw, &DecodeSettings::default())
        .map_err(|e| format!("JPEG 2000 stream cannot be read: {e}"))?;
    if (image.width(), image.height()) != (w, h) {
        return Err(format!(
            "JPEG 2000 tile is {}x{}, the file declares {w}x{h}",
            image.width(),
            image.height()
        ));
    }
    let mut context = DecoderContext::default();
    let decoded = image
        .decode(&mut context)
        .map_err(|e| format!("JPEG 2000 tile cannot be decoded: {e}"))?;
    let channels = decoded.components().len();
    let data = decoded.data_u8();
    let mut rgb: Vec<u8> = match channels {
        1 => data.iter().flat_map(|&g| [g, g, g]).collect(),
        3 | 4 => data
            .chunks_exact(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        n => return Err(format!("JPEG 2000 tile with {n} components not supported")),
    };
    // Aperio's 33003 stores YCbCr without the codestream's colour transform (as OpenSlide
    // reads it); convert with the JPEG (JFIF) matrix, unless hayro already did: it takes a
    // bare codestream with subsampled chroma for sYCC and converts it itself.
    if compression == 33003 && channels >= 3 && !has_subsampled_chroma(raw) {
        for px in rgb.chunks_exact_mut(3) {
            let (y, cb, cr) = (
                f32::from(px[0]),
                f32::from(px[1]) - 128.0,
                f32::from(px[2]) - 128.0,
            );
            // Round half up and saturate (`as u8`) without the libm `round` call.
            let to_u8 = |v: f32| (v.max(0.0) + 0.5) as u8;
            px[0] = to_u8(y + 1.402 * cr);
            px[1] = to_u8(y - 0.344_136 * cb - 0.714_136 * cr);
            px[2] = to_u8(y + 1.772 * cb);
        }
    }
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| "JPEG 2000 tile decoded to the wrong size".into())
}

/// Whether a bare JPEG 2000 codestream has three components whose last two share a coarser
/// sampling than the first (read from its SIZ marker), the case hayro-jpeg2000 decodes as sYCC.
fn has_subsampled_chroma(stream: &[u8]) -> bool {
    // SOC, SIZ, Lsiz, Rsiz, 8 x 4 bytes of sizes, Csiz: 42 bytes, then 3 bytes a component.
    if stream.len() < 42 + 9 || stream[..4] != [0xFF, 0x4F, 0xFF, 0x51] {
        return false;
    }
    let components = u16::from_be_bytes([stream[40], stream[41]]);
    let sampling = |c: usize| (stream[42 + 3 * c + 1], stream[42 + 3 * c + 2]);
    let (y, cb, cr) = (sampling(0), sampling(1), sampling(2));
    components == 3 && cb == cr && cb != y && cb.0 >= y.0 && cb.1 >= y.1
}

fn to_rgb(ifd: &ImageIfd, data: &[u8], w: u32, h: u32) -> Result<RgbImage, String> {
    let spp = usize::from(ifd.samples);
    let n = w as usize * h as usize;
    let mut out = Vec::with_capacity(n * 3);
    match ifd.photometric {
        2 => {
            for px in data.chunks_exact(spp).take(n) {
                out.extend_from_slice(&px[..3]);
            }
        }
        0 | 1 => {
            let invert = ifd.photometric == 0;
            for px in data.chunks_exact(spp).take(n) {
                let g = if invert { 255 - px[0] } else { px[0] };
                out.extend_from_slice(&[g, g, g]);
            }
        }
        3 => {
            let map = ifd.color_map.as_deref().unwrap_or(&[]);
            if map.len() < 3 * 256 {
                return Err(format!("palette of {} entries, expected 768", map.len()));
            }
            for px in data.chunks_exact(spp).take(n) {
                let i = usize::from(px[0]);
                let c = |k: usize| (map[k * 256 + i] >> 8) as u8;
                out.extend_from_slice(&[c(0), c(1), c(2)]);
            }
        }
        p => return Err(format!("photometric interpretation {p} not supported")),
    }
    RgbImage::from_raw(w, h, out).ok_or_else(|| "chunk decoded to the wrong size".to_string())
}

fn lzw(raw: &[u8], expected: usize) -> Result<Vec<u8>, String> {
    use weezl::{BitOrder, LzwStatus, decode::Decoder};
    let mut out = vec![0u8; expected];
    let mut dec = Decoder::with_tiff_size_switch(BitOrder::Msb, 8);
    let (mut inp, mut filled) = (raw, 0usize);
    while filled < expected {
        let r = dec.decode_bytes(inp, &mut out[filled..]);
        filled += r.consumed_out;
        inp = &inp[r.consumed_in..];
        match r.status {
            Ok(LzwStatus::Ok) if r.consumed_in > 0 || r.consumed_out > 0 => {}
            Ok(_) => break,
            Err(e) => return Err(format!("LZW data is corrupt: {e}")),
        }
    }
    Ok(out)
}

fn inflate(raw: &[u8], expected: usize) -> Result<Vec<u8>, String> {
    use miniz_oxide::inflate::{TINFLStatus, decompress_to_vec_zlib_with_limit};
    let mut out = match decompress_to_vec_zlib_with_limit(raw, expected) {
        Ok(v) => v,
        // More data than the chunk holds: keep what fills it.
        Err(e) if e.status == TINFLStatus::HasMoreOutput => e.output,
        Err(e) => return Err(format!("Deflate data is corrupt: {e}")),
    };
    out.resize(expected, 0);
    Ok(out)
}

fn packbits(raw: &[u8], expected: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(expected);
    let mut i = 0;
    while i < raw.len() && out.len() < expected {
        let n = raw[i] as i8;
        i += 1;
        if n >= 0 {
            let len = (n as usize + 1).min(raw.len() - i);
            out.extend_from_slice(&raw[i..i + len]);
            i += len;
        } else if n != -128 {
            if let Some(&b) = raw.get(i) {
                out.extend(std::iter::repeat_n(b, (1 - n as isize) as usize));
            }
            i += 1;
        }
    }
    out.resize(expected, 0);
    out
}

/// Which colour model the components of a TIFF JPEG stream hold.
fn jpeg_holds_ycbcr(stream: &[u8], photometric: u16) -> bool {
    // JFIF (APP0) mandates YCbCr; an Adobe APP14 marker states the transform outright.
    let mut i = 2;
    while i + 4 <= stream.len() && stream[i] == 0xFF {
        let marker = stream[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([stream[i + 2], stream[i + 3]]));
        let body = stream.get(i + 4..i + 2 + len).unwrap_or(&[]);
        if marker == 0xE0 && body.starts_with(b"JFIF") {
            return true;
        }
        if marker == 0xEE && body.starts_with(b"Adobe") && body.len() >= 12 {
            return body[11] != 0;
        }
        if marker == 0xC0 || marker == 0xC1 || marker == 0xC2 {
            // Component ids 'R','G','B' say RGB whatever the tag says.
            if body.len() >= 6 + 9 && body[5] == 3 && body[6] == b'R' && body[9] == b'G' {
                return false;
            }
        }
        i += 2 + len;
    }
    // Otherwise follow the TIFF: PhotometricInterpretation YCbCr (6) means the codec's colour
    // transform was used; RGB (2) means the components are R, G, B as stored (libtiff's rule,
    // which Aperio's JPEG/RGB tiles follow).
    photometric == 6
}

fn decode_jpeg(
    ifd: &ImageIfd,
    raw: &[u8],
    w: u32,
    h: u32,
    strict: bool,
) -> Result<RgbImage, String> {
    if let Some(header) = &ifd.jpeg_header {
        return decode_jpeg_stream(&restart_interval_stream(header, raw)?, ifd, w, h, strict);
    }
    if raw.len() < 4 || raw[0] != 0xFF || raw[1] != 0xD8 {
        return Err("JPEG tile does not start with an SOI marker".into());
    }
    // An abbreviated stream: the shared tables (SOI..EOI) go in front of the tile's own
    // segments, dropping the tables' EOI and the tile's SOI.
    let stream = match ifd.jpeg_tables.as_deref() {
        Some(t) if t.len() > 4 => {
            let mut s = Vec::with_capacity(t.len() + raw.len());
            s.extend_from_slice(&t[..t.len() - 2]);
            s.extend_from_slice(&raw[2..]);
            s
        }
        _ => raw.to_vec(),
    };
    decode_jpeg_stream(&stream, ifd, w, h, strict)
}

/// One restart interval of a larger JPEG as a JPEG of its own: the header (SOI to SOS, its
/// frame size already that of the interval), the interval's entropy-coded bytes without the
/// marker that ends them, and an EOI.
fn restart_interval_stream(header: &[u8], raw: &[u8]) -> Result<Vec<u8>, String> {
    let ends_with_marker = raw.len() >= 2
        && raw[raw.len() - 2] == 0xFF
        && matches!(raw[raw.len() - 1], 0xD0..=0xD7 | 0xD9);
    if !ends_with_marker {
        return Err(
            "restart interval does not end with a restart or end marker (a broken \
                    restart interval, or wrong offsets in the file)"
                .into(),
        );
    }
    let mut stream = Vec::with_capacity(header.len() + raw.len());
    stream.extend_from_slice(header);
    stream.extend_from_slice(&raw[..raw.len() - 2]);
    stream.extend_from_slice(&[0xFF, 0xD9]);
    Ok(stream)
}

fn decode_jpeg_stream(
    stream: &[u8],
    ifd: &ImageIfd,
    w: u32,
    h: u32,
    strict: bool,
) -> Result<RgbImage, String> {
    let ycbcr = jpeg_holds_ycbcr(stream, ifd.photometric);
    let opts = DecoderOptions::default()
        .set_max_width(1 << 16)
        .set_max_height(1 << 16)
        .set_strict_mode(strict);
    let mut dec =
        zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(stream), opts);
    dec.decode_headers()
        .map_err(|e| format!("JPEG tile is corrupt: {e}"))?;
    let input = dec.input_colorspace().unwrap_or(ColorSpace::YCbCr);
    let (jw, jh) = dec
        .dimensions()
        .map_or((0, 0), |(a, b)| (a as u32, b as u32));
    if u64::from(jw) * u64::from(jh) * 3 > MAX_CHUNK_BYTES {
        return Err(format!(
            "JPEG tile declares {jw}x{jh} px, beyond the decoding limit"
        ));
    }
    // A tile smaller than declared (seen in converted DICOM edge tiles) is refused strictly;
    // leniently its pixels are kept and the rest is white, and it counts as damaged.
    if (jw < w || jh < h) && strict {
        return Err(format!(
            "JPEG tile is {jw}x{jh} px, expected at least {w}x{h}"
        ));
    }
    let out_cs = match input {
        ColorSpace::Luma => ColorSpace::Luma,
        _ if input.num_components() == 3 && ycbcr => ColorSpace::RGB,
        _ if input.num_components() == 3 => input, // components already R, G, B
        _ => ColorSpace::RGB,
    };
    dec.set_options(opts.jpeg_set_out_colorspace(out_cs));
    let px = dec
        .decode()
        .map_err(|e| format!("JPEG tile is corrupt: {e}"))?;
    let nc = out_cs.num_components();
    if px.len() < jw as usize * jh as usize * nc {
        return Err("JPEG tile decoded to fewer pixels than it declares".into());
    }
    if (jw, jh) == (w, h) && nc == 3 {
        let mut px = px;
        px.truncate(w as usize * h as usize * 3);
        return RgbImage::from_raw(w, h, px).ok_or_else(|| "JPEG tile size mismatch".to_string());
    }
    let mut out = RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    let (cw, ch) = (w.min(jw) as usize, h.min(jh) as usize);
    for y in 0..ch {
        let row = &px[y * jw as usize * nc..][..cw * nc];
        let dst = &mut out.as_mut()[y * w as usize * 3..][..cw * 3];
        if nc == 1 {
            for (d, &g) in dst.chunks_exact_mut(3).zip(row) {
                d.copy_from_slice(&[g, g, g]);
            }
        } else {
            dst.copy_from_slice(row);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn broken_jpeg2000_streams_are_errors() {
        for raw in [
            &b"not a codestream"[..],
            &[0xFF, 0x4F, 0xFF, 0x51, 0, 0][..],
        ] {
            let err = super::decode_jpeg2000(33005, raw, 16, 16).expect_err("garbage");
            assert!(err.contains("JPEG 2000"), "{err}");
        }
    }

    use super::*;

    #[test]
    fn packbits_matches_the_tiff_spec_example() {
        // TIFF 6.0 section 9 example.
        let raw = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
            0xAA,
        ];
        let want = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        assert_eq!(packbits(&raw, want.len()), want);
    }

    #[test]
    fn lzw_round_trips_through_weezl() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let enc = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&data)
            .unwrap_or_default();
        assert_eq!(lzw(&enc, data.len()).ok(), Some(data));
    }
}

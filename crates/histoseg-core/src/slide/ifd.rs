//! One TIFF image directory turned into what the reader needs: size, chunk grid, codec,
//! colour model and chunk locations, checked against sanity limits.

use std::io::{Read, Seek};

use super::tiff_dir::{RawIfd, TiffFile, tag};

/// Largest width or height accepted for any image (a 200k px slide is large; 10^6 is absurd).
pub(crate) const MAX_SIDE_PX: u64 = 1_000_000;
/// Largest decoded chunk (tile or strip), in bytes.
pub(crate) const MAX_CHUNK_BYTES: u64 = 128 << 20;

/// How the pixels of one TIFF image are stored.
#[derive(Debug, Clone)]
pub(crate) struct ImageIfd {
    /// Offset of the directory in the file.
    pub offset: u64,
    pub width: u32,
    pub height: u32,
    /// Whether the image is tiled (else striped).
    pub tiled: bool,
    /// Chunk width (tile width, or the image width for strips).
    pub chunk_w: u32,
    /// Chunk height (tile height, or rows per strip).
    pub chunk_h: u32,
    pub offsets: Vec<u64>,
    pub byte_counts: Vec<u64>,
    pub compression: u16,
    pub photometric: u16,
    pub samples: u16,
    pub bits: u16,
    pub planar: u16,
    pub predictor: u16,
    pub sample_format: u16,
    pub jpeg_tables: Option<Vec<u8>>,
    pub color_map: Option<Vec<u64>>,
    pub description: String,
    pub subfile_type: u64,
    pub sub_ifds: Vec<u64>,
    /// X resolution, Y resolution, unit (1 none, 2 inch, 3 cm).
    pub resolution: Option<(f64, f64, u16)>,
    /// The Software tag (how Philips slides are told apart).
    pub software: String,
    /// The XMP packet (Ventana's metadata), as text.
    pub xmp: Option<String>,
    /// Hamamatsu NDPI's own tags, where the file has them.
    pub ndpi: Option<NdpiTags>,
    /// A JPEG whose chunks are bare restart intervals (NDPI): this header goes before each
    /// chunk's entropy-coded bytes, and an EOI after them.
    pub jpeg_header: Option<Vec<u8>>,
    /// A level that is another reduced by this factor (1 for a stored level): its chunks are
    /// the other's, decoded and reduced by area averaging, as OpenSlide derives NDPI levels.
    pub reduce: u32,
    /// Which of the slide's files holds the chunks (0 but for DICOM, a file a level).
    pub source: usize,
}

/// The NDPI tags of one directory.
#[derive(Debug, Clone)]
pub(crate) struct NdpiTags {
    /// Objective power of the image; -1 is the macro, -2 the map.
    pub source_lens: f64,
    /// Focal plane (0 in focus).
    pub focal_plane: f64,
    /// Start of each restart interval, from the strip's start (empty when not given).
    pub mcu_starts: Vec<u64>,
}

impl ImageIfd {
    /// Chunks across and down.
    pub fn grid(&self) -> (u32, u32) {
        (
            self.width.div_ceil(self.chunk_w),
            self.height.div_ceil(self.chunk_h),
        )
    }

    /// Pixel size of chunk `(cx, cy)` as stored (tiles are always full size; the last strip
    /// may be short).
    pub fn chunk_size(&self, cy: u32) -> (u32, u32) {
        if self.tiled {
            (self.chunk_w, self.chunk_h)
        } else {
            let top = cy * self.chunk_h;
            (self.width, self.chunk_h.min(self.height - top))
        }
    }

    /// The tile cache's key for chunk `index` (a reduced level keys apart from its source).
    pub fn cache_key(&self, index: u32) -> (u64, u32) {
        (
            self.offset | u64::from(self.reduce.trailing_zeros()) << 60,
            index,
        )
    }

    /// Name of the compression, for messages and `info`.
    pub fn compression_name(&self) -> String {
        compression_name(self.compression)
    }

    /// Microns per pixel from the resolution tags, when they give a physical unit.
    pub fn resolution_mpp(&self) -> Option<(f64, f64)> {
        let (xr, yr, unit) = self.resolution?;
        let per_unit_um = match unit {
            2 => 25_400.0,
            3 => 10_000.0,
            _ => return None,
        };
        let (mx, my) = (per_unit_um / xr, per_unit_um / yr);
        let ok = |m: f64| m.is_finite() && m > 0.01 && m < 1000.0;
        (ok(mx) && ok(my)).then_some((mx, my))
    }
}

/// A readable name for a TIFF compression code.
pub(crate) fn compression_name(code: u16) -> String {
    match code {
        1 => "none".into(),
        5 => "LZW".into(),
        6 => "old-style JPEG".into(),
        7 => "JPEG".into(),
        8 | 32946 => "Deflate".into(),
        32773 => "PackBits".into(),
        33003 => "JPEG 2000 (Aperio YCbCr, 33003)".into(),
        33005 => "JPEG 2000 (Aperio RGB, 33005)".into(),
        34712 => "JPEG 2000 (34712)".into(),
        50000 => "Zstd".into(),
        50001 => "WebP".into(),
        c => format!("unknown ({c})"),
    }
}

/// Most chunks (tiles or strips) one image may have: a 1,000,000 x 1,000,000 px level in
/// 256 px tiles has 15 million.
const MAX_CHUNKS: u64 = 1 << 24;

/// Reads and checks one image directory.
pub(crate) fn parse_image<R: Read + Seek>(
    f: &mut TiffFile<R>,
    raw: &RawIfd,
) -> Result<ImageIfd, String> {
    let at = raw.offset;
    let width = f.uint(raw, tag::IMAGE_WIDTH)?.ok_or("no ImageWidth tag")?;
    let height = f
        .uint(raw, tag::IMAGE_LENGTH)?
        .ok_or("no ImageLength tag")?;
    if width == 0 || height == 0 || width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(format!(
            "image at offset {at} declares absurd dimensions {width}x{height} \
             (accepted: 1..={MAX_SIDE_PX} px per side)"
        ));
    }
    let (width, height) = (width as u32, height as u32);
    let bits = f
        .uints(raw, tag::BITS_PER_SAMPLE)?
        .unwrap_or_else(|| vec![1]);
    let bits = *bits.first().unwrap_or(&1) as u16;
    let samples = f.uint(raw, tag::SAMPLES_PER_PIXEL)?.unwrap_or(1);
    if samples == 0 || samples > 16 {
        return Err(format!(
            "image at offset {at} declares {samples} samples per pixel"
        ));
    }
    let samples = samples as u16;
    let compression = f.uint(raw, tag::COMPRESSION)?.unwrap_or(1) as u16;
    let photometric = f
        .uint(raw, tag::PHOTOMETRIC)?
        .unwrap_or(if samples >= 3 { 2 } else { 1 }) as u16;
    let planar = f.uint(raw, tag::PLANAR_CONFIGURATION)?.unwrap_or(1) as u16;
    let predictor = f.uint(raw, tag::PREDICTOR)?.unwrap_or(1) as u16;
    let sample_format = f.uint(raw, tag::SAMPLE_FORMAT)?.unwrap_or(1) as u16;
    let tiled = f.has(raw, tag::TILE_WIDTH) || f.has(raw, tag::TILE_OFFSETS);
    let (chunk_w, chunk_h, off_tag, cnt_tag) = if tiled {
        let tw = f
            .uint(raw, tag::TILE_WIDTH)?
            .ok_or("tiled image without TileWidth")?;
        let th = f
            .uint(raw, tag::TILE_LENGTH)?
            .ok_or("tiled image without TileLength")?;
        // TIFF 6.0: tile sides are multiples of 16. Smaller tiles are refused outright: an
        // 8000 x 8000 image of 1 x 1 tiles would need 64 million offsets.
        if tw < 16 || th < 16 || tw > 1 << 16 || th > 1 << 16 {
            return Err(format!(
                "image at offset {at} declares tiles of {tw}x{th} px (accepted: 16 to 65536 \
                 px a side)"
            ));
        }
        (
            tw as u32,
            th as u32,
            tag::TILE_OFFSETS,
            tag::TILE_BYTE_COUNTS,
        )
    } else {
        let rps = f
            .uint(raw, tag::ROWS_PER_STRIP)?
            .unwrap_or(u64::from(height));
        let rps = rps.clamp(1, u64::from(height)) as u32;
        (width, rps, tag::STRIP_OFFSETS, tag::STRIP_BYTE_COUNTS)
    };
    let chunk_bytes = u64::from(chunk_w) * u64::from(chunk_h) * u64::from(samples.max(3)) * 2;
    if chunk_bytes > MAX_CHUNK_BYTES * 2 {
        return Err(format!(
            "image at offset {at}: chunks of {chunk_w}x{chunk_h} px are beyond the \
             {} MiB per-chunk limit",
            MAX_CHUNK_BYTES >> 20
        ));
    }
    let planes = if planar == 2 { u64::from(samples) } else { 1 };
    let expected =
        u64::from(width.div_ceil(chunk_w)) * u64::from(height.div_ceil(chunk_h)) * planes;
    if expected > MAX_CHUNKS {
        return Err(format!(
            "image at offset {at} ({width}x{height}, chunks {chunk_w}x{chunk_h}) would have \
             {expected} chunks, more than the {MAX_CHUNKS} accepted"
        ));
    }
    // Reading the offset arrays is bounded by the tag limit and by the file length.
    let offsets = f.uints(raw, off_tag)?.ok_or("no tile or strip offsets")?;
    let byte_counts = match f.uints(raw, cnt_tag)? {
        Some(c) => c,
        // A single uncompressed strip may omit its byte count.
        None if expected == 1 && compression == 1 => {
            vec![f.len.saturating_sub(offsets.first().copied().unwrap_or(0))]
        }
        None => return Err("no tile or strip byte counts".into()),
    };
    if (offsets.len() as u64) < expected || (byte_counts.len() as u64) < expected {
        return Err(format!(
            "image at offset {at} ({width}x{height}, chunks {chunk_w}x{chunk_h}) needs {expected} \
             chunks but declares {} offsets and {} byte counts",
            offsets.len(),
            byte_counts.len()
        ));
    }
    let jpeg_tables = if compression == 7 {
        f.bytes(raw, tag::JPEG_TABLES)?
    } else {
        None
    };
    let color_map = if photometric == 3 {
        f.uints(raw, tag::COLOR_MAP)?
    } else {
        None
    };
    let description = f.text(raw, tag::IMAGE_DESCRIPTION)?.unwrap_or_default();
    let subfile_type = f.uint(raw, tag::NEW_SUBFILE_TYPE)?.unwrap_or(0);
    let sub_ifds = f.uints(raw, tag::SUB_IFDS)?.unwrap_or_default();
    let resolution = match (
        f.real(raw, tag::X_RESOLUTION)?,
        f.real(raw, tag::Y_RESOLUTION)?,
    ) {
        (Some(x), Some(y)) => {
            let unit = f.uint(raw, tag::RESOLUTION_UNIT)?.unwrap_or(2) as u16;
            Some((x, y, unit))
        }
        _ => None,
    };
    let software = f.text(raw, tag::SOFTWARE)?.unwrap_or_default();
    let xmp = f
        .bytes(raw, tag::XMP)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let ndpi = if f.has(raw, tag::NDPI_FORMAT) {
        let low = f.uints(raw, tag::NDPI_MCU_STARTS)?.unwrap_or_default();
        let high = f.uints(raw, tag::NDPI_MCU_STARTS_HIGH)?.unwrap_or_default();
        if !high.is_empty() && high.len() != low.len() {
            return Err(format!(
                "image at offset {at}: {} high halves for {} restart-interval offsets",
                high.len(),
                low.len()
            ));
        }
        let mcu_starts = low
            .iter()
            .enumerate()
            .map(|(i, &l)| l | high.get(i).map_or(0, |h| h << 32))
            .collect();
        Some(NdpiTags {
            source_lens: f.real(raw, tag::NDPI_SOURCE_LENS)?.unwrap_or(0.0),
            focal_plane: f.real(raw, tag::NDPI_FOCAL_PLANE)?.unwrap_or(0.0),
            mcu_starts,
        })
    } else {
        None
    };
    Ok(ImageIfd {
        software,
        xmp,
        ndpi,
        jpeg_header: None,
        reduce: 1,
        source: 0,
        offset: at,
        width,
        height,
        tiled,
        chunk_w,
        chunk_h,
        offsets,
        byte_counts,
        compression,
        photometric,
        samples,
        bits,
        planar,
        predictor,
        sample_format,
        jpeg_tables,
        color_map,
        description,
        subfile_type,
        sub_ifds,
        resolution,
    })
}

//! Hamamatsu NDPI: each level one JPEG (a single strip), with restart markers whose offsets
//! the NDPI tags list, so a region is read by decoding only the restart intervals it touches,
//! never the whole level. Levels are the images with a positive objective in focal plane 0,
//! the macro has objective -1, and, as in OpenSlide, levels of half, a quarter and an eighth
//! are derived from the stored ones (here by area averaging; libjpeg's scaled decoding there).

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use super::super::ifd::ImageIfd;
use super::super::pyramid::{Associated, Layout, plausible_magnification};
use super::super::tiff_dir::TiffFile;
use super::super::{AssociatedKind, Vendor};

/// Most bytes of a level's JPEG read to find its header (tables, frame, scan header).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// What a JPEG's header says: frame size, MCU size, restart interval, and where the
/// entropy-coded data begins.
#[derive(Debug, Clone, PartialEq)]
struct JpegHeader {
    width: u32,
    height: u32,
    mcu: (u32, u32),
    restart_interval: u32,
    /// Offset of the frame header's height field (then width), to patch.
    sof_size_at: usize,
    /// Length of everything up to the entropy-coded data.
    len: usize,
}

fn parse_header(b: &[u8]) -> Result<JpegHeader, String> {
    if b.len() < 4 || b[..2] != [0xFF, 0xD8] {
        return Err("does not start with a JPEG SOI marker".into());
    }
    let (mut frame, mut restart_interval) = (None, 0u32);
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return Err(format!("JPEG header broken at byte {i}"));
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return Err(format!("JPEG segment at byte {i} runs past the header"));
        }
        let seg = &b[i + 4..end];
        match marker {
            0xC0..=0xC2 => {
                if seg.len() < 6 {
                    return Err("JPEG frame header too short".into());
                }
                let n = usize::from(seg[5]);
                if n == 0 || seg.len() < 6 + 3 * n {
                    return Err("JPEG frame header lists no components".into());
                }
                let sampling = (0..n).map(|c| seg[6 + 3 * c + 1]);
                let h = sampling
                    .clone()
                    .map(|s| u32::from(s >> 4))
                    .max()
                    .unwrap_or(1);
                let v = sampling.map(|s| u32::from(s & 15)).max().unwrap_or(1);
                frame = Some((
                    u32::from(u16::from_be_bytes([seg[3], seg[4]])),
                    u32::from(u16::from_be_bytes([seg[1], seg[2]])),
                    (8 * h.clamp(1, 4), 8 * v.clamp(1, 4)),
                    i + 5,
                ));
            }
            0xDD if seg.len() >= 2 => {
                restart_interval = u32::from(u16::from_be_bytes([seg[0], seg[1]]));
            }
            0xDA => {
                let (width, height, mcu, sof_size_at) =
                    frame.ok_or("JPEG scan comes before its frame header")?;
                return Ok(JpegHeader {
                    width,
                    height,
                    mcu,
                    restart_interval,
                    sof_size_at,
                    len: end,
                });
            }
            _ => {}
        }
        i = end;
    }
    Err("no JPEG scan header within the first MiB".into())
}

/// A level whose restart intervals are its tiles, when the file lists where they start and
/// each row of MCUs holds whole intervals; `None` otherwise.
fn as_restart_tiles(
    img: &ImageIfd,
    head: &JpegHeader,
    header_bytes: &[u8],
) -> Result<Option<ImageIfd>, String> {
    let starts = &img.ndpi.as_ref().map_or(&[][..], |n| &n.mcu_starts[..]);
    let ri = head.restart_interval;
    let (mw, mh) = head.mcu;
    let per_row = img.width.div_ceil(mw);
    if ri == 0 || ri > per_row || !per_row.is_multiple_of(ri) {
        return Ok(None);
    }
    let (tw, th) = (mw * ri, mh);
    let tiles = u64::from(per_row / ri) * u64::from(img.height.div_ceil(mh));
    if starts.len() as u64 != tiles {
        return Ok(None);
    }
    let (strip, count) = (img.offsets[0], img.byte_counts[0]);
    let mut offsets = Vec::with_capacity(starts.len());
    let mut byte_counts = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(count);
        if start < head.len as u64 || end <= start || end > count {
            return Err(format!(
                "restart interval {i} is listed at bytes {start}..{end} of a {count}-byte JPEG"
            ));
        }
        offsets.push(strip + start);
        byte_counts.push(end - start);
    }
    let mut header = header_bytes[..head.len].to_vec();
    let at = head.sof_size_at;
    header[at..at + 2].copy_from_slice(&(th as u16).to_be_bytes());
    header[at + 2..at + 4].copy_from_slice(&(tw as u16).to_be_bytes());
    Ok(Some(ImageIfd {
        tiled: true,
        chunk_w: tw,
        chunk_h: th,
        offsets,
        byte_counts,
        jpeg_header: Some(header),
        ..img.clone()
    }))
}

/// `img` reduced by `factor`, reading its chunks, when its chunks divide evenly.
fn derived(img: &ImageIfd, factor: u32) -> Option<ImageIfd> {
    if !img.chunk_w.is_multiple_of(factor) || !img.chunk_h.is_multiple_of(factor) {
        return None;
    }
    let out = ImageIfd {
        width: img.width / factor,
        height: img.height / factor,
        chunk_w: img.chunk_w / factor,
        chunk_h: img.chunk_h / factor,
        reduce: img.reduce * factor,
        ..img.clone()
    };
    (out.width > 0 && out.height > 0 && out.grid() == img.grid()).then_some(out)
}

pub(super) fn layout<R: Read + Seek>(
    f: &mut TiffFile<R>,
    chain: &[ImageIfd],
) -> Result<Layout, String> {
    let mut stored = Vec::new();
    let mut associated = Vec::new();
    let mut objective = None;
    for (n, img) in chain.iter().enumerate() {
        let Some(tags) = &img.ndpi else { continue };
        if tags.source_lens == -1.0 {
            associated.push((
                AssociatedKind::Macro,
                Associated::Ifd(Box::new(img.clone())),
            ));
            continue;
        }
        if tags.source_lens <= 0.0 || tags.focal_plane != 0.0 {
            continue;
        }
        if img.tiled || img.offsets.len() != 1 || img.compression != 7 {
            return Err(format!("NDPI image {n} is not a single JPEG strip"));
        }
        let (start, count) = (img.offsets[0], img.byte_counts[0]);
        let bytes = f.read_at(start, count.min(MAX_HEADER_BYTES))?;
        let head = parse_header(&bytes).map_err(|e| format!("NDPI image {n}: JPEG {e}"))?;
        let mut level = img.clone();
        // A JPEG cannot state sides over 65535 (NDPI writes 0 there): the TIFF's sizes hold.
        if head.width != 0
            && head.height != 0
            && (head.width, head.height) != (img.width, img.height)
        {
            (level.width, level.height) = (head.width, head.height);
            level.chunk_w = head.width;
            level.chunk_h = head.height;
        }
        let level = as_restart_tiles(&level, &head, &bytes)
            .map_err(|e| format!("NDPI image {n}: {e}"))?
            .unwrap_or(level);
        if stored
            .last()
            .is_some_and(|l: &ImageIfd| level.width >= l.width)
        {
            return Err(format!(
                "NDPI image {n} is no smaller than the level before it"
            ));
        }
        objective = objective.or(Some(tags.source_lens));
        stored.push(level);
    }
    if stored.is_empty() {
        return Err("NDPI file without pyramid levels".into());
    }
    // By width, as OpenSlide keys them: every stored level, then what each derives, the
    // smaller sources last so they win, and a stored level over any derived one.
    let mut by_width: BTreeMap<u32, ImageIfd> = BTreeMap::new();
    for level in &stored {
        for factor in [2, 4, 8] {
            if let Some(d) = derived(level, factor)
                && !stored.iter().any(|s| s.width == d.width)
            {
                by_width.insert(d.width, d);
            }
        }
        by_width.insert(level.width, level.clone());
    }
    let levels: Vec<ImageIfd> = by_width.into_values().rev().collect();
    let mpp = stored[0].resolution_mpp();
    let origins = vec![(0, 0); levels.len()];
    Ok(Layout {
        origins,
        vendor: Vendor::Hamamatsu,
        sizes: levels.iter().map(|l| (l.width, l.height)).collect(),
        levels,
        downsamples: None,
        associated,
        mpp,
        objective_power: objective.filter(plausible_magnification),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG header: SOI, DRI, SOF0 (3 components, 2x1 luma sampling), SOS.
    fn header(w: u16, h: u16, interval: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xDD, 0, 4];
        b.extend(interval.to_be_bytes());
        b.extend([0xFF, 0xC0, 0, 17, 8]);
        b.extend(h.to_be_bytes());
        b.extend(w.to_be_bytes());
        b.extend([3, 1, 0x21, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b.extend([0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
        b
    }

    #[test]
    fn the_header_gives_frame_mcu_and_restart_interval() {
        let b = header(4096, 512, 32);
        let h = parse_header(&b).expect("parses");
        assert_eq!(
            (h.width, h.height, h.mcu, h.restart_interval),
            (4096, 512, (16, 8), 32)
        );
        assert_eq!(h.len, b.len());
        assert_eq!(&b[h.sof_size_at..h.sof_size_at + 4], &[2, 0, 16, 0]);
    }

    #[test]
    fn broken_headers_are_refused() {
        assert!(parse_header(b"not a jpeg").is_err());
        let b = header(64, 64, 0);
        assert!(parse_header(&b[..20]).is_err(), "cut before the scan");
        let mut sos_first = vec![0xFF, 0xD8];
        sos_first.extend([0xFF, 0xDA, 0, 2]);
        assert!(parse_header(&sos_first).is_err());
    }
}

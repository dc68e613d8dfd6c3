//! DICOM whole-slide images (VL Whole Slide Microscopy Image Storage): one file a level or
//! associated image, chosen together (several files, or a folder natively). The headers are
//! read with dicom-rs (`dicom-object`, up to the pixel data); the frames are located here, by
//! walking the data set's element headers to the pixel data and then its fragment items, so
//! no pixel is read before a region asks for it. Each file becomes a tiled image in the
//! reader's own terms (`ImageIfd`), so the tile cache, the decoders and the overview serve
//! DICOM as they serve TIFF. As in OpenSlide: VOLUME images are the levels, LABEL, OVERVIEW
//! (the macro) and THUMBNAIL the associated images; JPEG baseline, JPEG 2000 and uncompressed
//! frames; TILED_FULL and TILED_SPARSE (missing tiles white); one focal plane.

use std::io::{Read, Seek, SeekFrom};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

use super::ifd::{ImageIfd, MAX_SIDE_PX};
use super::pyramid::{Associated, Layout, plausible_magnification};
use super::{AssociatedKind, Vendor};

/// The SOP class this reader opens.
const WSI_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.77.1.6";
/// The value representations of DICOM (PS3.5 6.2), two letters each.
const KNOWN_VRS: &[u8] = b"AEASATCSDADSDTFDFLISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
/// The transfer syntax whose elements carry no value representation.
const IMPLICIT_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";
/// Most frames one file may declare (as many as the tiles of a TIFF level).
const MAX_FRAMES: u64 = 1 << 24;
/// Most element headers walked before the pixel data (the per-frame groups of a sparse file
/// with 16M frames have fewer).
const MAX_ELEMENTS: u64 = 1 << 28;
/// Deepest nesting of sequences walked.
const MAX_DEPTH: u32 = 16;

/// Whether `head` (the first 132 bytes or more) is a DICOM file.
pub(crate) fn is_dicom(head: &[u8]) -> bool {
    head.len() >= 132 && &head[128..132] == b"DICM"
}

/// What one file of the slide holds.
#[derive(Debug)]
pub(crate) struct DicomImage {
    flavor: String,
    series: String,
    image: ImageIfd,
    mpp: Option<(f64, f64)>,
    objective: Option<f64>,
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().trim_end_matches('\0').to_string())
}

fn number(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_float64().ok())
}

fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<&InMemDicomObject> {
    obj.element_opt(tag).ok().flatten()?.items()?.first()
}

/// A whole number from 1 to `max` the header must have, or `absent` where it may lack it.
fn whole_or(
    obj: &InMemDicomObject,
    tag: dicom_core::Tag,
    what: &str,
    max: u64,
    absent: Option<u64>,
) -> Result<u64, String> {
    let Some(v) = number(obj, tag) else {
        return absent.ok_or_else(|| format!("no {what}"));
    };
    if v < 1.0 || v > max as f64 || v.fract() != 0.0 {
        return Err(format!("{what} {v} is not a whole number from 1 to {max}"));
    }
    Ok(v as u64)
}

/// Reads `n` bytes at `at`, refusing ranges past `len`.
fn read_at<R: Read + Seek>(r: &mut R, len: u64, at: u64, n: usize) -> Result<Vec<u8>, String> {
    if at.saturating_add(n as u64) > len {
        return Err(format!(
            "data at byte {at} (+{n}) lies past the end of the file ({len} bytes): truncated"
        ));
    }
    let mut b = vec![0; n];
    r.seek(SeekFrom::Start(at))
        .and_then(|_| r.read_exact(&mut b))
        .map_err(|e| format!("cannot read at byte {at}: {e}"))?;
    Ok(b)
}

/// The walk from the file's start to its pixel data, element header by element header.
struct Walk<'a, R> {
    r: &'a mut R,
    len: u64,
    explicit: bool,
    elements: u64,
}

/// An element header: tag, header length, value length (`None` when undefined).
type Header = ((u16, u16), u64, Option<u64>);
/// The pixel data element: where it starts, its header length, its value length.
type PixelData = (u64, u64, Option<u64>);

impl<R: Read + Seek> Walk<'_, R> {
    fn header(&mut self, at: u64, explicit: bool) -> Result<Header, String> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(format!(
                "more than {MAX_ELEMENTS} elements before the pixel data"
            ));
        }
        let b = read_at(self.r, self.len, at, 8)?;
        let tag = (
            u16::from_le_bytes([b[0], b[1]]),
            u16::from_le_bytes([b[2], b[3]]),
        );
        let undefined = |l: u64| (l != 0xFFFF_FFFF).then_some(l);
        // Items and delimiters are always tag + 4-byte length.
        if !explicit || tag.0 == 0xFFFE {
            let l = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            return Ok((tag, 8, undefined(u64::from(l))));
        }
        let vr = [b[4], b[5]];
        if !KNOWN_VRS.chunks(2).any(|known| known == vr) {
            // Parsers disagree on how long such an element's header is, so its length can
            // not be checked: refused.
            return Err(format!(
                "element ({:04X},{:04X}) at byte {at} has no known value representation ({:?})",
                tag.0,
                tag.1,
                String::from_utf8_lossy(&vr)
            ));
        }
        let long = matches!(
            &vr,
            b"OB"
                | b"OD"
                | b"OF"
                | b"OL"
                | b"OV"
                | b"OW"
                | b"SQ"
                | b"SV"
                | b"UC"
                | b"UN"
                | b"UR"
                | b"UT"
                | b"UV"
        );
        if long {
            let l = read_at(self.r, self.len, at + 8, 4)?;
            Ok((
                tag,
                12,
                undefined(u64::from(u32::from_le_bytes([l[0], l[1], l[2], l[3]]))),
            ))
        } else {
            Ok((tag, 8, Some(u64::from(u16::from_le_bytes([b[6], b[7]])))))
        }
    }

    /// The position after the element at `at`. The elements inside a sequence are walked
    /// too, so that every length dicom-rs will read has been checked.
    fn skip(&mut self, at: u64, explicit: bool, depth: u32) -> Result<u64, String> {
        let (tag, head, len) = self.header(at, explicit)?;
        let sequence = self.is_sequence(at, tag, explicit)?;
        match len {
            Some(l) => {
                let end = self.within(tag, at + head, l)?;
                if sequence {
                    self.skip_items(at + head, Some(end), true, depth + 1)
                } else {
                    Ok(end)
                }
            }
            // Undefined length: a sequence, or encapsulated data whose items are bytes.
            None => self.skip_items(at + head, None, sequence, depth + 1),
        }
    }

    /// Whether the element at `at` is a sequence: its value representation says so, or in
    /// the implicit syntax the standard dictionary does.
    fn is_sequence(&mut self, at: u64, tag: (u16, u16), explicit: bool) -> Result<bool, String> {
        if tag.0 == 0xFFFE {
            return Ok(false);
        }
        if explicit {
            return Ok(read_at(self.r, self.len, at + 4, 2)? == b"SQ");
        }
        let entry = StandardDataDictionary.by_tag(dicom_core::Tag(tag.0, tag.1));
        Ok(entry.is_some_and(|e| e.vr() == VirtualVr::Exact(dicom_core::VR::SQ)))
    }

    /// The end of a value of `l` bytes at `at`, refused when it would end past the file's
    /// end: a declared length is a claim, and the header parser would allocate it.
    fn within(&self, tag: (u16, u16), at: u64, l: u64) -> Result<u64, String> {
        let end = at.saturating_add(l);
        if end > self.len {
            return Err(format!(
                "element ({:04X},{:04X}) at byte {at} declares {l} bytes, past the end of the \
                 file ({} bytes): truncated or damaged",
                tag.0, tag.1, self.len
            ));
        }
        Ok(end)
    }

    /// Where the data set starts after the file meta group, and the transfer syntax the
    /// group names.
    fn meta(&mut self) -> Result<(u64, String), String> {
        let mut at = 132;
        let mut syntax = String::new();
        loop {
            let group = read_at(self.r, self.len, at, 2)?;
            if u16::from_le_bytes([group[0], group[1]]) != 0x0002 {
                return Ok((at, syntax));
            }
            let (tag, head, len) = self.header(at, true)?;
            if let (Some(l), (0x0002, 0x0010)) = (len, tag) {
                let value = read_at(self.r, self.len, at + head, l.min(64) as usize)?;
                syntax = String::from_utf8_lossy(&value)
                    .trim_end_matches(['\0', ' '])
                    .to_string();
            }
            at = self.skip(at, true, 0)?;
        }
    }

    /// Past the items of a value starting at `at`: to `end` for a value of defined length,
    /// after the sequence delimiter otherwise. The elements of each item are walked when the
    /// value is a sequence (`data_sets`); other items are bytes.
    fn skip_items(
        &mut self,
        mut at: u64,
        end: Option<u64>,
        data_sets: bool,
        depth: u32,
    ) -> Result<u64, String> {
        if depth > MAX_DEPTH {
            return Err(format!("sequences nested deeper than {MAX_DEPTH}"));
        }
        loop {
            match end {
                Some(end) if at == end => return Ok(end),
                Some(end) if at > end => {
                    return Err(format!("items run past their sequence's end at byte {end}"));
                }
                _ => {}
            }
            let (tag, _, len) = self.header(at, false)?;
            match (tag, len) {
                ((0xFFFE, 0xE0DD), _) if end.is_none() => return Ok(at + 8),
                ((0xFFFE, 0xE000), Some(l)) => {
                    let item_end = self.within(tag, at + 8, l)?;
                    if data_sets {
                        let mut pos = at + 8;
                        while pos < item_end {
                            pos = self.skip(pos, self.explicit, depth + 1)?;
                        }
                        if pos > item_end {
                            return Err(format!(
                                "an element runs past its item's end at byte {item_end}"
                            ));
                        }
                    }
                    at = item_end;
                }
                ((0xFFFE, 0xE000), None) => {
                    at += 8;
                    loop {
                        let (t, _, _) = self.header(at, false)?;
                        if t == (0xFFFE, 0xE00D) {
                            at += 8;
                            break;
                        }
                        at = self.skip(at, self.explicit, depth + 1)?;
                    }
                }
                (t, _) => {
                    return Err(format!(
                        "element ({:04X},{:04X}) inside a sequence where an item belongs",
                        t.0, t.1
                    ));
                }
            }
        }
    }

    /// Where the pixel data element starts, and its header and value lengths (`None` when
    /// the file ends first).
    fn find_pixel_data(&mut self) -> Result<Option<PixelData>, String> {
        let (mut at, _) = self.meta()?;
        while at < self.len {
            let (tag, head, len) = self.header(at, self.explicit)?;
            if tag == (0x7FE0, 0x0010) {
                return Ok(Some((at, head, len)));
            }
            at = self.skip(at, self.explicit, 0)?;
        }
        Ok(None)
    }
}

/// Each frame's bytes in the file: the fragments of encapsulated pixel data (one a frame), or
/// slices of native pixel data.
fn frame_ranges<R: Read + Seek>(
    walk: &mut Walk<'_, R>,
    (at, head, value_len): PixelData,
    frames: u64,
    frame_bytes: Option<u64>,
) -> Result<Vec<(u64, u64)>, String> {
    match (value_len, frame_bytes) {
        (Some(l), Some(each)) => {
            if l < frames * each {
                return Err(format!(
                    "pixel data of {l} bytes for {frames} frames of {each} bytes"
                ));
            }
            Ok((0..frames).map(|i| (at + head + i * each, each)).collect())
        }
        (None, None) => {
            let mut items = Vec::new();
            let mut pos = at + head;
            loop {
                let (tag, _, l) = walk.header(pos, false)?;
                match (tag, l) {
                    ((0xFFFE, 0xE0DD), _) => break,
                    ((0xFFFE, 0xE000), Some(l)) => {
                        items.push((pos + 8, l));
                        pos = walk.within(tag, pos + 8, l)?;
                    }
                    _ => return Err("broken fragment items in the pixel data".into()),
                }
                if items.len() as u64 > frames + 1 {
                    return Err(format!(
                        "more fragments than {frames} frames: frames split over several \
                         fragments are not supported yet"
                    ));
                }
            }
            // The first item is the basic offset table.
            let fragments = items.split_off(1.min(items.len()));
            if fragments.len() as u64 != frames {
                return Err(format!("{} fragments for {frames} frames", fragments.len()));
            }
            Ok(fragments)
        }
        (Some(_), None) => Err("compressed pixel data of defined length".into()),
        (None, Some(_)) => Err("native pixel data of undefined length".into()),
    }
}

/// Reads the header of one DICOM file (`source` is its place among the slide's files).
pub(crate) fn read_image<R: Read + Seek>(r: &mut R, source: usize) -> Result<DicomImage, String> {
    let len = r
        .seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot find the file length: {e}"))?;
    // dicom-rs allocates each value at its declared length: every length up to the pixel
    // data is checked against the file's size first.
    let mut walk = Walk {
        r: &mut *r,
        len,
        explicit: true,
        elements: 0,
    };
    let (_, syntax) = walk.meta()?;
    walk.explicit = match syntax.as_str() {
        IMPLICIT_LITTLE_ENDIAN => false,
        "1.2.840.10008.1.2.2" | "1.2.840.10008.1.2.1.99" => {
            return Err(format!(
                "transfer syntax {syntax} (big endian or deflated) is not supported"
            ));
        }
        _ => true,
    };
    let pixel_data = walk.find_pixel_data()?;
    r.seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot read: {e}"))?;
    let obj: DefaultDicomObject = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .read_until(tags::PIXEL_DATA)
        .from_reader(&mut *r)
        .map_err(|e| format!("is not a readable DICOM file: {e}"))?;
    let syntax = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    if text(&obj, tags::SOP_CLASS_UID).as_deref() != Some(WSI_SOP_CLASS) {
        return Err("is DICOM but not a whole-slide image (VL Whole Slide Microscopy)".into());
    }
    let flavor = text(&obj, tags::IMAGE_TYPE)
        .and_then(|t| t.split('\\').nth(2).map(|f| f.trim().to_string()))
        .ok_or("has no image flavor (ImageType value 3)")?;
    let series = text(&obj, tags::SERIES_INSTANCE_UID).ok_or("has no SeriesInstanceUID")?;
    if text(&obj, tags::CONCATENATION_UID).is_some() {
        return Err("is part of a concatenation, not supported yet".into());
    }
    if number(&obj, tags::TOTAL_PIXEL_MATRIX_FOCAL_PLANES).is_some_and(|n| n != 1.0) {
        return Err("has several focal planes, not supported yet".into());
    }
    let tile_w = whole_or(&obj, tags::COLUMNS, "Columns", 1 << 16, None)? as u32;
    let tile_h = whole_or(&obj, tags::ROWS, "Rows", 1 << 16, None)? as u32;
    // The whole image's size; a file without it is one tile.
    let matrix = |tag, what, tile: u32| {
        whole_or(&obj, tag, what, MAX_SIDE_PX, Some(u64::from(tile))).map(|v| v as u32)
    };
    let width = matrix(
        tags::TOTAL_PIXEL_MATRIX_COLUMNS,
        "TotalPixelMatrixColumns",
        tile_w,
    )?;
    let height = matrix(
        tags::TOTAL_PIXEL_MATRIX_ROWS,
        "TotalPixelMatrixRows",
        tile_h,
    )?;
    let frames = whole_or(
        &obj,
        tags::NUMBER_OF_FRAMES,
        "NumberOfFrames",
        MAX_FRAMES,
        Some(1),
    )?;
    if number(&obj, tags::SAMPLES_PER_PIXEL) != Some(3.0)
        || number(&obj, tags::BITS_ALLOCATED) != Some(8.0)
        || number(&obj, tags::PLANAR_CONFIGURATION).is_some_and(|p| p != 0.0)
    {
        return Err("is not 8-bit RGB with interleaved samples".into());
    }
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    let (compression, frame_bytes) = match syntax.as_str() {
        "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2" if photometric == "RGB" => {
            (1, Some(u64::from(tile_w) * u64::from(tile_h) * 3))
        }
        "1.2.840.10008.1.2.4.50" if matches!(photometric.as_str(), "YBR_FULL_422" | "RGB") => {
            (7, None)
        }
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91"
            if matches!(photometric.as_str(), "YBR_ICT" | "YBR_RCT" | "RGB") =>
        {
            (34712, None)
        }
        _ => {
            return Err(format!(
                "transfer syntax {syntax} with photometric interpretation {photometric:?} is \
                 not supported (uncompressed RGB, JPEG baseline and JPEG 2000 are)"
            ));
        }
    };
    let (across, down) = (width.div_ceil(tile_w), height.div_ceil(tile_h));
    let tiles = u64::from(across) * u64::from(down);
    if tiles > MAX_FRAMES {
        return Err(format!(
            "{tiles} tiles is more than the {MAX_FRAMES} accepted"
        ));
    }
    let pixel_data = pixel_data.ok_or("has no pixel data")?;
    let mut walk = Walk {
        r: &mut *r,
        len,
        explicit: syntax != IMPLICIT_LITTLE_ENDIAN,
        elements: 0,
    };
    let ranges = frame_ranges(&mut walk, pixel_data, frames, frame_bytes)?;
    let sparse = text(&obj, tags::DIMENSION_ORGANIZATION_TYPE).as_deref() != Some("TILED_FULL");
    // Each tile's frame: in order for TILED_FULL, from the per-frame positions if sparse.
    let mut offsets = vec![0u64; tiles as usize];
    let mut byte_counts = vec![0u64; tiles as usize];
    if sparse && frames > 1 {
        let per_frame = obj
            .element_opt(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
            .ok()
            .flatten()
            .and_then(|e| e.items())
            .ok_or("is TILED_SPARSE without per-frame positions")?;
        if per_frame.len() as u64 != frames {
            return Err(format!(
                "has {} per-frame groups for {frames} frames",
                per_frame.len()
            ));
        }
        for (i, group) in per_frame.iter().enumerate() {
            let position = first_item(group, tags::PLANE_POSITION_SLIDE_SEQUENCE)
                .ok_or_else(|| format!("frame {} has no plane position", i + 1))?;
            let at = |tag, what| {
                number(position, tag).ok_or_else(|| format!("frame {} has no {what}", i + 1))
            };
            let col = at(tags::COLUMN_POSITION_IN_TOTAL_IMAGE_PIXEL_MATRIX, "column")?;
            let row = at(tags::ROW_POSITION_IN_TOTAL_IMAGE_PIXEL_MATRIX, "row")?;
            let (cx, cy) = (
                (col - 1.0) / f64::from(tile_w),
                (row - 1.0) / f64::from(tile_h),
            );
            if cx.fract() != 0.0
                || cy.fract() != 0.0
                || cx < 0.0
                || cy < 0.0
                || cx >= f64::from(across)
                || cy >= f64::from(down)
            {
                return Err(format!(
                    "frame {} lies at column {col}, row {row}, off the tile grid",
                    i + 1
                ));
            }
            let t = cy as usize * across as usize + cx as usize;
            (offsets[t], byte_counts[t]) = ranges[i];
        }
    } else {
        if (frames) < tiles {
            return Err(format!(
                "is TILED_FULL with {frames} frames for {tiles} tiles"
            ));
        }
        for (t, range) in ranges.iter().take(tiles as usize).enumerate() {
            (offsets[t], byte_counts[t]) = *range;
        }
    }
    let spacing = first_item(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|g| first_item(g, tags::PIXEL_MEASURES_SEQUENCE))
        .and_then(|m| m.element_opt(tags::PIXEL_SPACING).ok().flatten())
        .and_then(|e| e.to_multi_float64().ok());
    let mpp = match spacing.as_deref() {
        Some(&[row, col]) if row > 0.0 && col > 0.0 => Some((col * 1e3, row * 1e3)),
        _ => None,
    };
    let objective = first_item(&obj, tags::OPTICAL_PATH_SEQUENCE)
        .and_then(|p| number(p, tags::OBJECTIVE_LENS_POWER));
    let image = ImageIfd {
        // Unique per file for the tile cache: the file's place above any offset in it.
        offset: (source as u64) << 44,
        width,
        height,
        tiled: true,
        chunk_w: tile_w,
        chunk_h: tile_h,
        offsets,
        byte_counts,
        compression,
        photometric: if photometric == "YBR_FULL_422" { 6 } else { 2 },
        samples: 3,
        bits: 8,
        planar: 1,
        predictor: 1,
        sample_format: 1,
        jpeg_tables: None,
        color_map: None,
        description: String::new(),
        subfile_type: 0,
        sub_ifds: Vec::new(),
        resolution: None,
        software: String::new(),
        xmp: None,
        ndpi: None,
        jpeg_header: None,
        reduce: 1,
        source,
    };
    Ok(DicomImage {
        flavor,
        series,
        image,
        mpp,
        objective,
    })
}

/// The slide the files make together; `names` are the files' names, for messages.
pub(crate) fn layout(images: Vec<DicomImage>, names: &[String]) -> Result<Layout, String> {
    let Some(first) = images.first() else {
        return Err("no DICOM whole-slide image among the files".into());
    };
    if let Some((i, other)) = images
        .iter()
        .enumerate()
        .find(|(_, i)| i.series != first.series)
    {
        return Err(format!(
            "the files are from two slides: {} is series {}, {} is series {}",
            names[0], first.series, names[i], other.series
        ));
    }
    let mut volumes: Vec<&DicomImage> = images.iter().filter(|i| i.flavor == "VOLUME").collect();
    volumes.sort_by_key(|i| std::cmp::Reverse(i.image.width));
    for pair in volumes.windows(2) {
        if pair[0].image.width == pair[1].image.width {
            return Err(format!(
                "two levels are {} px wide ({} and {}): a level given twice, or two slides",
                pair[0].image.width, names[pair[0].image.source], names[pair[1].image.source]
            ));
        }
    }
    let Some(base) = volumes.first() else {
        return Err("the files hold no VOLUME image (no pyramid level)".into());
    };
    let mut associated = Vec::new();
    for (flavor, kind) in [
        ("LABEL", AssociatedKind::Label),
        ("OVERVIEW", AssociatedKind::Macro),
        ("THUMBNAIL", AssociatedKind::Thumbnail),
    ] {
        if let Some(i) = images.iter().find(|i| i.flavor == flavor) {
            associated.push((kind, Associated::Ifd(Box::new(i.image.clone()))));
        }
    }
    let levels: Vec<ImageIfd> = volumes.iter().map(|v| v.image.clone()).collect();
    Ok(Layout {
        vendor: Vendor::Dicom,
        sizes: levels.iter().map(|l| (l.width, l.height)).collect(),
        origins: vec![(0, 0); levels.len()],
        downsamples: None,
        levels,
        associated,
        mpp: base.mpp,
        objective_power: base.objective.filter(plausible_magnification),
    })
}

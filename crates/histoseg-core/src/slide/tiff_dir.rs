//! A small TIFF / BigTIFF directory reader over `Read + Seek`.
//!
//! Why not `tiff::decoder::Decoder` for this part: in tiff 0.11 `Decoder::new` eagerly loads the
//! first image with default limits (a 1 MiB cap on tag values, which a 200k px wide slide's tile
//! offsets exceed), it cannot make an image current from a SubIFD pointer (OME-TIFF pyramids),
//! and it gives no control over the JPEG colour space of Aperio tiles. This module only walks
//! directories and reads tag values, bounding every read by the file length and sanity limits;
//! decompression lives in [`super::codec`].

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

/// Largest tag value (in bytes) read from a file: 256 MiB holds the tile offsets of any
/// real slide (BigTIFF, 16 bytes per tile for offset + count, 16M tiles).
const MAX_TAG_BYTES: u64 = 256 << 20;
/// Largest number of entries accepted in one directory.
const MAX_ENTRIES: u64 = 4096;
/// Most tag-value bytes read from one file in all (its directories, whatever their number):
/// directories that share one huge array, or repeat a huge description, stop here instead of
/// copying it once per directory.
const MAX_DIRECTORY_BYTES: u64 = 512 << 20;
/// Longest text (ImageDescription, ...) read from a tag; longer ones are cut (Aperio's and OME's
/// fit in far less).
const MAX_TEXT_BYTES: u64 = 16 << 20;

/// TIFF tag numbers used by the slide reader.
pub(crate) mod tag {
    pub const NEW_SUBFILE_TYPE: u16 = 254;
    pub const IMAGE_WIDTH: u16 = 256;
    pub const IMAGE_LENGTH: u16 = 257;
    pub const BITS_PER_SAMPLE: u16 = 258;
    pub const COMPRESSION: u16 = 259;
    pub const PHOTOMETRIC: u16 = 262;
    pub const IMAGE_DESCRIPTION: u16 = 270;
    pub const STRIP_OFFSETS: u16 = 273;
    pub const SAMPLES_PER_PIXEL: u16 = 277;
    pub const ROWS_PER_STRIP: u16 = 278;
    pub const STRIP_BYTE_COUNTS: u16 = 279;
    pub const X_RESOLUTION: u16 = 282;
    pub const Y_RESOLUTION: u16 = 283;
    pub const PLANAR_CONFIGURATION: u16 = 284;
    pub const RESOLUTION_UNIT: u16 = 296;
    pub const PREDICTOR: u16 = 317;
    pub const COLOR_MAP: u16 = 320;
    pub const TILE_WIDTH: u16 = 322;
    pub const TILE_LENGTH: u16 = 323;
    pub const TILE_OFFSETS: u16 = 324;
    pub const TILE_BYTE_COUNTS: u16 = 325;
    pub const SUB_IFDS: u16 = 330;
    pub const SAMPLE_FORMAT: u16 = 339;
    pub const JPEG_TABLES: u16 = 347;
    pub const SOFTWARE: u16 = 305;
    pub const XMP: u16 = 700;
    /// Hamamatsu NDPI: present in every NDPI directory.
    pub const NDPI_FORMAT: u16 = 65420;
    /// NDPI: the objective of the image (-1 macro, -2 map).
    pub const NDPI_SOURCE_LENS: u16 = 65421;
    /// NDPI: the focal plane (0 for the one in focus).
    pub const NDPI_FOCAL_PLANE: u16 = 65424;
    /// NDPI: where each restart interval starts, from the strip's start (low 32 bits).
    pub const NDPI_MCU_STARTS: u16 = 65426;
    /// NDPI: the high 32 bits of those offsets, in files over 4 GB.
    pub const NDPI_MCU_STARTS_HIGH: u16 = 65432;
}

/// One directory entry, its value not yet read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    typ: u16,
    count: u64,
    /// The value field: the value itself when it fits, else its offset.
    field: [u8; 8],
}

/// One image file directory: its entries and the offset of the next one (0 for none).
#[derive(Debug, Clone)]
pub(crate) struct RawIfd {
    pub offset: u64,
    entries: HashMap<u16, Entry>,
    pub next: u64,
}

/// A TIFF file opened for directory and byte reading.
#[derive(Debug)]
pub(crate) struct TiffFile<R> {
    r: R,
    little: bool,
    big: bool,
    /// File length in bytes.
    pub len: u64,
    /// Offset of the first directory.
    pub first_ifd: u64,
    /// Tag-value bytes read so far (against [`MAX_DIRECTORY_BYTES`]).
    tag_bytes: u64,
    /// Hamamatsu NDPI: a classic TIFF whose directory offsets are 8 bytes and whose entries
    /// carry 4 more bytes of value after the directory, so offsets can pass 4 GB.
    ndpi: bool,
}

fn type_size(typ: u16) -> Option<u64> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

impl<R: Read + Seek> TiffFile<R> {
    /// Reads the header; fails when the source is not a TIFF or BigTIFF.
    pub fn open(r: R) -> Result<Self, String> {
        let mut f = Self::plain(r)?;
        let len = f.len;
        let head = f.read_at(0, 16.min(len))?;
        if head.len() < 8 {
            return Err(format!("file too short for a TIFF header ({len} bytes)"));
        }
        f.little = match &head[..2] {
            b"II" => true,
            b"MM" => false,
            _ => return Err("not a TIFF file (no II/MM byte-order mark)".into()),
        };
        match f.u16(&head[2..4]) {
            42 => {
                f.first_ifd = u64::from(f.u32(&head[4..8]));
                // As OpenSlide detects NDPI: the 8-byte offset at 4 leads to a directory
                // (read the NDPI way) holding the NDPI tag.
                if head.len() >= 12 {
                    let wide = f.u64(&head[4..12]);
                    f.ndpi = true;
                    let is_ndpi = f
                        .read_ifd(wide)
                        .is_ok_and(|d| d.entries.contains_key(&tag::NDPI_FORMAT));
                    f.ndpi = is_ndpi;
                    if is_ndpi {
                        f.first_ifd = wide;
                    }
                }
            }
            43 => {
                if head.len() < 16 || f.u16(&head[4..6]) != 8 {
                    return Err("malformed BigTIFF header".into());
                }
                f.big = true;
                f.first_ifd = f.u64(&head[8..16]);
            }
            v => return Err(format!("not a TIFF file (version {v}, expected 42 or 43)")),
        }
        Ok(f)
    }

    /// A file read only for its bytes (a DICOM file: no TIFF header, no directories).
    pub fn plain(mut r: R) -> Result<Self, String> {
        let len = r
            .seek(SeekFrom::End(0))
            .map_err(|e| format!("cannot find the file length: {e}"))?;
        Ok(TiffFile {
            r,
            little: true,
            big: false,
            len,
            first_ifd: 0,
            tag_bytes: 0,
            ndpi: false,
        })
    }

    /// Whether this is a BigTIFF.
    pub fn is_big(&self) -> bool {
        self.big
    }

    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.little {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }
    fn u64(&self, b: &[u8]) -> u64 {
        let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
        if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }

    /// Reads `n` bytes at `offset`, refusing ranges past the end of the file.
    pub fn read_at(&mut self, offset: u64, n: u64) -> Result<Vec<u8>, String> {
        let end = offset.checked_add(n).ok_or("offset overflow")?;
        if end > self.len {
            return Err(format!(
                "data at offset {offset} (+{n} bytes) lies past the end of the file ({} bytes); \
                 the file is truncated or corrupt",
                self.len
            ));
        }
        let n = usize::try_from(n).map_err(|_| "read too large for this platform")?;
        let mut buf = vec![0u8; n];
        self.r
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.r.read_exact(&mut buf))
            .map_err(|e| format!("cannot read {n} bytes at offset {offset}: {e}"))?;
        Ok(buf)
    }

    /// Reads the directory at `offset`.
    pub fn read_ifd(&mut self, offset: u64) -> Result<RawIfd, String> {
        let (count_len, entry_len, next_len) = if self.big { (8, 20, 8) } else { (2, 12, 4) };
        let head = self
            .read_at(offset, count_len)
            .map_err(|e| format!("directory at offset {offset}: {e}"))?;
        let n = if self.big {
            self.u64(&head)
        } else {
            u64::from(self.u16(&head))
        };
        if n == 0 || n > MAX_ENTRIES {
            return Err(format!("directory at offset {offset} declares {n} entries"));
        }
        let next_len = if self.ndpi { 8 } else { next_len };
        let extension_len = if self.ndpi { 4 * n } else { 0 };
        let body = self
            .read_at(offset + count_len, n * entry_len + next_len + extension_len)
            .map_err(|e| format!("directory at offset {offset}: {e}"))?;
        let extensions = &body[(n * entry_len + next_len) as usize..];
        let mut entries = HashMap::new();
        let stride = entry_len as usize;
        for i in 0..n as usize {
            let e = &body[i * stride..(i + 1) * stride];
            let tag = self.u16(&e[0..2]);
            let typ = self.u16(&e[2..4]);
            let (count, field) = if self.big {
                let mut f = [0u8; 8];
                f.copy_from_slice(&e[12..20]);
                (self.u64(&e[4..12]), f)
            } else {
                let mut f = [0u8; 8];
                f[..4].copy_from_slice(&e[8..12]);
                if self.ndpi {
                    f[4..].copy_from_slice(&extensions[i * 4..i * 4 + 4]);
                }
                (u64::from(self.u32(&e[4..8])), f)
            };
            let mut typ = typ;
            // NDPI: a LONG held in the entry whose extension is not zero is a 64-bit value
            // (a strip offset past 4 GB).
            if self.ndpi && typ == 4 && count == 1 && field[4..] != [0; 4] {
                typ = 16;
            }
            entries.insert(tag, Entry { typ, count, field });
        }
        let tail = &body[n as usize * stride..];
        let next = if self.big || self.ndpi {
            self.u64(tail)
        } else {
            u64::from(self.u32(tail))
        };
        Ok(RawIfd {
            offset,
            entries,
            next,
        })
    }

    /// The raw bytes of an entry's value.
    fn value_bytes(&mut self, e: &Entry) -> Result<Vec<u8>, String> {
        let size = type_size(e.typ).ok_or_else(|| format!("unknown tag type {}", e.typ))?;
        let total = e.count.checked_mul(size).ok_or("tag value size overflow")?;
        if total > MAX_TAG_BYTES {
            return Err(format!(
                "tag value of {total} bytes is beyond the {MAX_TAG_BYTES} limit"
            ));
        }
        let inline = if self.big || (self.ndpi && e.typ == 16) {
            8
        } else {
            4
        };
        if total <= inline {
            Ok(e.field[..total as usize].to_vec())
        } else {
            self.tag_bytes += total;
            if self.tag_bytes > MAX_DIRECTORY_BYTES {
                return Err(format!(
                    "the directories hold more than {} MiB of tag values in all (arrays or \
                     texts repeated by many directories); refused",
                    MAX_DIRECTORY_BYTES >> 20
                ));
            }
            let off = if self.big || self.ndpi {
                self.u64(&e.field)
            } else {
                u64::from(self.u32(&e.field))
            };
            self.read_at(off, total)
        }
    }

    /// Whether the directory has `tag`.
    pub fn has(&self, ifd: &RawIfd, tag: u16) -> bool {
        ifd.entries.contains_key(&tag)
    }

    /// The unsigned integer values of `tag` (BYTE, SHORT, LONG, LONG8, IFD, IFD8), if present.
    pub fn uints(&mut self, ifd: &RawIfd, tag: u16) -> Result<Option<Vec<u64>>, String> {
        let Some(e) = ifd.entries.get(&tag).copied() else {
            return Ok(None);
        };
        let bytes = self
            .value_bytes(&e)
            .map_err(|m| format!("tag {tag}: {m}"))?;
        let v: Vec<u64> = match e.typ {
            1 | 7 => bytes.iter().map(|&b| u64::from(b)).collect(),
            3 => bytes
                .chunks_exact(2)
                .map(|c| u64::from(self.u16(c)))
                .collect(),
            4 | 13 => bytes
                .chunks_exact(4)
                .map(|c| u64::from(self.u32(c)))
                .collect(),
            16 | 18 => bytes.chunks_exact(8).map(|c| self.u64(c)).collect(),
            t => {
                return Err(format!(
                    "tag {tag} has type {t}, expected an unsigned integer"
                ));
            }
        };
        Ok(Some(v))
    }

    /// The first unsigned value of `tag`, if present.
    pub fn uint(&mut self, ifd: &RawIfd, tag: u16) -> Result<Option<u64>, String> {
        Ok(self.uints(ifd, tag)?.and_then(|v| v.first().copied()))
    }

    /// The bytes of an ASCII, BYTE or UNDEFINED tag.
    pub fn bytes(&mut self, ifd: &RawIfd, tag: u16) -> Result<Option<Vec<u8>>, String> {
        self.bytes_up_to(ifd, tag, u64::MAX)
    }

    /// Like [`bytes`](Self::bytes), but only the first `max` bytes: the value still starts
    /// where it did, only the count read shrinks.
    fn bytes_up_to(&mut self, ifd: &RawIfd, tag: u16, max: u64) -> Result<Option<Vec<u8>>, String> {
        let Some(mut e) = ifd.entries.get(&tag).copied() else {
            return Ok(None);
        };
        match e.typ {
            1 | 2 | 7 => {
                e.count = e.count.min(max);
                self.value_bytes(&e)
                    .map(Some)
                    .map_err(|m| format!("tag {tag}: {m}"))
            }
            t => Err(format!("tag {tag} has type {t}, expected bytes")),
        }
    }

    /// An ASCII tag as text (lossy UTF-8, trailing NULs removed), cut to [`MAX_TEXT_BYTES`].
    pub fn text(&mut self, ifd: &RawIfd, tag: u16) -> Result<Option<String>, String> {
        Ok(self.bytes_up_to(ifd, tag, MAX_TEXT_BYTES)?.map(|b| {
            let s = String::from_utf8_lossy(&b).into_owned();
            s.trim_end_matches('\0').to_string()
        }))
    }

    /// The first value of a RATIONAL (or integer / float) tag as `f64`.
    pub fn real(&mut self, ifd: &RawIfd, tag: u16) -> Result<Option<f64>, String> {
        let Some(e) = ifd.entries.get(&tag).copied() else {
            return Ok(None);
        };
        if e.count == 0 {
            return Ok(None);
        }
        let one = Entry { count: 1, ..e };
        let b = self
            .value_bytes(&one)
            .map_err(|m| format!("tag {tag}: {m}"))?;
        Ok(match e.typ {
            5 => {
                let (n, d) = (self.u32(&b[0..4]), self.u32(&b[4..8]));
                (d != 0).then(|| f64::from(n) / f64::from(d))
            }
            11 => Some(f64::from(f32::from_bits(self.u32(&b)))),
            12 => Some(f64::from_bits(self.u64(&b))),
            3 => Some(f64::from(self.u16(&b))),
            4 => Some(f64::from(self.u32(&b))),
            8 => Some(f64::from(self.u16(&b) as i16)),
            9 => Some(f64::from(self.u32(&b) as i32)),
            _ => None,
        })
    }

    /// Reads `n` bytes at `offset` with I/O errors reported plainly (for chunk data).
    pub fn chunk_bytes(&mut self, offset: u64, n: u64) -> Result<Vec<u8>, String> {
        self.read_at(offset, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `len` bytes that holds `head` and zeros after it, without the memory.
    struct Sparse {
        head: Vec<u8>,
        len: u64,
        pos: u64,
    }

    impl Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = self
                    .head
                    .get((self.pos + i as u64) as usize)
                    .copied()
                    .unwrap_or(0);
            }
            self.pos += n as u64;
            Ok(n)
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::End(d) => self.len.saturating_add_signed(d),
                SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
            };
            Ok(self.pos)
        }
    }

    /// An NDPI-style directory at 16: the NDPI tag, and a strip offset whose 4-byte
    /// extension (after the 8-byte next-directory offset) puts it past 4 GB.
    fn ndpi_file() -> Sparse {
        let mut b = b"II*\0".to_vec();
        b.extend(16u64.to_le_bytes()); // 8-byte first directory offset
        b.resize(16, 0);
        let entries: [(u16, u16, u32); 3] = [
            (256, 4, 64),             // ImageWidth
            (273, 4, 100),            // StripOffsets, low half
            (tag::NDPI_FORMAT, 4, 1), // the NDPI tag
        ];
        b.extend((entries.len() as u16).to_le_bytes());
        for (t, typ, value) in entries {
            b.extend(t.to_le_bytes());
            b.extend(typ.to_le_bytes());
            b.extend(1u32.to_le_bytes());
            b.extend(value.to_le_bytes());
        }
        b.extend(0u64.to_le_bytes()); // next directory: none
        b.extend([0u32, 1, 0].iter().flat_map(|e| e.to_le_bytes())); // value extensions
        Sparse {
            head: b,
            len: (5 << 30) + 1000,
            pos: 0,
        }
    }

    #[test]
    fn ndpi_offsets_past_4_gb_are_read_from_their_extensions() {
        let mut f = TiffFile::open(ndpi_file()).expect("opens");
        assert_eq!(f.first_ifd, 16);
        let ifd = f.read_ifd(f.first_ifd).expect("directory");
        assert_eq!(f.uint(&ifd, tag::IMAGE_WIDTH).expect("width"), Some(64));
        assert_eq!(
            f.uint(&ifd, tag::STRIP_OFFSETS).expect("offset"),
            Some((1 << 32) + 100)
        );
        assert_eq!(ifd.next, 0);
    }

    #[test]
    fn a_classic_tiff_is_not_taken_for_ndpi() {
        let mut file = ndpi_file();
        // The same directory without the NDPI tag (retagged as an unknown private tag).
        let at = 16 + 2 + 2 * 12;
        file.head[at..at + 2].copy_from_slice(&65000u16.to_le_bytes());
        let f = TiffFile::open(file).expect("opens");
        assert!(!f.ndpi);
    }
}

//! Big synthetic test slides: tissue pieces (pink with purple speckle) on white glass, written
//! as a tiled, pyramidal, JPEG-compressed TIFF or BigTIFF with our own writer.
//!
//! Made at test or benchmark time, never committed. To stay quick at 100,000 x 80,000 px,
//! tiles wholly on glass share one stored JPEG, and tiles wholly inside tissue share one of
//! a few stored textures (their offsets repeat, which TIFF allows); only tiles on a tissue
//! edge are rendered and encoded one by one. Every tile is still decoded on its own by a
//! reader, so reading costs what it would on a real slide of that size.

use std::io::{Seek, SeekFrom, Write};

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::{Error, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    /// Level-0 width in pixels.
    pub width: u32,
    /// Level-0 height in pixels.
    pub height: u32,
    /// Tile side in pixels (a multiple of 16).
    pub tile: u32,
    /// JPEG quality, 1..=100.
    pub quality: u8,
    /// Seed of the tissue layout.
    pub seed: u64,
    /// Write a BigTIFF (else a classic TIFF, which must stay under 4 GiB).
    pub bigtiff: bool,
    /// Microns per level-0 pixel, written as resolution tags (pixels per centimetre).
    pub mpp: f64,
}

impl SyntheticSpec {
    /// A BigTIFF of `width x height` with 256 px tiles, quality 80, 0.25 um/px.
    pub fn new(width: u32, height: u32) -> Self {
        SyntheticSpec {
            width,
            height,
            tile: 256,
            quality: 80,
            seed: 1,
            bigtiff: true,
            mpp: 0.25,
        }
    }
}

/// One tissue piece: an axis-aligned ellipse in level-0 pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Centre x.
    pub cx: f64,
    /// Centre y.
    pub cy: f64,
    /// Half width.
    pub rx: f64,
    /// Half height.
    pub ry: f64,
}

impl Piece {
    fn contains(&self, x: f64, y: f64) -> bool {
        let (dx, dy) = ((x - self.cx) / self.rx, (y - self.cy) / self.ry);
        dx * dx + dy * dy <= 1.0
    }
    /// Bounding box `(x0, y0, x1, y1)` in level-0 pixels.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.cx - self.rx,
            self.cy - self.ry,
            self.cx + self.rx,
            self.cy + self.ry,
        )
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The tissue pieces of `spec`: 3 to 6 separate ellipses in a 3 x 2 grid of cells.
pub fn pieces(spec: &SyntheticSpec) -> Vec<Piece> {
    let mut s = spec.seed;
    let mut rnd = || {
        s = splitmix(s);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let (w, h) = (f64::from(spec.width), f64::from(spec.height));
    let mut cells: Vec<(f64, f64)> = (0..6)
        .map(|i| (f64::from(i % 3), f64::from(i / 3)))
        .collect();
    for i in (1..cells.len()).rev() {
        let j = (rnd() * (i + 1) as f64) as usize % (i + 1);
        cells.swap(i, j);
    }
    let n = 3 + (rnd() * 4.0) as usize % 4;
    cells
        .into_iter()
        .take(n)
        .map(|(c, r)| Piece {
            cx: (c + 0.5 + (rnd() - 0.5) * 0.2) * w / 3.0,
            cy: (r + 0.5 + (rnd() - 0.5) * 0.2) * h / 2.0,
            rx: (0.08 + rnd() * 0.07) * w,
            ry: (0.12 + rnd() * 0.1) * h,
        })
        .collect()
}

const GLASS: [u8; 3] = [242, 242, 245];

fn tissue_pixel(x: u32, y: u32) -> [u8; 3] {
    let h = splitmix(u64::from(x / 3) << 32 | u64::from(y / 3));
    if h.is_multiple_of(16) {
        [95, 60, 140] // nucleus-like speckle
    } else {
        let r = 215 + (h >> 8) as u8 % 20;
        [r, r - 70, r - 20]
    }
}

/// Writes a synthetic pyramidal slide to `out`. Levels halve until the long side is at most
/// 1024 px. Returns the tissue pieces (the ground truth of where tissue lies).
pub fn write_slide<W: Write + Seek>(out: &mut W, spec: &SyntheticSpec) -> Result<Vec<Piece>> {
    let bad = |p: &str| Error::InvalidParameter {
        name: "spec",
        problem: p.to_string(),
    };
    if spec.width == 0 || spec.height == 0 || spec.width > 1_000_000 || spec.height > 1_000_000 {
        return Err(bad("width and height must be 1..=1000000"));
    }
    if spec.tile == 0 || !spec.tile.is_multiple_of(16) || spec.tile > 4096 {
        return Err(bad("tile must be a multiple of 16 up to 4096"));
    }
    let io = |e: std::io::Error| Error::InvalidParameter {
        name: "out",
        problem: e.to_string(),
    };
    let pieces = pieces(spec);
    let mut w = TiffWriter::new(out, spec.bigtiff).map_err(io)?;
    let t = spec.tile;
    let encode = |img: &RgbImage| -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        JpegEncoder::new_with_quality(&mut buf, spec.quality.clamp(1, 100))
            .encode_image(img)
            .map_err(|e| bad(&format!("JPEG encoding failed: {e}")))?;
        Ok(buf)
    };
    let glass = w
        .write_blob(&encode(&RgbImage::from_pixel(t, t, image::Rgb(GLASS)))?)
        .map_err(io)?;
    let mut textures = Vec::new();
    for k in 0..8u32 {
        let img = RgbImage::from_fn(t, t, |x, y| {
            image::Rgb(tissue_pixel(x + k * 7919, y + k * 104_729))
        });
        textures.push(w.write_blob(&encode(&img)?).map_err(io)?);
    }
    let (mut lw, mut lh, mut ds) = (spec.width, spec.height, 1u32);
    let mut levels = Vec::new();
    loop {
        let (across, down) = (lw.div_ceil(t), lh.div_ceil(t));
        let mut chunks = Vec::with_capacity(across as usize * down as usize);
        for ty in 0..down {
            for tx in 0..across {
                // Tile footprint in level-0 pixels.
                let fx0 = f64::from(tx * t) * f64::from(ds);
                let fy0 = f64::from(ty * t) * f64::from(ds);
                let fx1 = fx0 + f64::from(t * ds);
                let fy1 = fy0 + f64::from(t * ds);
                let touches = pieces.iter().any(|p| {
                    let (a, b, c, d) = p.bounds();
                    a < fx1 && c > fx0 && b < fy1 && d > fy0
                });
                let inside = pieces.iter().any(|p| {
                    p.contains(fx0, fy0)
                        && p.contains(fx1, fy0)
                        && p.contains(fx0, fy1)
                        && p.contains(fx1, fy1)
                });
                let chunk = if !touches {
                    glass
                } else if inside {
                    textures[(splitmix(u64::from(tx) << 40 | u64::from(ty) << 8 | u64::from(ds))
                        % 8) as usize]
                } else {
                    let img = RgbImage::from_fn(t, t, |x, y| {
                        let (gx, gy) = ((tx * t + x) * ds, (ty * t + y) * ds);
                        let c = (f64::from(gx) + 0.5, f64::from(gy) + 0.5);
                        if pieces.iter().any(|p| p.contains(c.0, c.1)) {
                            image::Rgb(tissue_pixel(gx / ds, gy / ds))
                        } else {
                            image::Rgb(GLASS)
                        }
                    });
                    w.write_blob(&encode(&img)?).map_err(io)?
                };
                chunks.push(chunk);
            }
        }
        levels.push((lw, lh, chunks));
        if lw.max(lh) <= 1024 {
            break;
        }
        (lw, lh, ds) = (lw.div_ceil(2), lh.div_ceil(2), ds * 2);
    }
    let px_per_cm = 10_000.0 / spec.mpp.max(1e-6);
    let desc = format!(
        "histoseg synthetic slide {}x{} seed {}",
        spec.width, spec.height, spec.seed
    );
    for (i, (lw, lh, chunks)) in levels.iter().enumerate() {
        let mut tags = vec![
            (254, Val::Long(vec![u32::from(i > 0)])),
            (256, Val::Long(vec![*lw])),
            (257, Val::Long(vec![*lh])),
            (258, Val::Short(vec![8, 8, 8])),
            (259, Val::Short(vec![7])),
            (262, Val::Short(vec![6])),
        ];
        if i == 0 {
            tags.push((270, Val::Ascii(desc.clone())));
        }
        tags.extend([
            (277, Val::Short(vec![3])),
            (282, Val::Rational(px_per_cm / f64::from(1u32 << i))),
            (283, Val::Rational(px_per_cm / f64::from(1u32 << i))),
            (284, Val::Short(vec![1])),
            (296, Val::Short(vec![3])),
            (322, Val::Long(vec![t])),
            (323, Val::Long(vec![t])),
            (324, Val::Offsets(chunks.iter().map(|c| c.0).collect())),
            (325, Val::Offsets(chunks.iter().map(|c| c.1).collect())),
            (530, Val::Short(vec![1, 1])),
        ]);
        w.write_ifd(&tags).map_err(io)?;
    }
    w.finish().map_err(io)?;
    Ok(pieces)
}

/// A tag value to write.
enum Val {
    Short(Vec<u16>),
    Long(Vec<u32>),
    /// Offsets or byte counts: LONG8 in BigTIFF, LONG otherwise.
    Offsets(Vec<u64>),
    Rational(f64),
    Ascii(String),
}

/// A minimal little-endian TIFF / BigTIFF writer: blobs first, then directories.
struct TiffWriter<'a, W: Write + Seek> {
    out: &'a mut W,
    big: bool,
    pos: u64,
    /// Where the pointer to the next directory must be written.
    link_at: u64,
}

impl<'a, W: Write + Seek> TiffWriter<'a, W> {
    fn new(out: &'a mut W, big: bool) -> std::io::Result<Self> {
        out.seek(SeekFrom::Start(0))?;
        let head: Vec<u8> = if big {
            [
                b"II".as_slice(),
                &43u16.to_le_bytes(),
                &8u16.to_le_bytes(),
                &0u16.to_le_bytes(),
                &0u64.to_le_bytes(),
            ]
            .concat()
        } else {
            [b"II".as_slice(), &42u16.to_le_bytes(), &0u32.to_le_bytes()].concat()
        };
        out.write_all(&head)?;
        let link_at = if big { 8 } else { 4 };
        Ok(TiffWriter {
            out,
            big,
            pos: head.len() as u64,
            link_at,
        })
    }

    fn check(&self, end: u64) -> std::io::Result<()> {
        if !self.big && end > u64::from(u32::MAX) {
            return Err(std::io::Error::other(
                "classic TIFF past 4 GiB: use bigtiff",
            ));
        }
        Ok(())
    }

    /// Writes bytes at the end (word aligned); returns `(offset, length)`.
    fn write_blob(&mut self, data: &[u8]) -> std::io::Result<(u64, u64)> {
        if !self.pos.is_multiple_of(2) {
            self.out.write_all(&[0])?;
            self.pos += 1;
        }
        self.check(self.pos + data.len() as u64)?;
        let at = self.pos;
        self.out.write_all(data)?;
        self.pos += data.len() as u64;
        Ok((at, data.len() as u64))
    }

    fn write_ifd(&mut self, tags: &[(u16, Val)]) -> std::io::Result<()> {
        let inline = if self.big { 8 } else { 4 };
        let mut entries = Vec::new();
        for (tag, v) in tags {
            let (typ, count, bytes): (u16, u64, Vec<u8>) = match v {
                Val::Short(s) => (
                    3,
                    s.len() as u64,
                    s.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                Val::Long(s) => (
                    4,
                    s.len() as u64,
                    s.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                Val::Offsets(s) if self.big => (
                    16,
                    s.len() as u64,
                    s.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                Val::Offsets(s) => (
                    4,
                    s.len() as u64,
                    s.iter().flat_map(|&x| (x as u32).to_le_bytes()).collect(),
                ),
                Val::Rational(r) => {
                    let n = (r * 1000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32;
                    (5, 1, [n.to_le_bytes(), 1000u32.to_le_bytes()].concat())
                }
                Val::Ascii(s) => {
                    let mut b = s.as_bytes().to_vec();
                    b.push(0);
                    (2, b.len() as u64, b)
                }
            };
            let field = if bytes.len() <= inline {
                let mut f = bytes;
                f.resize(inline, 0);
                f
            } else {
                let (at, _) = self.write_blob(&bytes)?;
                if self.big {
                    at.to_le_bytes().to_vec()
                } else {
                    (at as u32).to_le_bytes().to_vec()
                }
            };
            entries.push((*tag, typ, count, field));
        }
        if !self.pos.is_multiple_of(2) {
            self.out.write_all(&[0])?;
            self.pos += 1;
        }
        let at = self.pos;
        let mut d = Vec::new();
        if self.big {
            d.extend((entries.len() as u64).to_le_bytes());
        } else {
            d.extend((entries.len() as u16).to_le_bytes());
        }
        for (tag, typ, count, field) in &entries {
            d.extend(tag.to_le_bytes());
            d.extend(typ.to_le_bytes());
            if self.big {
                d.extend(count.to_le_bytes());
            } else {
                d.extend((*count as u32).to_le_bytes());
            }
            d.extend(field);
        }
        let next_at = at + d.len() as u64;
        d.extend(vec![0u8; inline]);
        self.check(at + d.len() as u64)?;
        self.out.write_all(&d)?;
        self.pos += d.len() as u64;
        // Link the previous directory (or the header) to this one.
        self.out.seek(SeekFrom::Start(self.link_at))?;
        if self.big {
            self.out.write_all(&at.to_le_bytes())?;
        } else {
            self.out.write_all(&(at as u32).to_le_bytes())?;
        }
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.link_at = next_at;
        Ok(())
    }

    fn finish(self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Overwrites the `len` bytes from the middle of `file` with seeded random bytes: a damaged
/// copy of a real slide for tests (in a tiled slide, the middle lies in some tile's data).
pub fn scramble_middle(file: &mut [u8], len: usize, seed: u64) {
    let start = file.len().saturating_sub(len) / 2;
    let mut rng = crate::dataset::rng::SplitMix64::new(seed);
    for b in file.iter_mut().skip(start).take(len) {
        *b = rng.next_u64() as u8;
    }
}

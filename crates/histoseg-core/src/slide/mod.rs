//! Whole-slide images over any `Read + Seek` source: the pyramid of a TIFF, BigTIFF, Aperio
//! SVS, OME-TIFF, Hamamatsu NDPI, Philips TIFF, Leica SCN or Ventana BIF (each vendor's layout read as
//! OpenSlide reads it, see `vendor`), or an ordinary PNG / JPEG as a one-level slide; regions
//! of any level read tile by tile through a bounded cache, and overviews reduced by area
//! averaging.
//!
//! Nothing here decodes a whole slide: [`Slide::read_region`] decodes only the tiles or strips
//! the region touches, and [`Slide::overview`] reads the smallest level that serves, tile by
//! tile.
//!
//! ```no_run
//! # fn main() -> histoseg_core::Result<()> {
//! use histoseg_core::rect::Rect;
//! use histoseg_core::slide::Slide;
//! let mut slide = Slide::open_path("CMU-1.svs")?;
//! println!("{} levels, level 0 is {:?}", slide.level_count(), slide.level_dimensions(0));
//! let tile = slide.read_region(0, Rect::new(1000, 2000, 512, 512))?;
//! let overview = slide.overview(2048)?;
//! # Ok(()) }
//! ```

mod cache;
mod codec;
mod damage;
mod dicom;
mod ifd;
mod overview;
mod pyramid;
mod resample;
pub mod synthetic;
mod tiff_dir;
mod vendor;

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use image::RgbImage;
use serde::Serialize;

pub use cache::TileCache;
pub use damage::Damage;
use damage::DamageLog;
pub use overview::OverviewPart;

use crate::rect::Rect;
use crate::{Error, Result};
use ifd::ImageIfd;
use tiff_dir::TiffFile;

/// Default tile cache budget: 64 MiB of decoded pixels.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;
/// Largest region [`Slide::read_region`] returns, in pixels (128 Mpx, 384 MiB of RGB).
pub const MAX_REGION_PIXELS: u64 = 1 << 27;
/// Largest ordinary (PNG / JPEG) image or associated image decoded whole, in pixels (an
/// 8192 x 8192 image: 256 MiB while decoding as RGBA, 192 MiB as RGB). Larger pictures belong
/// in a pyramidal TIFF, which is read region by region.
pub const MAX_WHOLE_IMAGE_PIXELS: u64 = 1 << 26;

/// Who wrote the slide, as far as its layout tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vendor {
    /// Aperio SVS (ImageDescription starts with "Aperio").
    Aperio,
    /// OME-TIFF (OME-XML in the ImageDescription).
    OmeTiff,
    /// Any other TIFF or BigTIFF.
    GenericTiff,
    /// An ordinary PNG or JPEG image.
    Image,
    /// Hamamatsu NDPI (the NDPI tags).
    Hamamatsu,
    /// Philips TIFF (Software "Philips", XML ImageDescription).
    Philips,
    /// Ventana BIF (an iScan XMP packet).
    Ventana,
    /// Leica SCN (an `scn` XML document).
    Leica,
    /// DICOM whole-slide images (one file a level).
    Dicom,
}

/// The kinds of non-pyramid images a slide file may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AssociatedKind {
    /// A small picture of the whole scan.
    Thumbnail,
    /// The slide label.
    Label,
    /// A low-magnification photograph of the whole glass slide.
    Macro,
}

impl std::fmt::Display for AssociatedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AssociatedKind::Thumbnail => "thumbnail",
            AssociatedKind::Label => "label",
            AssociatedKind::Macro => "macro",
        })
    }
}

/// One pyramid level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Level-0 pixels per pixel of this level (mean of x and y).
    pub downsample: f64,
    /// Tile (or strip) width in pixels.
    pub tile_width: u32,
    /// Tile height, or rows per strip.
    pub tile_height: u32,
    /// Whether the level is tiled (else striped).
    pub tiled: bool,
    /// Compression name.
    pub compression: String,
}

/// One associated image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssociatedInfo {
    /// What it is.
    pub kind: AssociatedKind,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Compression name.
    pub compression: String,
}

/// What a slide file declares about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlideInfo {
    /// The name the slide was opened with (used in every error).
    pub file: String,
    /// Layout family.
    pub vendor: Vendor,
    /// Whether the file is a BigTIFF.
    pub bigtiff: bool,
    /// Pyramid levels, largest first.
    pub levels: Vec<LevelInfo>,
    /// Thumbnail, label, macro, as present.
    pub associated: Vec<AssociatedInfo>,
    /// Microns per level-0 pixel horizontally, where the file says it.
    pub mpp_x: Option<f64>,
    /// Microns per level-0 pixel vertically, where the file says it.
    pub mpp_y: Option<f64>,
    /// Scanner objective power, where the file says it.
    pub objective_power: Option<f64>,
}

enum Backend<R> {
    Tiff {
        /// The slide's files: one for a TIFF, one a level or associated image for DICOM.
        files: Vec<TiffFile<R>>,
        levels: Vec<ImageIfd>,
        /// Where each level's image starts inside the level.
        origins: Vec<(u32, u32)>,
        associated: Vec<pyramid::Associated>,
    },
    Raster(Arc<RgbImage>),
}

impl<R> std::fmt::Debug for Backend<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Tiff { levels, .. } => write!(f, "Tiff({} levels)", levels.len()),
            Backend::Raster(img) => write!(f, "Raster({}x{})", img.width(), img.height()),
        }
    }
}

/// An opened slide: metadata plus tile-by-tile access to its pixels.
#[derive(Debug)]
pub struct Slide<R> {
    info: SlideInfo,
    backend: Backend<R>,
    cache: TileCache,
    decoded: Vec<u64>,
    damage: DamageLog,
}

fn slide_err(file: &str, problem: impl Into<String>) -> Error {
    Error::Slide {
        file: file.to_string(),
        problem: problem.into(),
    }
}

#[cfg(not(target_family = "wasm"))]
impl Slide<std::io::BufReader<std::fs::File>> {
    /// Opens a slide from a path (native only; in the browser use [`Slide::open`] on a
    /// `Read + Seek` over the `File`). A folder is a slide kept as DICOM files.
    pub fn open_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        // Asked before opening: opening a FIFO waits for a writer, and a device never ends.
        let meta =
            std::fs::metadata(path).map_err(|e| slide_err(&name, format!("cannot open: {e}")))?;
        if meta.is_dir() {
            return Slide::open_paths(&[path.to_path_buf()]);
        }
        if !meta.is_file() {
            return Err(slide_err(
                &name,
                "is not a regular file (a pipe or device); give a slide file",
            ));
        }
        let f =
            std::fs::File::open(path).map_err(|e| slide_err(&name, format!("cannot open: {e}")))?;
        Slide::open(std::io::BufReader::with_capacity(256 << 10, f), name)
    }

    /// Opens a slide kept as several files natively: a folder of DICOM files (one a level or
    /// associated image; other files in it are passed over), or the files themselves.
    pub fn open_paths(paths: &[std::path::PathBuf]) -> Result<Self> {
        let (name, files, skip_others) = match paths {
            [one] if std::fs::metadata(one).is_ok_and(|m| m.is_dir()) => {
                let name = one.display().to_string();
                let mut files = Vec::new();
                let entries = std::fs::read_dir(one)
                    .map_err(|e| slide_err(&name, format!("cannot list the folder: {e}")))?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_file() {
                        files.push(path);
                    }
                    if files.len() > MAX_SLIDE_FILES {
                        return Err(slide_err(
                            &name,
                            format!("more than {MAX_SLIDE_FILES} files in the folder"),
                        ));
                    }
                }
                files.sort();
                (name, files, true)
            }
            [one] => return Slide::open_path(one),
            many => (
                many.first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                many.to_vec(),
                false,
            ),
        };
        let mut opened = Vec::new();
        for path in files {
            let n = path.display().to_string();
            let mut f = std::fs::File::open(&path)
                .map(|f| std::io::BufReader::with_capacity(256 << 10, f))
                .map_err(|e| slide_err(&n, format!("cannot open: {e}")))?;
            let mut head = [0u8; 132];
            let got = read_up_to(&mut f, &mut head).unwrap_or(0);
            if dicom::is_dicom(&head[..got]) {
                opened.push((f, n));
            } else if !skip_others {
                return Err(slide_err(
                    &n,
                    "is not a DICOM file; only DICOM slides span files",
                ));
            }
        }
        Slide::open_dicom(opened, name, skip_others)
    }
}

/// Most files one slide may span.
pub const MAX_SLIDE_FILES: usize = 4096;

impl<R: Read + Seek> Slide<R> {
    /// Opens a slide from `reader`; `name` is how errors refer to it (usually the file name).
    ///
    /// TIFF, BigTIFF, Aperio SVS and OME-TIFF open as pyramids; PNG and JPEG as one level.
    pub fn open(mut reader: R, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let mut head = [0u8; 132];
        let n = reader
            .seek(SeekFrom::Start(0))
            .and_then(|_| read_up_to(&mut reader, &mut head))
            .map_err(|e| slide_err(&name, format!("cannot read: {e}")))?;
        let magic = &head[..n.min(4)];
        if dicom::is_dicom(&head[..n]) {
            let n = name.clone();
            Self::open_dicom(vec![(reader, n)], name, false)
        } else if magic.starts_with(b"II") || magic.starts_with(b"MM") {
            Self::open_tiff(reader, name)
        } else if magic.starts_with(b"\x89PNG") || magic.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Self::open_raster(reader, name)
        } else {
            Err(slide_err(
                &name,
                format!(
                    "not a slide or image this reader knows (TIFF, BigTIFF, SVS, OME-TIFF, NDPI, Philips TIFF, Leica SCN, Ventana BIF, DICOM, PNG, JPEG); \
                     it starts with {:02x?}",
                    magic
                ),
            ))
        }
    }

    /// Opens a slide made of several files, each given with the name errors use for it: the
    /// DICOM files of one slide (one a level or associated image, in any order). `name` is
    /// how errors refer to the slide as a whole.
    pub fn open_files(files: Vec<(R, String)>, name: impl Into<String>) -> Result<Self> {
        Self::open_dicom(files, name.into(), false)
    }

    /// `skip_others`: pass over DICOM files that are not whole-slide images (a DICOMDIR in
    /// the folder) instead of refusing them.
    fn open_dicom(files: Vec<(R, String)>, name: String, skip_others: bool) -> Result<Self> {
        if files.len() > MAX_SLIDE_FILES {
            return Err(slide_err(
                &name,
                format!("more than {MAX_SLIDE_FILES} files"),
            ));
        }
        let mut images = Vec::new();
        let mut sources = Vec::new();
        let mut names = Vec::new();
        for (mut r, n) in files {
            match dicom::read_image(&mut r, sources.len()) {
                Ok(image) => {
                    images.push(image);
                    sources.push(TiffFile::plain(r).map_err(|e| slide_err(&n, e))?);
                    names.push(n);
                }
                Err(e) if skip_others && e.contains("not a whole-slide image") => {}
                Err(e) => return Err(slide_err(&n, e)),
            }
        }
        let layout = dicom::layout(images, &names).map_err(|e| slide_err(&name, e))?;
        Ok(Self::from_layout(sources, layout, name, false))
    }

    fn open_tiff(reader: R, name: String) -> Result<Self> {
        let mut file = TiffFile::open(reader).map_err(|e| slide_err(&name, e))?;
        let layout = pyramid::find_layout(&mut file).map_err(|e| slide_err(&name, e))?;
        let bigtiff = file.is_big();
        Ok(Self::from_layout(vec![file], layout, name, bigtiff))
    }

    fn from_layout(
        files: Vec<TiffFile<R>>,
        layout: pyramid::Layout,
        name: String,
        bigtiff: bool,
    ) -> Self {
        let (w0, h0) = layout.sizes[0];
        let (w0, h0) = (f64::from(w0), f64::from(h0));
        let levels: Vec<LevelInfo> = layout
            .levels
            .iter()
            .zip(&layout.sizes)
            .enumerate()
            .map(|(i, (l, &(width, height)))| LevelInfo {
                width,
                height,
                downsample: layout.downsamples.as_ref().map_or_else(
                    || (w0 / f64::from(width) + h0 / f64::from(height)) / 2.0,
                    |d| d[i],
                ),
                tile_width: l.chunk_w,
                tile_height: l.chunk_h,
                tiled: l.tiled,
                compression: l.compression_name(),
            })
            .collect();
        let associated = layout
            .associated
            .iter()
            .map(|(kind, a)| {
                let (width, height) = a.size();
                AssociatedInfo {
                    kind: *kind,
                    width,
                    height,
                    compression: a.compression_name(),
                }
            })
            .collect();
        let info = SlideInfo {
            file: name,
            vendor: layout.vendor,
            bigtiff,
            levels,
            associated,
            mpp_x: layout.mpp.map(|m| m.0),
            mpp_y: layout.mpp.map(|m| m.1),
            objective_power: layout.objective_power,
        };
        let n = layout.levels.len();
        Slide {
            info,
            backend: Backend::Tiff {
                files,
                levels: layout.levels,
                origins: layout.origins,
                associated: layout.associated.into_iter().map(|(_, a)| a).collect(),
            },
            cache: TileCache::new(DEFAULT_CACHE_BYTES),
            decoded: vec![0; n],
            damage: DamageLog::default(),
        }
    }

    fn open_raster(mut reader: R, name: String) -> Result<Self> {
        let len = reader
            .seek(SeekFrom::End(0))
            .and_then(|l| reader.seek(SeekFrom::Start(0)).map(|_| l))
            .map_err(|e| slide_err(&name, format!("cannot read: {e}")))?;
        if len > 1 << 30 {
            return Err(slide_err(
                &name,
                format!("{len} bytes is too large for a plain image"),
            ));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| slide_err(&name, format!("cannot read: {e}")))?;
        let undecodable =
            |e: image::ImageError| slide_err(&name, format!("cannot decode image: {e}"));
        let mut r = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| slide_err(&name, format!("cannot read: {e}")))?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_WHOLE_IMAGE_PIXELS * 4);
        r.limits(limits.clone());
        let decoder = r.into_decoder().map_err(undecodable)?;
        // The size the header declares, checked before a pixel is decoded: a small PNG may
        // declare 16384 x 16384.
        let (w, h) = image::ImageDecoder::dimensions(&decoder);
        if u64::from(w) * u64::from(h) > MAX_WHOLE_IMAGE_PIXELS {
            return Err(slide_err(
                &name,
                format!(
                    "the image declares {w}x{h} px, more than the {} px decoded whole; \
                     convert it to a pyramidal TIFF",
                    MAX_WHOLE_IMAGE_PIXELS
                ),
            ));
        }
        // As `ImageReader::decode` does: the decoded buffer counts against the limits too.
        limits
            .reserve(image::ImageDecoder::total_bytes(&decoder))
            .map_err(undecodable)?;
        let img = image::DynamicImage::from_decoder(decoder)
            .map_err(undecodable)?
            .into_rgb8();
        let (w, h) = img.dimensions();
        let info = SlideInfo {
            file: name,
            vendor: Vendor::Image,
            bigtiff: false,
            levels: vec![LevelInfo {
                width: w,
                height: h,
                downsample: 1.0,
                tile_width: w,
                tile_height: h,
                tiled: false,
                compression: "image".into(),
            }],
            associated: vec![],
            mpp_x: None,
            mpp_y: None,
            objective_power: None,
        };
        Ok(Slide {
            info,
            backend: Backend::Raster(Arc::new(img)),
            cache: TileCache::new(DEFAULT_CACHE_BYTES),
            decoded: vec![0],
            damage: DamageLog::default(),
        })
    }
}

/// Refuses a level whose compression or layout the decoders do not handle.
fn check_level(name: &str, ifd: &ImageIfd, level: usize) -> Result<()> {
    codec::check_supported(ifd)
        .map_err(|e| slide_err(name, format!("level {level} cannot be decoded: {e}")))
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl<R> Slide<R> {
    /// What the file declares: levels, associated images, resolution, vendor.
    pub fn info(&self) -> &SlideInfo {
        &self.info
    }

    /// The damaged tiles (broken JPEG data, decoded leniently) the reads so far met.
    pub fn damage(&self) -> Damage {
        self.damage.damage()
    }

    /// Strict: a damaged tile makes the read that meets it fail, instead of being counted.
    pub fn set_strict(&mut self, strict: bool) {
        self.damage.set_strict(strict);
    }

    /// The name errors use for this slide.
    pub fn name(&self) -> &str {
        &self.info.file
    }

    /// Number of pyramid levels (at least 1).
    pub fn level_count(&self) -> usize {
        self.info.levels.len()
    }

    /// Width and height of `level`, if it exists.
    pub fn level_dimensions(&self, level: usize) -> Option<(u32, u32)> {
        self.info.levels.get(level).map(|l| (l.width, l.height))
    }

    /// Level-0 pixels per pixel of `level`, if it exists.
    pub fn level_downsample(&self, level: usize) -> Option<f64> {
        self.info.levels.get(level).map(|l| l.downsample)
    }

    /// The tile cache (for its budget and fill).
    pub fn cache(&self) -> &TileCache {
        &self.cache
    }

    /// Replaces the tile cache with an empty one of `bytes` capacity.
    pub fn set_cache_capacity(&mut self, bytes: usize) {
        self.cache = TileCache::new(bytes);
    }

    /// How many tiles or strips of `level` have been decoded so far (cache misses).
    pub fn chunks_decoded(&self, level: usize) -> u64 {
        self.decoded.get(level).copied().unwrap_or(0)
    }

    /// The smallest level whose long side is at least `max_side` (level 0 if none is).
    pub fn level_for_side(&self, max_side: u32) -> usize {
        self.info
            .levels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.width.max(l.height) >= max_side)
            .map(|(i, _)| i)
            .next_back()
            .unwrap_or(0)
    }

    fn err(&self, problem: impl Into<String>) -> Error {
        slide_err(&self.info.file, problem)
    }
}

impl<R: Read + Seek> Slide<R> {
    /// Reads `rect` (in pixels of `level`, not level 0) into a new image of `rect`'s size.
    ///
    /// Decodes only the tiles or strips the rectangle touches, through the tile cache. The
    /// rectangle must lie inside the level and be non-empty.
    pub fn read_region(&mut self, level: usize, rect: Rect) -> Result<RgbImage> {
        let (lw, lh) = self.level_dimensions(level).ok_or_else(|| {
            self.err(format!(
                "no level {level} (the slide has {})",
                self.level_count()
            ))
        })?;
        let inside = u64::from(rect.x) + u64::from(rect.w) <= u64::from(lw)
            && u64::from(rect.y) + u64::from(rect.h) <= u64::from(lh);
        if rect.w == 0 || rect.h == 0 || !inside {
            return Err(self.err(format!(
                "region x={} y={} {}x{} lies outside level {level} ({lw}x{lh}) or is empty",
                rect.x, rect.y, rect.w, rect.h
            )));
        }
        if u64::from(rect.w) * u64::from(rect.h) > MAX_REGION_PIXELS {
            return Err(self.err(format!(
                "region {}x{} is larger than the {MAX_REGION_PIXELS} px a single read returns",
                rect.w, rect.h
            )));
        }
        // White where no image lies (outside a placed image, as OpenSlide's transparent).
        let mut out = RgbImage::from_pixel(rect.w, rect.h, image::Rgb([255, 255, 255]));
        self.for_each_chunk(level, rect, |cx0, cy0, tile| {
            copy_overlap(&mut out, rect, cx0, cy0, tile);
        })?;
        Ok(out)
    }

    /// Calls `f(x, y, tile)` for every chunk of `level` meeting `rect`, where `(x, y)` is the
    /// chunk's top-left corner in level pixels.
    fn for_each_chunk(
        &mut self,
        level: usize,
        rect: Rect,
        mut f: impl FnMut(u32, u32, &RgbImage),
    ) -> Result<()> {
        let Slide {
            info,
            backend,
            cache,
            decoded,
            damage,
        } = self;
        let name = info.file.as_str();
        match backend {
            Backend::Raster(img) => {
                f(0, 0, img);
                Ok(())
            }
            Backend::Tiff {
                files,
                levels,
                origins,
                ..
            } => {
                let ifd = &levels[level];
                let file = files
                    .get_mut(ifd.source)
                    .ok_or_else(|| slide_err(name, format!("level {level} has no file")))?;
                check_level(name, ifd, level)?;
                // The part of `rect` on the level's image, in the image's pixels.
                let (ox, oy) = origins[level];
                let x0 = rect.x.max(ox);
                let y0 = rect.y.max(oy);
                let x1 = (rect.x + rect.w).min(ox.saturating_add(ifd.width));
                let y1 = (rect.y + rect.h).min(oy.saturating_add(ifd.height));
                if x0 >= x1 || y0 >= y1 {
                    return Ok(());
                }
                let rect = Rect::new(x0 - ox, y0 - oy, x1 - x0, y1 - y0);
                let (across, _) = ifd.grid();
                let (cw, ch) = (ifd.chunk_w, ifd.chunk_h);
                let (tx0, tx1) = (rect.x / cw, (rect.x + rect.w - 1) / cw);
                let (ty0, ty1) = (rect.y / ch, (rect.y + rect.h - 1) / ch);
                let chunks: Vec<(u32, u32)> = (ty0..=ty1)
                    .flat_map(|ty| (tx0..=tx1).map(move |tx| (tx, ty)))
                    .collect();
                // Batches whose decoded pixels fit half the cache budget: their stored bytes
                // are read in order, then decoded on all cores.
                let chunk_bytes = (u64::from(cw) * u64::from(ch) * 3).max(1);
                let batch = (DEFAULT_CACHE_BYTES as u64 / 2 / chunk_bytes).clamp(1, 256) as usize;
                let placed = (ox, oy) != (0, 0);
                for group in chunks.chunks(batch) {
                    let mut tiles: Vec<Option<Arc<RgbImage>>> = Vec::with_capacity(group.len());
                    let mut missing = Vec::new();
                    for (i, &(tx, ty)) in group.iter().enumerate() {
                        let tile = cache.get(ifd.cache_key(ty * across + tx));
                        if tile.is_none() {
                            let raw = read_raw_chunk(file, ifd, tx, ty)
                                .map_err(|e| slide_err(name, format!("level {level}, {e}")))?;
                            missing.push((i, tx, ty, raw));
                        }
                        tiles.push(tile);
                    }
                    let fresh = crate::par::map(&missing, |(_, tx, ty, raw)| {
                        decode_raw_chunk(ifd, *tx, *ty, raw.as_deref(), damage)
                    });
                    for ((i, tx, ty, _), tile) in missing.iter().zip(fresh) {
                        let tile = Arc::new(
                            tile.map_err(|e| slide_err(name, format!("level {level}, {e}")))?,
                        );
                        decoded[level] += 1;
                        cache.insert(ifd.cache_key(ty * across + tx), Arc::clone(&tile));
                        tiles[*i] = Some(tile);
                    }
                    for (&(tx, ty), tile) in group.iter().zip(tiles.into_iter().flatten()) {
                        let (x, y) = (tx * cw, ty * ch);
                        if placed
                            && (x + tile.width() > ifd.width || y + tile.height() > ifd.height)
                        {
                            // A placed image's edge tile: its padding would cover the white
                            // around the image.
                            let (w, h) = (ifd.width - x, ifd.height - y);
                            let inside = image::imageops::crop_imm(&*tile, 0, 0, w, h).to_image();
                            f(x + ox, y + oy, &inside);
                        } else {
                            f(x + ox, y + oy, &tile);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Decodes an associated image (thumbnail, label, macro) whole.
    pub fn read_associated(&mut self, kind: AssociatedKind) -> Result<RgbImage> {
        let Slide {
            info,
            backend,
            damage,
            ..
        } = self;
        let name = info.file.as_str();
        let Backend::Tiff {
            files, associated, ..
        } = backend
        else {
            return Err(slide_err(name, format!("no {kind} image in a plain image")));
        };
        let Some(pos) = info.associated.iter().position(|a| a.kind == kind) else {
            return Err(slide_err(name, format!("the slide has no {kind} image")));
        };
        let (w, h) = associated[pos].size();
        if u64::from(w) * u64::from(h) > MAX_WHOLE_IMAGE_PIXELS {
            return Err(slide_err(
                name,
                format!("{kind} image is too large to decode whole"),
            ));
        }
        let ifd = match &associated[pos] {
            pyramid::Associated::Ifd(ifd) => ifd,
            pyramid::Associated::Encoded { bytes, .. } => {
                return decode_whole(bytes)
                    .map_err(|e| slide_err(name, format!("{kind} image: {e}")));
            }
        };
        codec::check_supported(ifd).map_err(|e| slide_err(name, format!("{kind} image: {e}")))?;
        let file = files
            .get_mut(ifd.source)
            .ok_or_else(|| slide_err(name, format!("{kind} image has no file")))?;
        let mut out = RgbImage::new(ifd.width, ifd.height);
        let (across, down) = ifd.grid();
        let all = Rect::new(0, 0, ifd.width, ifd.height);
        for ty in 0..down {
            for tx in 0..across {
                let tile = read_chunk(file, ifd, tx, ty, damage)
                    .map_err(|e| slide_err(name, format!("{kind} image, {e}")))?;
                copy_overlap(&mut out, all, tx * ifd.chunk_w, ty * ifd.chunk_h, &tile);
            }
        }
        Ok(out)
    }
}

/// Decodes an encoded picture (a JPEG the format keeps outside the TIFF images) whole,
/// within the whole-image pixel budget.
fn decode_whole(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_WHOLE_IMAGE_PIXELS * 4);
    reader.limits(limits);
    reader
        .decode()
        .map(image::DynamicImage::into_rgb8)
        .map_err(|e| format!("cannot be decoded: {e}"))
}

/// Reads and decodes chunk `(tx, ty)` of `ifd`. Missing chunks (offset or size 0) are white.
fn read_chunk<R: Read + Seek>(
    file: &mut TiffFile<R>,
    ifd: &ImageIfd,
    tx: u32,
    ty: u32,
    damage: &DamageLog,
) -> std::result::Result<RgbImage, String> {
    let raw = read_raw_chunk(file, ifd, tx, ty)?;
    decode_raw_chunk(ifd, tx, ty, raw.as_deref(), damage)
}

fn chunk_what(ifd: &ImageIfd, tx: u32, ty: u32) -> String {
    let index = ty * ifd.grid().0 + tx;
    format!("{} {index}", if ifd.tiled { "tile" } else { "strip" })
}

/// Whether chunk `(tx, ty)` is missing (offset or size 0): white, with nothing to read.
fn is_missing(ifd: &ImageIfd, tx: u32, ty: u32) -> bool {
    let index = (ty * ifd.grid().0 + tx) as usize;
    matches!(
        (ifd.offsets.get(index), ifd.byte_counts.get(index)),
        (Some(&offset), Some(&count)) if offset == 0 || count == 0
    )
}

/// The stored bytes of chunk `(tx, ty)`, `None` for a missing chunk (offset or size 0).
fn read_raw_chunk<R: Read + Seek>(
    file: &mut TiffFile<R>,
    ifd: &ImageIfd,
    tx: u32,
    ty: u32,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let (across, _) = ifd.grid();
    let index = (ty * across + tx) as usize;
    let (Some(&offset), Some(&count)) = (ifd.offsets.get(index), ifd.byte_counts.get(index)) else {
        return Err(format!("{} has no offset", chunk_what(ifd, tx, ty)));
    };
    if offset == 0 || count == 0 {
        return Ok(None);
    }
    // No codec here makes a chunk much larger than its pixels: a count far beyond them is a
    // claim, not data, and is refused before anything is read.
    let (cw, ch) = ifd.chunk_size(ty);
    let (cw, ch) = (cw * ifd.reduce, ch * ifd.reduce);
    let pixels =
        u64::from(cw) * u64::from(ch) * u64::from(ifd.samples) * u64::from(ifd.bits).div_ceil(8);
    let plausible = pixels.saturating_mul(2).saturating_add(1 << 20);
    // Uncompressed data is the pixels and no more (a single strip may run to the file's end).
    let count = if ifd.compression == 1 {
        count.min(pixels)
    } else {
        count
    };
    if count > ifd::MAX_CHUNK_BYTES || count > plausible {
        return Err(format!(
            "{} declares {count} bytes for {cw}x{ch} px, more than any encoding of them takes",
            chunk_what(ifd, tx, ty)
        ));
    }
    file.chunk_bytes(offset, count)
        .map(Some)
        .map_err(|e| format!("{}: {e}", chunk_what(ifd, tx, ty)))
}

/// Decodes the bytes [`read_raw_chunk`] returned; a missing chunk is white. A damaged chunk
/// goes into `damage` (or is an error there in strict mode).
fn decode_raw_chunk(
    ifd: &ImageIfd,
    tx: u32,
    ty: u32,
    raw: Option<&[u8]>,
    damage: &DamageLog,
) -> std::result::Result<RgbImage, String> {
    let Some(raw) = raw else {
        let (w, h) = ifd.chunk_size(ty);
        return Ok(RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255])));
    };
    let decoded = codec::decode_chunk(ifd, ty, raw)
        .map_err(|e| format!("{}: {e}", chunk_what(ifd, tx, ty)))?;
    if let Some(problem) = decoded.damage {
        damage.record(format!("{} is damaged: {problem}", chunk_what(ifd, tx, ty)))?;
    }
    Ok(decoded.image)
}

/// Copies the part of `tile` (placed at `(tx, ty)` in level pixels) that falls inside `rect`
/// into `out` (which holds `rect`).
fn copy_overlap(out: &mut RgbImage, rect: Rect, tx: u32, ty: u32, tile: &RgbImage) {
    let x0 = rect.x.max(tx);
    let y0 = rect.y.max(ty);
    let x1 = (rect.x + rect.w).min(tx + tile.width());
    let y1 = (rect.y + rect.h).min(ty + tile.height());
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let n = (x1 - x0) as usize * 3;
    let (ow, tw) = (out.width() as usize, tile.width() as usize);
    let src = tile.as_raw();
    let dst: &mut [u8] = out;
    for y in y0..y1 {
        let s = ((y - ty) as usize * tw + (x0 - tx) as usize) * 3;
        let d = ((y - rect.y) as usize * ow + (x0 - rect.x) as usize) * 3;
        dst[d..d + n].copy_from_slice(&src[s..s + n]);
    }
}

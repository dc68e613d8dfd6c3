//! Overviews: the smallest level at least `max_side` on its long side, reduced by area
//! averaging band of rows by band. An overview can also be made in shares ([`OverviewPart`]),
//! each a horizontal slice of the level's rows, computed anywhere (natively on threads, in the
//! browser in separate workers with their own copy of the slide) and joined; the integer
//! reduction makes the joined overview identical to the one made in one piece.

use std::io::{Read, Seek};
use std::sync::Arc;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::resample::{AreaPlan, Band, Reducer};
use super::{
    Backend, DEFAULT_CACHE_BYTES, ImageIfd, Slide, TiffFile, TileCache, check_level,
    decode_raw_chunk, is_missing, read_raw_chunk, slide_err,
};
use crate::{Error, Result};

/// Source rows per overview band (whole chunk rows are added until a band is this tall).
const BAND_ROWS: u32 = 128;
/// Most memory the column sums of one band may take (about 12 bytes a level column for each
/// overview row the band touches: 36 MiB for a band across a 1,000,000 px level).
const MAX_BAND_SUMS_BYTES: u64 = 256 << 20;

/// One horizontal share of an overview (see [`Slide::overview_part`]); serialisable, so it can
/// travel between workers, and checked when joined.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverviewPart {
    level: usize,
    width: u32,
    height: u32,
    part: usize,
    parts: usize,
    /// The level row after the last one this share reduced.
    rows_end: u32,
    band: Band,
}

/// A band's chunk rows `[first, end)` and the chunks stored in them.
type BandChunks = (u32, u32, Vec<(u32, u32)>);

/// The level an overview reads, its reduction, and the overview's size.
struct Plan {
    level: usize,
    area: AreaPlan,
    size: (u32, u32),
}

/// A chunk of an overview band: already in the cache, or its stored bytes.
enum Chunk {
    Decoded(Arc<RgbImage>),
    Raw(Option<Vec<u8>>),
}

impl<R: Read + Seek> Slide<R> {
    /// An overview whose long side is `max_side` (or the whole level when smaller).
    ///
    /// Picks the smallest level that is at least `max_side` on its long side and reduces it
    /// by area averaging, reading it band of tiles by band; no larger level is touched.
    /// Natively the bands are decoded and reduced on all cores; the result does not depend on
    /// how many.
    pub fn overview(&mut self, max_side: u32) -> Result<RgbImage> {
        let whole = self.overview_part(max_side, 0, 1)?;
        self.overview_from_parts(max_side, vec![whole])
    }

    /// Share `part` of `parts` of the overview [`Slide::overview`] makes: the reduction of
    /// one horizontal slice of the level's tile rows. Shares may be computed on other copies
    /// of the same slide and joined with [`Slide::overview_from_parts`].
    pub fn overview_part(
        &mut self,
        max_side: u32,
        part: usize,
        parts: usize,
    ) -> Result<OverviewPart> {
        if part >= parts {
            return Err(Error::InvalidParameter {
                name: "part",
                problem: format!("share {part} of {parts} does not exist"),
            });
        }
        let plan = self.overview_plan(max_side)?;
        let level = plan.level;
        let (lw, lh) = self.level_dimensions(level).unwrap_or((1, 1));
        let slice = |units: u32| {
            let at = |k: usize| (u64::from(units) * k as u64 / parts as u64) as u32;
            (at(part), at(part + 1))
        };
        if self.is_placed(level) {
            // An image placed inside a larger level: whole rows read as regions (white
            // around the image), reduced band by band.
            let (b0, b1) = slice(lh.div_ceil(BAND_ROWS));
            let (y0, y1) = (b0 * BAND_ROWS, (b1 * BAND_ROWS).min(lh));
            let mut reducer = Reducer::starting_at(&plan.area, y0);
            let mut y = y0;
            while y < y1 {
                let rows = BAND_ROWS.min(y1 - y);
                let band = self.read_region(level, crate::rect::Rect::new(0, y, lw, rows))?;
                reducer.add(y + rows, plan.area.reduce_band(y, band.as_raw()));
                y += rows;
            }
            return Ok(OverviewPart {
                level,
                width: plan.size.0,
                height: plan.size.1,
                part,
                parts,
                rows_end: y1,
                band: reducer.into_band(),
            });
        }
        let Slide {
            info,
            backend,
            cache,
            decoded,
            damage,
        } = self;
        let name = info.file.as_str();
        let (rows_end, band) = match backend {
            Backend::Raster(img) => {
                let (b0, b1) = slice(lh.div_ceil(BAND_ROWS));
                let (y0, y1) = (b0 * BAND_ROWS, (b1 * BAND_ROWS).min(lh));
                let stride = lw as usize * 3;
                let rows = &img.as_raw()[y0 as usize * stride..y1 as usize * stride];
                let bands: Vec<(u32, &[u8])> = rows
                    .chunks(stride * BAND_ROWS as usize)
                    .zip((y0..).step_by(BAND_ROWS as usize))
                    .map(|(rows, y)| (y, rows))
                    .collect();
                let reduced = crate::par::map(&bands, |&(y, rows)| plan.area.reduce_band(y, rows));
                let mut reducer = Reducer::starting_at(&plan.area, y0);
                for ((y, rows), band) in bands.iter().zip(reduced) {
                    reducer.add(y + (rows.len() / stride) as u32, band);
                }
                (y1, reducer.into_band())
            }
            Backend::Tiff { files, levels, .. } => {
                let ifd = &levels[level];
                let file = files
                    .get_mut(ifd.source)
                    .ok_or_else(|| slide_err(name, format!("level {level} has no file")))?;
                check_level(name, ifd, level)?;
                let (across, down) = ifd.grid();
                let (cw, ch) = (ifd.chunk_w, ifd.chunk_h.max(1));
                let (mut ty, ty_end) = slice(down);
                // Bands of whole chunk rows, at least BAND_ROWS tall, each reduced chunk by
                // chunk from white (missing chunks cost nothing). Bands go in groups whose
                // decoded chunks and sums stay within the cache budget, one band a core; a
                // band too wide for that is reduced alone, its chunks decoded on all cores in
                // batches.
                let per_band = BAND_ROWS.div_ceil(ch).max(1);
                let chunk_bytes = u64::from(cw) * u64::from(ch) * 3;
                let budget = DEFAULT_CACHE_BYTES as u64;
                let mut reducer = Reducer::starting_at(&plan.area, (ty * ch).min(lh));
                while ty < ty_end {
                    let mut group: Vec<BandChunks> = Vec::new();
                    let mut bytes = 0u64;
                    while ty < ty_end && group.len() < 64 {
                        let mut ty1 = (ty + per_band).min(ty_end);
                        let sums_bytes = plan.area.band_sums_bytes(ty * ch, (ty1 * ch).min(lh));
                        if sums_bytes > MAX_BAND_SUMS_BYTES {
                            return Err(slide_err(
                                name,
                                format!(
                                    "level {level}: rows from {} ({lw} px wide, in chunks {ch} \
                                     px tall) need {} MiB to reduce, more than the {} MiB allowed",
                                    ty * ch,
                                    sums_bytes >> 20,
                                    MAX_BAND_SUMS_BYTES >> 20
                                ),
                            ));
                        }
                        // Chunk rows wholly missing join the band: white, they cost nothing.
                        while ty1 < ty_end && (0..across).all(|cx| is_missing(ifd, cx, ty1)) {
                            ty1 += 1;
                        }
                        let present: Vec<(u32, u32)> = (ty..ty1)
                            .flat_map(|cy| (0..across).map(move |cx| (cx, cy)))
                            .filter(|&(cx, cy)| !is_missing(ifd, cx, cy))
                            .collect();
                        let cost = sums_bytes + present.len() as u64 * chunk_bytes;
                        if !group.is_empty() && bytes + cost > budget {
                            break;
                        }
                        bytes += cost;
                        group.push((ty, ty1, present));
                        ty = ty1;
                    }
                    let read = |file: &mut TiffFile<R>, cache: &mut TileCache, cx, cy| {
                        chunk_or_cached(file, cache, ifd, cx, cy)
                            .map_err(|e| slide_err(name, format!("level {level}, {e}")))
                    };
                    let decode = |cx: u32, cy: u32, chunk: &Chunk| match chunk {
                        Chunk::Decoded(t) => Ok((Arc::clone(t), false)),
                        Chunk::Raw(raw) => decode_raw_chunk(ifd, cx, cy, raw.as_deref(), damage)
                            .map(|t| (Arc::new(t), true)),
                    };
                    if let [(b0, b1, present)] = &group[..]
                        && bytes > budget
                    {
                        let (y0, y1) = (b0 * ch, (b1 * ch).min(lh));
                        let mut band = plan.area.white_band(y0, y1);
                        let batch = (budget / 2 / chunk_bytes.max(1)).clamp(1, 256) as usize;
                        for some in present.chunks(batch) {
                            let mut chunks = Vec::with_capacity(some.len());
                            for &(cx, cy) in some {
                                chunks.push((cx, cy, read(&mut *file, &mut *cache, cx, cy)?));
                            }
                            let done = crate::par::map(&chunks, |(cx, cy, chunk)| {
                                let (tile, new) = decode(*cx, *cy, chunk)?;
                                let deficit = plan.area.deficit(&band, cx * cw, cy * ch, &tile);
                                Ok::<_, String>((deficit, new.then_some((*cx, *cy, tile))))
                            });
                            for result in done {
                                let (deficit, new) = result
                                    .map_err(|e| slide_err(name, format!("level {level}, {e}")))?;
                                band.subtract(&deficit);
                                if let Some((cx, cy, tile)) = new {
                                    decoded[level] += 1;
                                    cache.insert(ifd.cache_key(cy * across + cx), tile);
                                }
                            }
                        }
                        reducer.add(y1, plan.area.finish_band(band, true));
                        continue;
                    }
                    let mut jobs = Vec::with_capacity(group.len());
                    for (b0, b1, present) in &group {
                        let mut chunks = Vec::with_capacity(present.len());
                        for &(cx, cy) in present {
                            chunks.push((cx, cy, read(&mut *file, &mut *cache, cx, cy)?));
                        }
                        jobs.push((b0 * ch, (b1 * ch).min(lh), chunks));
                    }
                    let done = crate::par::map(&jobs, |(y0, y1, chunks)| {
                        let mut band = plan.area.white_band(*y0, *y1);
                        let mut new_tiles = Vec::new();
                        for (cx, cy, chunk) in chunks {
                            let (tile, new) = decode(*cx, *cy, chunk)?;
                            band.subtract(&plan.area.deficit(&band, cx * cw, cy * ch, &tile));
                            if new {
                                new_tiles.push((*cx, *cy, tile));
                            }
                        }
                        Ok::<_, String>((plan.area.finish_band(band, false), new_tiles))
                    });
                    for ((_, y1, _), result) in jobs.iter().zip(done) {
                        let (band, new_tiles) =
                            result.map_err(|e| slide_err(name, format!("level {level}, {e}")))?;
                        for (cx, cy, tile) in new_tiles {
                            decoded[level] += 1;
                            cache.insert(ifd.cache_key(cy * across + cx), tile);
                        }
                        reducer.add(*y1, band);
                    }
                }
                ((ty_end * ch).min(lh), reducer.into_band())
            }
        };
        Ok(OverviewPart {
            level,
            width: plan.size.0,
            height: plan.size.1,
            part,
            parts,
            rows_end,
            band,
        })
    }

    /// Joins every share of the overview of `max_side` (in any order) into the overview.
    /// Shares of another slide, another size or a different split are refused.
    pub fn overview_from_parts(
        &self,
        max_side: u32,
        mut parts: Vec<OverviewPart>,
    ) -> Result<RgbImage> {
        let plan = self.overview_plan(max_side)?;
        if parts.is_empty() {
            return Err(self.err("no overview shares to join"));
        }
        parts.sort_by_key(|p| p.part);
        let count = parts.len();
        for (i, p) in parts.iter().enumerate() {
            let matches = p.part == i
                && p.parts == count
                && p.level == plan.level
                && (p.width, p.height) == plan.size;
            if !matches {
                return Err(self.err(format!(
                    "overview shares do not fit together: share {} of {} (level {}, {}x{}) \
                     given as number {} of {count} for level {}, {}x{}",
                    p.part,
                    p.parts,
                    p.level,
                    p.width,
                    p.height,
                    i,
                    plan.level,
                    plan.size.0,
                    plan.size.1
                )));
            }
            p.band
                .check(&plan.area)
                .map_err(|e| self.err(format!("overview share {i}: {e}")))?;
        }
        let mut reducer = Reducer::new(&plan.area);
        for p in parts {
            reducer.add(p.rows_end, p.band);
        }
        Ok(reducer.finish())
    }

    /// Whether `level`'s image starts away from the level's corner (Leica).
    fn is_placed(&self, level: usize) -> bool {
        match &self.backend {
            Backend::Tiff { origins, .. } => origins.get(level).is_some_and(|o| *o != (0, 0)),
            Backend::Raster(_) => false,
        }
    }

    fn overview_plan(&self, max_side: u32) -> Result<Plan> {
        if max_side == 0 {
            return Err(Error::InvalidParameter {
                name: "max_side",
                problem: "must be > 0".into(),
            });
        }
        let level = self.level_for_side(max_side);
        let (lw, lh) = self.level_dimensions(level).unwrap_or((1, 1));
        let scale = (f64::from(max_side) / f64::from(lw.max(lh))).min(1.0);
        let ow = ((f64::from(lw) * scale).round() as u32).clamp(1, lw);
        let oh = ((f64::from(lh) * scale).round() as u32).clamp(1, lh);
        let area = AreaPlan::new(lw, lh, ow, oh).map_err(|e| self.err(e))?;
        Ok(Plan {
            level,
            area,
            size: (ow, oh),
        })
    }
}

/// Chunk `(cx, cy)` of `ifd`: from the cache, or its stored bytes.
fn chunk_or_cached<R: Read + Seek>(
    file: &mut TiffFile<R>,
    cache: &mut TileCache,
    ifd: &ImageIfd,
    cx: u32,
    cy: u32,
) -> std::result::Result<Chunk, String> {
    match cache.get(ifd.cache_key(cy * ifd.grid().0 + cx)) {
        Some(t) => Ok(Chunk::Decoded(t)),
        None => read_raw_chunk(file, ifd, cx, cy).map(Chunk::Raw),
    }
}

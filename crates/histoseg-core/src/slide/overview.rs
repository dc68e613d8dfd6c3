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
    Backend, DEFAULT_CACHE_BYTES, DamageLog, ImageIfd, Slide, cache, check_level, copy_overlap,
    decode_raw_chunk, read_raw_chunk, slide_err,
};
use crate::rect::Rect;
use crate::{Error, Result};

/// Source rows per overview band (whole chunk rows are added until a band is this tall).
const BAND_ROWS: u32 = 128;

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

/// Chunks decoded while reducing a band, to go into the tile cache.
type Fresh = Vec<(cache::TileKey, Arc<RgbImage>)>;

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
                let ch = ifd.chunk_h.max(1);
                let (mut ty, ty_end) = slice(down);
                // Bands of whole chunk rows, at least BAND_ROWS tall, in groups whose decoded
                // pixels stay within the cache budget (at least one band).
                let per_band = BAND_ROWS.div_ceil(ch).max(1);
                let band_bytes = u64::from(per_band)
                    * u64::from(ch)
                    * u64::from(across)
                    * u64::from(ifd.chunk_w)
                    * 3;
                let per_group = (DEFAULT_CACHE_BYTES as u64 / band_bytes.max(1)).max(1) as u32;
                let mut reducer = Reducer::starting_at(&plan.area, (ty * ch).min(lh));
                while ty < ty_end {
                    let mut jobs = Vec::new();
                    for _ in 0..per_group {
                        if ty >= ty_end {
                            break;
                        }
                        let ty1 = (ty + per_band).min(ty_end);
                        let mut chunks = Vec::new();
                        for cy in ty..ty1 {
                            for cx in 0..across {
                                let key = ifd.cache_key(cy * across + cx);
                                let chunk = match cache.get(key) {
                                    Some(t) => Chunk::Decoded(t),
                                    None => Chunk::Raw(read_raw_chunk(file, ifd, cx, cy).map_err(
                                        |e| slide_err(name, format!("level {level}, {e}")),
                                    )?),
                                };
                                chunks.push((cx, cy, chunk));
                            }
                        }
                        jobs.push((ty, ty1, chunks));
                        ty = ty1;
                    }
                    let done = crate::par::map(&jobs, |(ty0, ty1, chunks)| {
                        reduce_chunks(&plan.area, ifd, (lw, lh), (*ty0, *ty1), chunks, damage)
                    });
                    for ((_, ty1, _), result) in jobs.iter().zip(done) {
                        let (band, fresh) =
                            result.map_err(|e| slide_err(name, format!("level {level}, {e}")))?;
                        decoded[level] += fresh.len() as u64;
                        for (key, tile) in fresh {
                            cache.insert(key, tile);
                        }
                        reducer.add((ty1 * ch).min(lh), band);
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

/// Decodes chunk rows `ty0..ty1` of `ifd` (a `lw x lh` level), lays them out as whole rows and
/// reduces them; also returns the chunks it decoded, for the cache.
fn reduce_chunks(
    plan: &AreaPlan,
    ifd: &ImageIfd,
    (lw, lh): (u32, u32),
    (ty0, ty1): (u32, u32),
    chunks: &[(u32, u32, Chunk)],
    damage: &DamageLog,
) -> std::result::Result<(Band, Fresh), String> {
    let (across, _) = ifd.grid();
    let (cw, ch) = (ifd.chunk_w, ifd.chunk_h);
    let y0 = ty0 * ch;
    let rows = ((ty1 * ch).min(lh)).saturating_sub(y0);
    let mut band = RgbImage::new(lw, rows);
    let mut fresh = Vec::new();
    for (cx, cy, chunk) in chunks {
        let tile = match chunk {
            Chunk::Decoded(t) => Arc::clone(t),
            Chunk::Raw(raw) => {
                let t = Arc::new(decode_raw_chunk(ifd, *cx, *cy, raw.as_deref(), damage)?);
                fresh.push((ifd.cache_key(cy * across + cx), Arc::clone(&t)));
                t
            }
        };
        copy_overlap(
            &mut band,
            Rect::new(0, y0, lw, rows),
            cx * cw,
            cy * ch,
            &tile,
        );
    }
    Ok((plan.reduce_band(y0, band.as_raw()), fresh))
}

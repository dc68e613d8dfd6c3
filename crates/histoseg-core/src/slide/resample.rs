//! Area-averaging reduction, the way OpenCV's `INTER_AREA` reduces: every output pixel is the
//! mean of the source pixels its footprint covers, each weighted by the area it overlaps.
//!
//! Computed exactly in integers: scaled by `dst / gcd(src, dst)` along an axis, every source
//! pixel and output pixel boundary falls on an integer, so every overlap is an integer weight
//! and sums are exact. That makes the result independent of the order in which bands of rows
//! are added, so bands can be reduced on several threads (natively) or one (wasm) with
//! identical results. Each band is reduced vertically first (whole rows, which vectorises),
//! then horizontally once per output row.

use std::collections::BTreeMap;

use image::RgbImage;

/// Greatest common divisor.
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One axis: for each source index, the first output index it overlaps, its integer weight
/// there and its weight on the next output index (0 unless it straddles the boundary); and
/// the integer sum of weights over one output pixel.
fn spans(src: u32, dst: u32) -> (Vec<(u32, u32, u32)>, u64) {
    let g = gcd(u64::from(src), u64::from(dst)).max(1);
    // Source pixel i covers [i * a, (i + 1) * a), output pixel o covers [o * b, (o + 1) * b).
    let (a, b) = (u64::from(dst) / g, u64::from(src) / g);
    let table = (0..u64::from(src))
        .map(|i| {
            let (start, end) = (i * a, (i + 1) * a);
            let o = start / b;
            let edge = (o + 1) * b;
            if end > edge {
                (o as u32, (edge - start) as u32, (end - edge) as u32)
            } else {
                (o as u32, a as u32, 0)
            }
        })
        .collect();
    (table, b)
}

/// How a `src_w x src_h` RGB image reduces to `dst_w x dst_h`.
#[derive(Debug)]
pub(crate) struct AreaPlan {
    src_w: u32,
    dst_w: u32,
    dst_h: u32,
    /// Per source row: first output row, weight there, weight on the next.
    rows: Vec<(u32, u32, u32)>,
    /// Per output row: the source rows `[first, end)` it covers.
    row_ranges: Vec<(u32, u32)>,
    /// Per output column: first source column and the range of its weights in `col_weights`.
    cols: Vec<(u32, u32, u32)>,
    col_weights: Vec<u32>,
    /// Sum of the weights over one output pixel.
    denom: u64,
}

impl AreaPlan {
    /// A plan; `dst` is clamped to `1..=src` on each axis.
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Result<Self, String> {
        let (dst_w, dst_h) = (dst_w.clamp(1, src_w.max(1)), dst_h.clamp(1, src_h.max(1)));
        let (col_spans, bx) = spans(src_w, dst_w);
        let (rows, by) = spans(src_h, dst_h);
        // Column sums (u32) reach 255 * by; the final sums (u64) 255 * bx * by.
        if 255 * by > u64::from(u32::MAX) || 255 * bx * by >= 1 << 53 {
            return Err(format!(
                "{src_w}x{src_h} px is too large to reduce to {dst_w}x{dst_h}"
            ));
        }
        let mut row_ranges = vec![(u32::MAX, 0); dst_h as usize];
        for (j, &(o, _, wb)) in rows.iter().enumerate() {
            for o in [o, o + 1].into_iter().take(1 + usize::from(wb > 0)) {
                let r = &mut row_ranges[o as usize];
                *r = (r.0.min(j as u32), j as u32 + 1);
            }
        }
        let mut cols = vec![(u32::MAX, 0, 0); dst_w as usize];
        let mut per_col: Vec<Vec<u32>> = vec![Vec::new(); dst_w as usize];
        for (i, &(o, wa, wb)) in col_spans.iter().enumerate() {
            for (o, w) in [(o, wa), (o + 1, wb)] {
                if w > 0 {
                    cols[o as usize].0 = cols[o as usize].0.min(i as u32);
                    per_col[o as usize].push(w);
                }
            }
        }
        let mut col_weights = Vec::with_capacity(src_w as usize + dst_w as usize);
        for (c, w) in cols.iter_mut().zip(per_col) {
            c.1 = col_weights.len() as u32;
            col_weights.extend(w);
            c.2 = col_weights.len() as u32;
        }
        Ok(AreaPlan {
            src_w,
            dst_w,
            dst_h,
            rows,
            row_ranges,
            cols,
            col_weights,
            denom: bx * by,
        })
    }

    /// Reduces source rows `y0..` given in `rows` (RGB, `src_w` pixels per row, whole rows).
    pub fn reduce_band(&self, y0: u32, rows: &[u8]) -> Band {
        let stride = self.src_w as usize * 3;
        let n = rows.len().checked_div(stride).unwrap_or(0) as u32;
        let mut band = Band {
            first: 0,
            pixels: Vec::new(),
            partial: Vec::new(),
        };
        if n == 0 {
            return band;
        }
        let y1 = y0 + n;
        let first = self.rows[y0 as usize].0;
        let (last_o, _, last_wb) = self.rows[y1 as usize - 1];
        let last = last_o + u32::from(last_wb > 0);
        let mut sums = vec![0u32; stride];
        for oy in first..=last {
            let (r0, r1) = self.row_ranges[oy as usize];
            let mut fresh = true;
            for j in r0.max(y0)..r1.min(y1) {
                let (o, wa, wb) = self.rows[j as usize];
                let w = if o == oy { wa } else { wb };
                let src = &rows[(j - y0) as usize * stride..][..stride];
                if fresh {
                    for (s, &p) in sums.iter_mut().zip(src) {
                        *s = w * u32::from(p);
                    }
                    fresh = false;
                } else {
                    for (s, &p) in sums.iter_mut().zip(src) {
                        *s += w * u32::from(p);
                    }
                }
            }
            if r0 >= y0 && r1 <= y1 {
                if band.pixels.is_empty() {
                    band.first = oy;
                }
                let at = band.pixels.len();
                band.pixels.resize(at + self.dst_w as usize * 3, 0);
                self.finish_row(&sums, &mut band.pixels[at..]);
            } else {
                band.partial.push((oy, sums.clone()));
            }
        }
        band
    }

    /// Reduces one output row's column sums horizontally into RGB pixels.
    fn finish_row(&self, sums: &[u32], out: &mut [u8]) {
        let d = self.denom;
        let inv = 1.0 / d as f64;
        // Rounding half up is floor(acc / d + 1/2). acc / d is a multiple of 1 / d, and the
        // f64 estimate below is within 1e-13 of it (acc < 2^53): a bias of 1e-13 lands every
        // estimate on the right side of the integer while 1 / (2d) is wider than twice that.
        let fast = d < 1 << 40;
        let round = |acc: u64| -> u8 {
            if fast {
                ((acc as i64 as f64) * inv + (0.5 + 1e-13)) as u8
            } else {
                // Exact: floor((2 acc + d) / 2d).
                ((2 * acc + d) / (2 * d)).min(255) as u8
            }
        };
        for (&(x0, w0, w1), px) in self.cols.iter().zip(out.chunks_exact_mut(3)) {
            let weights = &self.col_weights[w0 as usize..w1 as usize];
            let src = &sums[x0 as usize * 3..][..weights.len() * 3];
            let (mut r, mut g, mut b) = (0u64, 0u64, 0u64);
            for (&w, s) in weights.iter().zip(src.chunks_exact(3)) {
                let w = u64::from(w);
                r += w * u64::from(s[0]);
                g += w * u64::from(s[1]);
                b += w * u64::from(s[2]);
            }
            px[0] = round(r);
            px[1] = round(g);
            px[2] = round(b);
        }
    }
}

/// One band reduced: the output rows it holds whole, and its share of the rows it shares with
/// the bands above and below.
#[derive(Debug)]
pub(crate) struct Band {
    first: u32,
    pixels: Vec<u8>,
    partial: Vec<(u32, Vec<u32>)>,
}

/// Collects bands, given in order from the top, into the reduced image.
#[derive(Debug)]
pub(crate) struct Reducer<'a> {
    plan: &'a AreaPlan,
    out: RgbImage,
    pending: BTreeMap<u32, Vec<u32>>,
}

impl<'a> Reducer<'a> {
    /// An empty reduction following `plan`.
    pub fn new(plan: &'a AreaPlan) -> Self {
        Reducer {
            plan,
            out: RgbImage::new(plan.dst_w, plan.dst_h),
            pending: BTreeMap::new(),
        }
    }

    /// Adds the band reduced from the source rows before `y_end` (and after the last band).
    pub fn add(&mut self, y_end: u32, band: Band) {
        let row = self.plan.dst_w as usize * 3;
        let at = band.first as usize * row;
        let out: &mut [u8] = &mut self.out;
        out[at..at + band.pixels.len()].copy_from_slice(&band.pixels);
        for (oy, sums) in band.partial {
            match self.pending.get_mut(&oy) {
                Some(acc) => acc.iter_mut().zip(&sums).for_each(|(a, s)| *a += s),
                None => {
                    self.pending.insert(oy, sums);
                }
            }
        }
        // Rows whose every source row has been added are complete.
        while let Some(entry) = self.pending.first_entry() {
            let oy = *entry.key();
            if self.plan.row_ranges[oy as usize].1 > y_end {
                break;
            }
            let sums = entry.remove();
            let out: &mut [u8] = &mut self.out;
            self.plan
                .finish_row(&sums, &mut out[oy as usize * row..][..row]);
        }
    }

    /// The reduced image (rows never added stay black).
    pub fn finish(mut self) -> RgbImage {
        self.add(
            u32::MAX,
            Band {
                first: 0,
                pixels: Vec::new(),
                partial: Vec::new(),
            },
        );
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reduce(img: &RgbImage, dst_w: u32, dst_h: u32, band_rows: usize) -> RgbImage {
        let plan = AreaPlan::new(img.width(), img.height(), dst_w, dst_h).expect("plan");
        let mut r = Reducer::new(&plan);
        let stride = img.width() as usize * 3 * band_rows;
        for (k, rows) in img.as_raw().chunks(stride).enumerate() {
            let y0 = (k * band_rows) as u32;
            r.add(
                y0 + (rows.len() / (img.width() as usize * 3)) as u32,
                plan.reduce_band(y0, rows),
            );
        }
        r.finish()
    }

    /// OpenCV's definition in floating point: overlap-weighted mean, rounded half up.
    fn naive(img: &RgbImage, dst_w: u32, dst_h: u32) -> Vec<f64> {
        let (sw, sh) = (f64::from(img.width()), f64::from(img.height()));
        let (fx, fy) = (sw / f64::from(dst_w), sh / f64::from(dst_h));
        let overlap = |a0: f64, a1: f64, b0: f64, b1: f64| (a1.min(b1) - a0.max(b0)).max(0.0);
        let mut out = Vec::new();
        for oy in 0..dst_h {
            for ox in 0..dst_w {
                let mut acc = [0.0; 3];
                for (x, y, p) in img.enumerate_pixels() {
                    let wx = overlap(
                        f64::from(x),
                        f64::from(x + 1),
                        f64::from(ox) * fx,
                        f64::from(ox + 1) * fx,
                    );
                    let wy = overlap(
                        f64::from(y),
                        f64::from(y + 1),
                        f64::from(oy) * fy,
                        f64::from(oy + 1) * fy,
                    );
                    for (a, v) in acc.iter_mut().zip(p.0) {
                        *a += wx * wy * f64::from(v);
                    }
                }
                out.extend(acc.map(|v| v / (fx * fy)));
            }
        }
        out
    }

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let img = RgbImage::from_fn(4, 2, |x, y| image::Rgb([(x * 40 + y * 10) as u8, 100, 0]));
        let out = reduce(&img, 2, 1, 2);
        // (0 + 40 + 10 + 50) / 4 = 25, (80 + 120 + 90 + 130) / 4 = 105
        assert_eq!(out.get_pixel(0, 0).0, [25, 100, 0]);
        assert_eq!(out.get_pixel(1, 0).0, [105, 100, 0]);
        // Halves round up: (1 + 2) / 2 = 1.5 -> 2.
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 + 1, 0, 0]));
        assert_eq!(reduce(&img, 1, 1, 1).get_pixel(0, 0).0, [2, 0, 0]);
    }

    #[test]
    fn fractional_ratio_weights_by_overlap() {
        // 3 -> 2: output 0 = p0 + p1/2, output 1 = p1/2 + p2 (each over 1.5 source px).
        let img = RgbImage::from_fn(3, 3, |x, _| image::Rgb([[30, 60, 90][x as usize], 0, 0]));
        let whole = reduce(&img, 2, 2, 3);
        assert_eq!(whole.get_pixel(0, 0).0[0], 40);
        assert_eq!(whole.get_pixel(1, 1).0[0], 80);
    }

    proptest! {
        #[test]
        fn matches_the_definition_in_any_bands(
            (w, h, data) in (1u32..24, 1u32..24).prop_flat_map(|(w, h)| {
                (Just(w), Just(h), proptest::collection::vec(any::<u8>(), (w * h * 3) as usize))
            }),
            fx in 0.05f64..=1.0, fy in 0.05f64..=1.0, band_rows in 1usize..9,
        ) {
            let img = RgbImage::from_raw(w, h, data).expect("sized");
            let (dw, dh) = (((f64::from(w) * fx).round() as u32).max(1), ((f64::from(h) * fy).round() as u32).max(1));
            let got = reduce(&img, dw, dh, band_rows);
            prop_assert_eq!(&got, &reduce(&img, dw, dh, h as usize), "bands change the result");
            for (g, want) in got.as_raw().iter().zip(naive(&img, dw, dh)) {
                prop_assert!((f64::from(*g) - want).abs() <= 0.5 + 1e-9, "{} vs {}", g, want);
            }
        }
    }
}

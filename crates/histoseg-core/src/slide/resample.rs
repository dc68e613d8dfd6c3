//! Area-averaging reduction fed tile by tile: every source pixel spreads its colour over the
//! (at most 2 x 2) output pixels its footprint overlaps, weighted by the overlap area, the
//! way OpenCV's `INTER_AREA` reduces.

use image::RgbImage;

/// For each source index: first output index, weight there, weight on the next one.
fn spans(src: u32, dst: u32) -> Vec<(u32, f32, f32)> {
    let s = f64::from(dst) / f64::from(src);
    (0..src)
        .map(|i| {
            let a = f64::from(i) * s;
            let b = f64::from(i + 1) * s;
            let o = (a.floor() as u32).min(dst - 1);
            let edge = f64::from(o + 1);
            if b > edge + 1e-9 && o + 1 < dst {
                ((o), (edge - a) as f32, (b - edge) as f32)
            } else {
                (o, (b - a) as f32, 0.0)
            }
        })
        .collect()
}

/// Accumulates a `src_w x src_h` image, given in tiles, into a `dst_w x dst_h` average.
#[derive(Debug)]
pub(crate) struct AreaAccumulator {
    src_w: u32,
    src_h: u32,
    dst_w: u32,
    dst_h: u32,
    cols: Vec<(u32, f32, f32)>,
    rows: Vec<(u32, f32, f32)>,
    acc: Vec<f32>,
}

impl AreaAccumulator {
    /// An empty accumulator; `dst` must not be larger than `src` and not empty.
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Self {
        let (dst_w, dst_h) = (dst_w.clamp(1, src_w.max(1)), dst_h.clamp(1, src_h.max(1)));
        AreaAccumulator {
            src_w,
            src_h,
            dst_w,
            dst_h,
            cols: spans(src_w, dst_w),
            rows: spans(src_h, dst_h),
            acc: vec![0.0; dst_w as usize * dst_h as usize * 3],
        }
    }

    /// Adds the pixels of `tile`, whose top-left corner is `(x0, y0)` in the source; parts
    /// outside the source (padding of edge tiles) are ignored.
    pub fn add_tile(&mut self, x0: u32, y0: u32, tile: &RgbImage) {
        let w = tile.width().min(self.src_w.saturating_sub(x0));
        let h = tile.height().min(self.src_h.saturating_sub(y0));
        if w == 0 || h == 0 {
            return;
        }
        let dw = self.dst_w as usize;
        let tw = tile.width() as usize;
        let px = tile.as_raw();
        let scale = self.dst_w as f32 / self.src_w as f32;
        let cols = &self.cols[x0 as usize..(x0 + w) as usize];
        let lo = cols[0].0 as usize;
        let last = cols[cols.len() - 1];
        // One past the last output column touched (the next one too when the last pixel
        // straddles into it).
        let hi = last.0 as usize + 1 + usize::from(last.2 > 0.0);
        let span = (hi - lo + 1) * 3;
        // Pixels wholly inside one output column add up as integers (weight `scale` each);
        // the few straddling two columns go to `line` with their split weights.
        let mut whole = vec![0u32; span];
        let mut line = vec![0.0f32; span];
        for ty in 0..h {
            whole.fill(0);
            line.fill(0.0);
            let row = &px[ty as usize * tw * 3..][..w as usize * 3];
            for (p, &(o, a, b)) in row.chunks_exact(3).zip(cols) {
                let i = (o as usize - lo) * 3;
                if b == 0.0 {
                    let d = &mut whole[i..i + 3];
                    d[0] += u32::from(p[0]);
                    d[1] += u32::from(p[1]);
                    d[2] += u32::from(p[2]);
                } else {
                    let d = &mut line[i..i + 6];
                    for c in 0..3 {
                        let v = f32::from(p[c]);
                        d[c] += v * a;
                        d[3 + c] += v * b;
                    }
                }
            }
            for (l, &s) in line.iter_mut().zip(&whole) {
                *l += s as f32 * scale;
            }
            let (oy, wa, wb) = self.rows[(y0 + ty) as usize];
            let n = (hi.min(dw) - lo) * 3;
            let base = (oy as usize * dw + lo) * 3;
            for (d, s) in self.acc[base..base + n].iter_mut().zip(&line[..n]) {
                *d += s * wa;
            }
            if wb > 0.0 {
                let base = base + dw * 3;
                for (d, s) in self.acc[base..base + n].iter_mut().zip(&line[..n]) {
                    *d += s * wb;
                }
            }
        }
    }

    /// The averaged image.
    pub fn finish(self) -> RgbImage {
        let data = self
            .acc
            .iter()
            // Round half up without `f32::round`, a libm call on baseline x86-64; `as u8`
            // saturates at 255.
            .map(|&v| (v.max(0.0) + 0.5) as u8)
            .collect();
        RgbImage::from_raw(self.dst_w, self.dst_h, data)
            .unwrap_or_else(|| RgbImage::new(self.dst_w, self.dst_h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_blocks() {
        let img = RgbImage::from_fn(4, 2, |x, y| image::Rgb([(x * 40 + y * 10) as u8, 100, 0]));
        let mut a = AreaAccumulator::new(4, 2, 2, 1);
        a.add_tile(0, 0, &img);
        let out = a.finish();
        // (0 + 40 + 10 + 50) / 4 = 25, (80 + 120 + 90 + 130) / 4 = 105
        assert_eq!(out.get_pixel(0, 0).0, [25, 100, 0]);
        assert_eq!(out.get_pixel(1, 0).0, [105, 100, 0]);
    }

    #[test]
    fn fractional_ratio_weights_by_overlap_and_tiles_add_up() {
        // 3 -> 2: output 0 = p0 + p1/2, output 1 = p1/2 + p2 (each over 1.5 source px).
        let img = RgbImage::from_fn(3, 1, |x, _| image::Rgb([[30, 60, 90][x as usize], 0, 0]));
        let mut a = AreaAccumulator::new(3, 1, 2, 1);
        a.add_tile(0, 0, &img);
        let whole = a.finish();
        assert_eq!(whole.get_pixel(0, 0).0[0], 40);
        assert_eq!(whole.get_pixel(1, 0).0[0], 80);
        // The same fed as two tiles, one padded past the source edge.
        let mut b = AreaAccumulator::new(3, 1, 2, 1);
        let left = RgbImage::from_fn(2, 1, |x, _| *img.get_pixel(x, 0));
        let right = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                *img.get_pixel(2, 0)
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        b.add_tile(0, 0, &left);
        b.add_tile(2, 0, &right);
        assert_eq!(b.finish(), whole);
    }
}

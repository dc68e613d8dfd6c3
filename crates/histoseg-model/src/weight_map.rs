//! The U-Net paper's pixel weight map, `w(x) = w_c(x) + w0 exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`,
//! which makes the thin background gaps between touching nuclei count more.

use histoseg_core::instances::label_components;
use image::{GrayImage, ImageBuffer, Luma};
use imageproc::distance_transform::euclidean_squared_distance_transform;

/// A per-pixel `f32` map (weights, probabilities).
pub type FloatMap = ImageBuffer<Luma<f32>, Vec<f32>>;

/// Weight map of a binary nuclei mask (non-zero = nucleus).
///
/// `w_c` balances the two classes (`total / (2 count_class)`; 1 for both when a class is absent). The
/// border term applies to background pixels, with `d1`, `d2` the Euclidean distances to the
/// nearest and second-nearest nucleus (8-connected components). Distances are computed within
/// `5 sigma` of each nucleus; farther away the term is below `w0 * 4e-6` and is taken as 0.
pub fn unet_weight_map(mask: &GrayImage, w0: f32, sigma: f32) -> FloatMap {
    let (width, height) = mask.dimensions();
    let total = (width as usize * height as usize).max(1) as f32;
    let foreground = mask.pixels().filter(|p| p[0] != 0).count() as f32;
    let both = foreground > 0.0 && foreground < total;
    let balance = |count: f32| if both { total / (2.0 * count) } else { 1.0 };
    let (w_fg, w_bg) = (balance(foreground), balance(total - foreground));

    let (mut d1, mut d2) = (
        vec![f32::INFINITY; total as usize],
        vec![f32::INFINITY; total as usize],
    );
    let labels = label_components(mask);
    let margin = (5.0 * sigma).ceil().max(1.0) as u32;
    for bbox in component_boxes(&labels) {
        let [x0, y0, x1, y1] = bbox.rect;
        let (wx0, wy0) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
        let (wx1, wy1) = ((x1 + margin + 1).min(width), (y1 + margin + 1).min(height));
        let crop = GrayImage::from_fn(wx1 - wx0, wy1 - wy0, |x, y| {
            Luma([u8::from(
                labels.get_pixel(wx0 + x, wy0 + y)[0] == bbox.label,
            )])
        });
        let distances = euclidean_squared_distance_transform(&crop);
        for (x, y, d) in distances.enumerate_pixels() {
            let i = ((wy0 + y) * width + wx0 + x) as usize;
            let d = d[0].sqrt() as f32;
            if d < d1[i] {
                d2[i] = d1[i];
                d1[i] = d;
            } else if d < d2[i] {
                d2[i] = d;
            }
        }
    }
    FloatMap::from_fn(width, height, |x, y| {
        if mask.get_pixel(x, y)[0] != 0 {
            return Luma([w_fg]);
        }
        let i = (y * width + x) as usize;
        let gap = d1[i] + d2[i];
        let border = if gap.is_finite() {
            w0 * (-gap * gap / (2.0 * sigma * sigma)).exp()
        } else {
            0.0
        };
        Luma([w_bg + border])
    })
}

struct LabelBox {
    label: u32,
    /// Inclusive `[x0, y0, x1, y1]`.
    rect: [u32; 4],
}

fn component_boxes(labels: &ImageBuffer<Luma<u32>, Vec<u32>>) -> Vec<LabelBox> {
    let mut boxes: Vec<Option<[u32; 4]>> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        if boxes.len() < l {
            boxes.resize(l, None);
        }
        let r = boxes[l - 1].get_or_insert([x, y, x, y]);
        *r = [r[0].min(x), r[1].min(y), r[2].max(x), r[3].max(y)];
    }
    boxes
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.map(|rect| LabelBox {
                label: i as u32 + 1,
                rect,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: distances to every pixel of every component.
    fn reference(mask: &GrayImage, w0: f32, sigma: f32) -> FloatMap {
        let labels = label_components(mask);
        let n = labels.pixels().map(|p| p[0]).max().unwrap_or(0);
        let total = (mask.width() * mask.height()) as f32;
        let fg = mask.pixels().filter(|p| p[0] != 0).count() as f32;
        FloatMap::from_fn(mask.width(), mask.height(), |x, y| {
            if mask.get_pixel(x, y)[0] != 0 {
                return Luma([total / (2.0 * fg)]);
            }
            let mut d: Vec<f32> = (1..=n)
                .map(|l| {
                    labels
                        .enumerate_pixels()
                        .filter(|p| p.2[0] == l)
                        .map(|(px, py, _)| {
                            ((px as f32 - x as f32).powi(2) + (py as f32 - y as f32).powi(2)).sqrt()
                        })
                        .fold(f32::INFINITY, f32::min)
                })
                .collect();
            d.sort_by(f32::total_cmp);
            let border = if d.len() >= 2 {
                w0 * (-(d[0] + d[1]).powi(2) / (2.0 * sigma * sigma)).exp()
            } else {
                0.0
            };
            Luma([total / (2.0 * (total - fg)) + border])
        })
    }

    #[test]
    fn matches_brute_force_on_three_nuclei() {
        let mut mask = GrayImage::new(48, 40);
        for (cx, cy, r) in [(10i32, 10i32, 4i32), (20, 12, 3), (36, 30, 5)] {
            for y in 0..40i32 {
                for x in 0..48i32 {
                    if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                        mask.put_pixel(x as u32, y as u32, Luma([255]));
                    }
                }
            }
        }
        let ours = unet_weight_map(&mask, 10.0, 5.0);
        let truth = reference(&mask, 10.0, 5.0);
        for (a, b) in ours.pixels().zip(truth.pixels()) {
            assert!((a[0] - b[0]).abs() < 1e-3, "{} vs {}", a[0], b[0]);
        }
        // The gap between the two close nuclei weighs more than open background.
        assert!(ours.get_pixel(15, 11)[0] > ours.get_pixel(45, 2)[0] + 1.0);
    }

    #[test]
    fn empty_mask_is_uniform() {
        let map = unet_weight_map(&GrayImage::new(8, 8), 10.0, 5.0);
        assert!(map.pixels().all(|p| p[0] == 1.0));
    }
}

//! From a probability map to what a pathologist uses: a binary mask, nuclei instances
//! (touching nuclei split by a distance watershed, small ones dropped) and their centre points.

use histoseg_core::instances::{LabelMap, drop_small, label_components, split_touching};
use image::{GrayImage, Luma};
use serde::{Deserialize, Serialize};

use crate::weight_map::FloatMap;

/// Pixels with probability at least `threshold` become 255, others 0.
pub fn binary_mask(probabilities: &FloatMap, threshold: f32) -> GrayImage {
    GrayImage::from_fn(probabilities.width(), probabilities.height(), |x, y| {
        Luma([if probabilities.get_pixel(x, y)[0] >= threshold {
            255
        } else {
            0
        }])
    })
}

/// One detected nucleus, in the image's pixel coordinates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Nucleus {
    /// Centroid x (pixel centres at +0.5).
    pub x: f64,
    /// Centroid y.
    pub y: f64,
    /// Area in pixels.
    pub area: u32,
    /// Bounding box `[x, y, width, height]`.
    pub bbox: [u32; 4],
}

/// 8-connected components of `mask` with at least `min_area` pixels, in label order.
pub fn nuclei(mask: &GrayImage, min_area: u32) -> Vec<Nucleus> {
    nuclei_of(&label_components(mask), min_area)
}

/// Instances of `mask`: touching nuclei split where each peak of the distance map rises
/// `split_depth` pixels above the saddle between them (`f32::INFINITY`: no split), instances
/// under `min_area` pixels dropped, the rest numbered 1..n. Returns the labels and the nuclei in
/// label order.
pub fn instances(mask: &GrayImage, split_depth: f32, min_area: u32) -> (LabelMap, Vec<Nucleus>) {
    let labels = if split_depth.is_finite() {
        split_touching(mask, split_depth)
    } else {
        label_components(mask)
    };
    let (labels, _) = drop_small(&labels, min_area.max(1));
    let nuclei = nuclei_of(&labels, 1);
    (labels, nuclei)
}

/// One [`Nucleus`] per label of `labels` with at least `min_area` pixels, in label order.
pub fn nuclei_of(labels: &LabelMap, min_area: u32) -> Vec<Nucleus> {
    struct Acc {
        sx: f64,
        sy: f64,
        area: u32,
        rect: [u32; 4],
    }
    let mut acc: Vec<Acc> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        while acc.len() < l {
            acc.push(Acc {
                sx: 0.0,
                sy: 0.0,
                area: 0,
                rect: [u32::MAX, u32::MAX, 0, 0],
            });
        }
        let a = &mut acc[l - 1];
        a.sx += f64::from(x) + 0.5;
        a.sy += f64::from(y) + 0.5;
        a.area += 1;
        a.rect = [
            a.rect[0].min(x),
            a.rect[1].min(y),
            a.rect[2].max(x),
            a.rect[3].max(y),
        ];
    }
    acc.into_iter()
        .filter(|a| a.area > 0 && a.area >= min_area)
        .map(|a| Nucleus {
            x: a.sx / f64::from(a.area),
            y: a.sy / f64::from(a.area),
            area: a.area,
            bbox: [
                a.rect[0],
                a.rect[1],
                a.rect[2] - a.rect[0] + 1,
                a.rect[3] - a.rect[1] + 1,
            ],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_blobs_one_too_small() {
        let mut p = FloatMap::new(20, 10);
        for y in 2..6 {
            for x in 2..6 {
                p.put_pixel(x, y, Luma([0.9]));
            }
        }
        p.put_pixel(15, 5, Luma([0.7]));
        p.put_pixel(12, 8, Luma([0.2]));
        let mask = binary_mask(&p, 0.5);
        assert_eq!(mask.pixels().filter(|v| v[0] == 255).count(), 17);
        let found = nuclei(&mask, 4);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].x, found[0].y, found[0].area), (4.0, 4.0, 16));
        assert_eq!(found[0].bbox, [2, 2, 4, 4]);
        assert_eq!(nuclei(&mask, 1).len(), 2);
    }

    #[test]
    fn touching_nuclei_become_two_instances() {
        let mut p = FloatMap::new(60, 40);
        for (x, y, v) in p.enumerate_pixels_mut() {
            let d = |cx: f32| ((x as f32 - cx).powi(2) + (y as f32 - 20.0).powi(2)).sqrt();
            if d(18.0) <= 10.0 || d(36.0) <= 10.0 {
                *v = Luma([0.9]);
            }
        }
        let mask = binary_mask(&p, 0.5);
        assert_eq!(nuclei(&mask, 1).len(), 1);
        let (labels, found) = instances(&mask, 2.0, 10);
        assert_eq!(found.len(), 2);
        assert!(found[0].area > 250 && found[1].area > 250, "{found:?}");
        assert_eq!(labels.as_raw().iter().copied().max(), Some(2));
        assert_eq!(instances(&mask, f32::INFINITY, 10).1.len(), 1);
    }
}

//! Nuclei as instances: label maps (0 = background, 1..n = one nucleus each), touching nuclei
//! split by a watershed on the distance map, and the instance scores of the field: aggregated
//! Jaccard index (AJI, Kumar et al. 2017) and panoptic quality (PQ, Kirillov et al. 2019, as
//! HoVer-Net reports it).

use std::collections::HashMap;

use image::{GrayImage, ImageBuffer, Luma};
use imageproc::distance_transform::euclidean_squared_distance_transform;
use imageproc::region_labelling::{Connectivity, connected_components};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One label per pixel: 0 background, 1..n instances.
pub type LabelMap = ImageBuffer<Luma<u32>, Vec<u32>>;

/// 8-connected components of the non-zero pixels of `mask`, numbered 1..n in scan order.
pub fn label_components(mask: &GrayImage) -> LabelMap {
    // imageproc 0.27's labelling panics on a 1x1 image with its pixel set.
    if mask.width() * mask.height() == 1 {
        return LabelMap::from_pixel(1, 1, Luma([u32::from(mask.as_raw()[0] != 0)]));
    }
    connected_components(mask, Connectivity::Eight, Luma([0u8]))
}

/// Reads a mask image as instances: a 16-bit image with more than one non-zero value is
/// taken as instance labels as they are; any other mask (binary 0/1 or 0/255) is labelled by
/// its 8-connected components.
pub fn labels_from_mask(mask: &ImageBuffer<Luma<u16>, Vec<u16>>) -> LabelMap {
    let mut values = mask.as_raw().iter().copied().filter(|&v| v != 0);
    let first = values.next();
    let multi = first.is_some_and(|f| values.any(|v| v != f));
    if multi {
        LabelMap::from_fn(mask.width(), mask.height(), |x, y| {
            Luma([u32::from(mask.get_pixel(x, y)[0])])
        })
    } else {
        let binary = GrayImage::from_fn(mask.width(), mask.height(), |x, y| {
            Luma([if mask.get_pixel(x, y)[0] != 0 { 255 } else { 0 }])
        });
        label_components(&binary)
    }
}

/// Splits touching nuclei: a watershed flooding the distance-to-background map of `mask` from
/// its maxima, where two basins stay apart only when each peak rises at least `depth` pixels
/// above the saddle between them (the h-maxima rule); shallower maxima, the ripples of a
/// ragged outline, merge into their neighbour. `depth` 0 splits at every maximum; a huge
/// `depth` gives the connected components. Instances are numbered 1..n by their highest pixel.
///
/// Written by hand: imageproc has no watershed, and no maintained crate offers one on
/// `image` buffers.
pub fn split_touching(mask: &GrayImage, depth: f32) -> LabelMap {
    let (w, h) = mask.dimensions();
    let n = (w as usize) * (h as usize);
    let background = GrayImage::from_fn(w, h, |x, y| {
        Luma([if mask.get_pixel(x, y)[0] == 0 { 255 } else { 0 }])
    });
    let distance = euclidean_squared_distance_transform(&background);
    let dist: Vec<f32> = distance.as_raw().iter().map(|&d| d.sqrt() as f32).collect();
    let mut order: Vec<u32> = (0..n as u32)
        .filter(|&i| mask.as_raw()[i as usize] != 0)
        .collect();
    order.sort_by(|&a, &b| {
        dist[b as usize]
            .total_cmp(&dist[a as usize])
            .then(a.cmp(&b))
    });

    const NONE: u32 = u32::MAX;
    let mut parent = vec![NONE; n];
    let mut peak = vec![0f32; n];
    fn find(parent: &mut [u32], mut i: u32) -> u32 {
        while parent[i as usize] != i {
            let up = parent[parent[i as usize] as usize];
            parent[i as usize] = up;
            i = up;
        }
        i
    }
    let mut roots: Vec<u32> = Vec::with_capacity(8);
    for &p in &order {
        let (x, y) = ((p % w) as i64, (p / w) as i64);
        roots.clear();
        for (dx, dy) in [
            (-1, -1),
            (0, -1),
            (1, -1),
            (-1, 0),
            (1, 0),
            (-1, 1),
            (0, 1),
            (1, 1),
        ] {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= i64::from(w) || ny >= i64::from(h) {
                continue;
            }
            let q = (ny as u32) * w + nx as u32;
            if parent[q as usize] != NONE {
                let r = find(&mut parent, q);
                if !roots.contains(&r) {
                    roots.push(r);
                }
            }
        }
        let level = dist[p as usize];
        let Some(&highest) = roots.iter().max_by(|&&a, &&b| {
            peak[a as usize]
                .total_cmp(&peak[b as usize])
                .then(b.cmp(&a))
        }) else {
            parent[p as usize] = p;
            peak[p as usize] = level;
            continue;
        };
        for &r in &roots {
            if r != highest && peak[r as usize] - level < depth {
                parent[r as usize] = highest;
            }
        }
        parent[p as usize] = highest;
    }

    let mut ids = vec![0u32; n];
    let mut next = 0u32;
    let mut labels = LabelMap::new(w, h);
    for &p in &order {
        let r = find(&mut parent, p) as usize;
        if ids[r] == 0 {
            next += 1;
            ids[r] = next;
        }
        labels.as_mut()[p as usize] = ids[r];
    }
    labels
}

/// Removes instances smaller than `min_area` pixels and renumbers the rest 1..n in reading
/// order (by their first pixel in a row-major scan, top-left first). Returns the map and n.
pub fn drop_small(labels: &LabelMap, min_area: u32) -> (LabelMap, u32) {
    let mut areas: HashMap<u32, u32> = HashMap::new();
    let mut first_seen: Vec<u32> = Vec::new();
    for &l in labels.as_raw() {
        if l != 0 {
            let area = areas.entry(l).or_default();
            if *area == 0 {
                first_seen.push(l);
            }
            *area += 1;
        }
    }
    let kept: Vec<u32> = first_seen
        .into_iter()
        .filter(|l| areas[l] >= min_area)
        .collect();
    let new: HashMap<u32, u32> = kept
        .iter()
        .enumerate()
        .map(|(i, &l)| (l, i as u32 + 1))
        .collect();
    let out = LabelMap::from_raw(
        labels.width(),
        labels.height(),
        labels
            .as_raw()
            .iter()
            .map(|l| new.get(l).copied().unwrap_or(0))
            .collect(),
    )
    .unwrap_or_else(|| LabelMap::new(labels.width(), labels.height()));
    (out, kept.len() as u32)
}

/// Instance scores of one image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceScores {
    /// Aggregated Jaccard index.
    pub aji: f64,
    /// Intersections summed over the AJI's matches (its numerator).
    pub aji_intersection: u64,
    /// Unions summed, plus the unmatched predictions (its denominator).
    pub aji_union: u64,
    /// Panoptic quality, `dq * sq`.
    pub pq: f64,
    /// Detection quality: `tp / (tp + fp / 2 + fn / 2)` with matches at IoU above 0.5.
    pub dq: f64,
    /// Segmentation quality: mean IoU of the matches.
    pub sq: f64,
    /// Matches at IoU above 0.5.
    pub matched: usize,
    /// Predicted instances.
    pub predicted: usize,
    /// True instances.
    pub truth: usize,
}

/// AJI and PQ of predicted against true instances of the same image. Empty against empty
/// scores 1.
pub fn score_instances(predicted: &LabelMap, truth: &LabelMap) -> Result<InstanceScores> {
    if predicted.dimensions() != truth.dimensions() {
        return Err(Error::SizeMismatch {
            what: "predicted instances",
            a_w: predicted.width(),
            a_h: predicted.height(),
            other: "true instances",
            b_w: truth.width(),
            b_h: truth.height(),
        });
    }
    let mut area_p: HashMap<u32, u64> = HashMap::new();
    let mut area_t: HashMap<u32, u64> = HashMap::new();
    let mut inter: HashMap<(u32, u32), u64> = HashMap::new();
    for (&p, &t) in predicted.as_raw().iter().zip(truth.as_raw()) {
        if p != 0 {
            *area_p.entry(p).or_default() += 1;
        }
        if t != 0 {
            *area_t.entry(t).or_default() += 1;
        }
        if p != 0 && t != 0 {
            *inter.entry((t, p)).or_default() += 1;
        }
    }
    let mut by_truth: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    for (&(t, p), &i) in &inter {
        by_truth.entry(t).or_default().push((p, i));
    }
    let iou = |t: u32, p: u32, i: u64| i as f64 / (area_t[&t] + area_p[&p] - i) as f64;

    let (mut c, mut u) = (0u64, 0u64);
    let mut used: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let (mut matched, mut iou_sum) = (0usize, 0.0f64);
    let mut truths: Vec<u32> = area_t.keys().copied().collect();
    truths.sort_unstable();
    for t in truths {
        let overlaps = by_truth.get(&t).map(Vec::as_slice).unwrap_or(&[]);
        let best = overlaps.iter().max_by(|a, b| {
            iou(t, a.0, a.1)
                .total_cmp(&iou(t, b.0, b.1))
                .then(b.0.cmp(&a.0))
        });
        match best {
            Some(&(p, i)) => {
                c += i;
                u += area_t[&t] + area_p[&p] - i;
                used.insert(p);
                let v = iou(t, p, i);
                if v > 0.5 {
                    matched += 1;
                    iou_sum += v;
                }
            }
            None => u += area_t[&t],
        }
    }
    u += area_p
        .iter()
        .filter(|(p, _)| !used.contains(p))
        .map(|(_, &a)| a)
        .sum::<u64>();
    let (np, nt) = (area_p.len(), area_t.len());
    let aji = if u == 0 { 1.0 } else { c as f64 / u as f64 };
    let (dq, sq) = if np + nt == 0 {
        (1.0, 1.0)
    } else {
        let fp = (np - matched) as f64;
        let fn_ = (nt - matched) as f64;
        let dq = matched as f64 / (matched as f64 + 0.5 * fp + 0.5 * fn_);
        (
            dq,
            if matched == 0 {
                0.0
            } else {
                iou_sum / matched as f64
            },
        )
    };
    Ok(InstanceScores {
        aji,
        aji_intersection: c,
        aji_union: u,
        pq: dq * sq,
        dq,
        sq,
        matched,
        predicted: np,
        truth: nt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(mask: &mut GrayImage, cx: f32, cy: f32, r: f32) {
        for (x, y, p) in mask.enumerate_pixels_mut() {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                *p = Luma([255]);
            }
        }
    }

    fn count(labels: &LabelMap) -> usize {
        let mut v: Vec<u32> = labels
            .as_raw()
            .iter()
            .copied()
            .filter(|&l| l != 0)
            .collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    }

    #[test]
    fn two_overlapping_disks_split_in_two_along_their_neck() {
        let mut mask = GrayImage::new(60, 40);
        disk(&mut mask, 18.0, 20.0, 10.0);
        disk(&mut mask, 36.0, 20.0, 10.0);
        assert_eq!(count(&label_components(&mask)), 1);
        let split = split_touching(&mask, 2.0);
        assert_eq!(count(&split), 2);
        assert_ne!(split[(18, 20)][0], split[(36, 20)][0]);
        // Every nucleus pixel keeps a label, and the cut runs near the neck at x = 27.
        assert!(
            mask.pixels()
                .zip(split.pixels())
                .all(|(m, l)| (m[0] != 0) == (l[0] != 0))
        );
        assert_eq!(split[(24, 20)][0], split[(18, 20)][0]);
        assert_eq!(split[(30, 20)][0], split[(36, 20)][0]);
        // A depth above both peaks merges them again.
        assert_eq!(count(&split_touching(&mask, 50.0)), 1);
    }

    #[test]
    fn a_ragged_single_nucleus_stays_one() {
        let mut mask = GrayImage::new(40, 40);
        disk(&mut mask, 20.0, 20.0, 12.0);
        for (x, y) in [(8, 20), (32, 20), (20, 8), (20, 31), (11, 12)] {
            mask.put_pixel(x, y, Luma([0]));
        }
        assert_eq!(count(&split_touching(&mask, 2.0)), 1);
    }

    #[test]
    fn small_instances_are_dropped_and_the_rest_renumbered() {
        let mut mask = GrayImage::new(30, 10);
        disk(&mut mask, 5.0, 5.0, 4.0);
        mask.put_pixel(20, 5, Luma([255]));
        disk(&mut mask, 25.0, 5.0, 3.0);
        let (labels, n) = drop_small(&label_components(&mask), 5);
        assert_eq!(n, 2);
        assert_eq!(labels[(20, 5)][0], 0);
        assert_eq!((labels[(5, 5)][0], labels[(25, 5)][0]), (1, 2));
    }

    #[test]
    fn sixteen_bit_instances_are_kept_and_binary_masks_labelled() {
        let mut m16 = ImageBuffer::<Luma<u16>, Vec<u16>>::new(4, 1);
        m16.put_pixel(0, 0, Luma([7]));
        m16.put_pixel(1, 0, Luma([9]));
        assert_eq!(labels_from_mask(&m16).as_raw(), &vec![7, 9, 0, 0]);
        m16.put_pixel(1, 0, Luma([7]));
        m16.put_pixel(3, 0, Luma([7]));
        assert_eq!(labels_from_mask(&m16).as_raw(), &vec![1, 1, 0, 2]);
    }

    #[test]
    fn perfect_instances_score_one_and_a_merge_is_penalised() {
        let mut mask = GrayImage::new(60, 40);
        disk(&mut mask, 15.0, 20.0, 8.0);
        disk(&mut mask, 40.0, 20.0, 8.0);
        let truth = label_components(&mask);
        let s = score_instances(&truth, &truth).expect("same size");
        assert_eq!((s.aji, s.pq, s.matched), (1.0, 1.0, 2));
        // One prediction covering both nuclei: AJI counts it against each, PQ finds no match.
        let merged = LabelMap::from_fn(60, 40, |x, y| Luma([u32::from(mask[(x, y)][0] != 0)]));
        let s = score_instances(&merged, &truth).expect("same size");
        assert!((s.aji - 0.5).abs() < 0.05, "{s:?}");
        assert_eq!((s.matched, s.predicted, s.truth), (0, 1, 2));
        assert_eq!(s.pq, 0.0);
        // A missing nucleus: PQ's detection quality is 1 / (1 + 0.5).
        let one = LabelMap::from_fn(60, 40, |x, y| {
            Luma([if x < 30 { truth[(x, y)][0] } else { 0 }])
        });
        let s = score_instances(&one, &truth).expect("same size");
        assert!(
            (s.dq - 1.0 / 1.5).abs() < 1e-9 && (s.sq - 1.0).abs() < 1e-9,
            "{s:?}"
        );
        assert!((s.aji - 0.5).abs() < 0.01, "{s:?}");
        let empty = LabelMap::new(60, 40);
        assert_eq!(score_instances(&empty, &empty).expect("same size").pq, 1.0);
        assert!(score_instances(&empty, &LabelMap::new(2, 2)).is_err());
    }
}

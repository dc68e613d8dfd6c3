//! Segmentation and detection scores: pixel Dice / IoU and point precision / recall / F1.
//!
//! **Pixel scores.** A mask pixel is foreground when it is non-zero, so 0/255 (TNBC) and 0/1
//! (MoNuSeg) masks both work. `Dice = 2|P∩T| / (|P|+|T|)`, `IoU = |P∩T| / |P∪T|`. When both
//! masks are empty the prediction is perfect and both scores are 1. Per-image scores come from
//! one [`PixelCounts`]; dataset-level scores from the counts summed over all images (so large
//! images weigh more), as the paper's pixel-wise evaluation does.
//!
//! **Point scores.** Predicted and true nucleus centres are matched one-to-one, a pair only when
//! they lie within `radius` pixels; the matching is a maximum one (as many true positives as any
//! one-to-one assignment allows), preferring nearer partners. Precision is 1 when nothing is
//! predicted, recall is 1 when nothing is true, F1 is 1 when both are empty.

use std::ops::{Add, AddAssign};

use image::GrayImage;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Pixel confusion counts of a predicted mask against a true one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelCounts {
    /// Foreground in both.
    pub true_positive: u64,
    /// Foreground in the prediction only.
    pub false_positive: u64,
    /// Foreground in the truth only.
    pub false_negative: u64,
    /// Background in both.
    pub true_negative: u64,
}

impl PixelCounts {
    /// Counts pixels of two same-sized masks (non-zero = foreground).
    ///
    /// ```
    /// use image::GrayImage;
    /// use histoseg_core::metrics::PixelCounts;
    /// let pred = GrayImage::from_raw(4, 1, vec![255, 255, 0, 0]).unwrap();
    /// let truth = GrayImage::from_raw(4, 1, vec![1, 0, 1, 0]).unwrap();
    /// let c = PixelCounts::from_masks(&pred, &truth).unwrap();
    /// assert_eq!((c.true_positive, c.false_positive, c.false_negative, c.true_negative), (1, 1, 1, 1));
    /// assert_eq!(c.dice(), 0.5);
    /// assert_eq!(c.iou(), 1.0 / 3.0);
    /// ```
    pub fn from_masks(pred: &GrayImage, truth: &GrayImage) -> Result<Self> {
        if pred.dimensions() != truth.dimensions() {
            return Err(Error::SizeMismatch {
                what: "prediction",
                a_w: pred.width(),
                a_h: pred.height(),
                other: "truth",
                b_w: truth.width(),
                b_h: truth.height(),
            });
        }
        let mut counts = PixelCounts::default();
        for (&p, &t) in pred.iter().zip(truth.iter()) {
            match (p != 0, t != 0) {
                (true, true) => counts.true_positive += 1,
                (true, false) => counts.false_positive += 1,
                (false, true) => counts.false_negative += 1,
                (false, false) => counts.true_negative += 1,
            }
        }
        Ok(counts)
    }

    /// Dice coefficient (F1 over pixels); 1 when both masks are empty.
    pub fn dice(&self) -> f64 {
        let denominator = 2 * self.true_positive + self.false_positive + self.false_negative;
        if denominator == 0 {
            1.0
        } else {
            (2 * self.true_positive) as f64 / denominator as f64
        }
    }

    /// Intersection over union (Jaccard index); 1 when both masks are empty.
    pub fn iou(&self) -> f64 {
        let union = self.true_positive + self.false_positive + self.false_negative;
        if union == 0 {
            1.0
        } else {
            self.true_positive as f64 / union as f64
        }
    }
}

impl Add for PixelCounts {
    type Output = PixelCounts;
    fn add(self, other: PixelCounts) -> PixelCounts {
        PixelCounts {
            true_positive: self.true_positive + other.true_positive,
            false_positive: self.false_positive + other.false_positive,
            false_negative: self.false_negative + other.false_negative,
            true_negative: self.true_negative + other.true_negative,
        }
    }
}

impl AddAssign for PixelCounts {
    fn add_assign(&mut self, other: PixelCounts) {
        *self = *self + other;
    }
}

impl std::iter::Sum for PixelCounts {
    fn sum<I: Iterator<Item = PixelCounts>>(iter: I) -> PixelCounts {
        iter.fold(PixelCounts::default(), Add::add)
    }
}

/// Per-image and dataset-level pixel scores of a set of images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelSummary {
    /// Number of images.
    pub images: usize,
    /// Mean of the per-image Dice scores.
    pub mean_dice: f64,
    /// Mean of the per-image IoU scores.
    pub mean_iou: f64,
    /// Dice of the counts summed over all images.
    pub dataset_dice: f64,
    /// IoU of the counts summed over all images.
    pub dataset_iou: f64,
}

impl PixelSummary {
    /// Summarises per-image counts; `None` for an empty set.
    ///
    /// ```
    /// use histoseg_core::metrics::{PixelCounts, PixelSummary};
    /// let perfect = PixelCounts { true_positive: 10, ..Default::default() };
    /// let missed = PixelCounts { false_negative: 30, ..Default::default() };
    /// let s = PixelSummary::from_counts(&[perfect, missed]).unwrap();
    /// assert_eq!(s.mean_dice, 0.5);
    /// assert_eq!(s.dataset_dice, 20.0 / 50.0);
    /// ```
    pub fn from_counts(per_image: &[PixelCounts]) -> Option<Self> {
        if per_image.is_empty() {
            return None;
        }
        let n = per_image.len() as f64;
        let total: PixelCounts = per_image.iter().copied().sum();
        Some(PixelSummary {
            images: per_image.len(),
            mean_dice: per_image.iter().map(PixelCounts::dice).sum::<f64>() / n,
            mean_iou: per_image.iter().map(PixelCounts::iou).sum::<f64>() / n,
            dataset_dice: total.dice(),
            dataset_iou: total.iou(),
        })
    }
}

/// A point in pixels (`x` right, `y` down).
pub type Point = (f64, f64);

/// The one-to-one matching of predicted and true points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PointMatch {
    /// Matched pairs as `(prediction index, truth index)`, sorted by prediction index.
    pub pairs: Vec<(usize, usize)>,
    /// Number of predicted points.
    pub predicted: usize,
    /// Number of true points.
    pub truth: usize,
}

impl PointMatch {
    /// Matched pairs.
    pub fn true_positives(&self) -> usize {
        self.pairs.len()
    }

    /// Predictions left without a partner.
    pub fn false_positives(&self) -> usize {
        self.predicted - self.pairs.len()
    }

    /// True points left without a partner.
    pub fn false_negatives(&self) -> usize {
        self.truth - self.pairs.len()
    }

    /// `tp / predicted`; 1 when nothing is predicted.
    pub fn precision(&self) -> f64 {
        ratio_or_one(self.true_positives(), self.predicted)
    }

    /// `tp / truth`; 1 when nothing is true.
    pub fn recall(&self) -> f64 {
        ratio_or_one(self.true_positives(), self.truth)
    }

    /// `2 tp / (predicted + truth)`; 1 when both are empty.
    pub fn f1(&self) -> f64 {
        ratio_or_one(2 * self.true_positives(), self.predicted + self.truth)
    }
}

fn ratio_or_one(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Matches predicted points to true points one-to-one within `radius` pixels, maximising the
/// number of pairs: nearest pairs are taken greedily first, then Kuhn's augmenting paths add
/// what the greedy pass missed. Candidates come from a grid of `radius`-sized cells.
///
/// Written by hand: no maintained crate offers sparse maximum bipartite matching, and dense
/// assignment (Hungarian) is cubic in the ~1000 nuclei of one image.
///
/// ```
/// use histoseg_core::metrics::match_points;
/// // The greedy nearest choice would pair (5,0) with (4,0) and leave (0,0) alone;
/// // the maximum matching pairs both.
/// let m = match_points(&[(0.0, 0.0), (5.0, 0.0)], &[(4.0, 0.0), (9.0, 0.0)], 5.0).unwrap();
/// assert_eq!(m.pairs, vec![(0, 0), (1, 1)]);
/// assert_eq!(m.f1(), 1.0);
/// ```
pub fn match_points(predicted: &[Point], truth: &[Point], radius: f64) -> Result<PointMatch> {
    if !(radius.is_finite() && radius > 0.0) {
        return Err(Error::InvalidParameter {
            name: "radius",
            problem: format!("must be a positive number of pixels, got {radius}"),
        });
    }
    if let Some(p) = predicted
        .iter()
        .chain(truth)
        .find(|p| !(p.0.is_finite() && p.1.is_finite()))
    {
        return Err(Error::InvalidParameter {
            name: "points",
            problem: format!("coordinates must be finite, got ({}, {})", p.0, p.1),
        });
    }
    let cell = |p: &Point| ((p.0 / radius).floor() as i64, (p.1 / radius).floor() as i64);
    let mut grid: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
    for (i, t) in truth.iter().enumerate() {
        grid.entry(cell(t)).or_default().push(i);
    }
    let distance2 = |a: &Point, b: &Point| (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2);
    let candidates: Vec<Vec<usize>> = predicted
        .iter()
        .map(|p| {
            let (cx, cy) = cell(p);
            let mut near: Vec<usize> = (-1..=1)
                .flat_map(|dy| (-1..=1).map(move |dx| (cx + dx, cy + dy)))
                .filter_map(|c| grid.get(&c))
                .flatten()
                .copied()
                .filter(|&t| distance2(p, &truth[t]) <= radius * radius)
                .collect();
            near.sort_by(|&a, &b| distance2(p, &truth[a]).total_cmp(&distance2(p, &truth[b])));
            near
        })
        .collect();

    // Nearest pairs first, greedily; then augmenting paths make the matching maximum.
    let mut by_distance: Vec<(f64, usize, usize)> = candidates
        .iter()
        .enumerate()
        .flat_map(|(p, near)| near.iter().map(move |&t| (p, t)))
        .map(|(p, t)| (distance2(&predicted[p], &truth[t]), p, t))
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut owner: Vec<Option<usize>> = vec![None; truth.len()];
    let mut has_partner = vec![false; predicted.len()];
    for &(_, p, t) in &by_distance {
        if owner[t].is_none() && !has_partner[p] {
            owner[t] = Some(p);
            has_partner[p] = true;
        }
    }
    for p in (0..predicted.len()).filter(|&p| !has_partner[p]) {
        let mut visited = vec![false; truth.len()];
        augment(p, &candidates, &mut owner, &mut visited);
    }
    let mut pairs: Vec<(usize, usize)> = owner
        .iter()
        .enumerate()
        .filter_map(|(t, p)| p.map(|p| (p, t)))
        .collect();
    pairs.sort_unstable();
    Ok(PointMatch {
        pairs,
        predicted: predicted.len(),
        truth: truth.len(),
    })
}

/// Tries to give prediction `p` a partner, moving earlier partners along an augmenting path.
fn augment(
    p: usize,
    candidates: &[Vec<usize>],
    owner: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for &t in &candidates[p] {
        if visited[t] {
            continue;
        }
        visited[t] = true;
        if owner[t].is_none_or(|q| augment(q, candidates, owner, visited)) {
            owner[t] = Some(p);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mask(w: u32, h: u32, on: &[(u32, u32)]) -> GrayImage {
        let mut m = GrayImage::new(w, h);
        for &(x, y) in on {
            m.put_pixel(x, y, image::Luma([255]));
        }
        m
    }

    #[test]
    fn hand_computed_dice_and_iou() {
        // 3 predicted, 4 true, 2 shared: Dice = 4/7, IoU = 2/5.
        let pred = mask(4, 4, &[(0, 0), (1, 0), (2, 0)]);
        let truth = mask(4, 4, &[(1, 0), (2, 0), (3, 0), (0, 3)]);
        let c = PixelCounts::from_masks(&pred, &truth).expect("same size");
        assert_eq!(c.true_positive, 2);
        assert_eq!(c.false_positive, 1);
        assert_eq!(c.false_negative, 2);
        assert_eq!(c.true_negative, 11);
        assert!((c.dice() - 4.0 / 7.0).abs() < 1e-12);
        assert!((c.iou() - 2.0 / 5.0).abs() < 1e-12);
    }

    #[test]
    fn empty_against_empty_is_perfect_and_against_truth_is_zero() {
        let empty = mask(3, 3, &[]);
        let c = PixelCounts::from_masks(&empty, &empty).expect("same size");
        assert_eq!((c.dice(), c.iou()), (1.0, 1.0));
        let truth = mask(3, 3, &[(1, 1)]);
        let c = PixelCounts::from_masks(&empty, &truth).expect("same size");
        assert_eq!((c.dice(), c.iou()), (0.0, 0.0));
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let err = PixelCounts::from_masks(&mask(3, 3, &[]), &mask(3, 4, &[])).expect_err("sizes");
        assert_eq!(
            err.to_string(),
            "size mismatch: prediction is 3x3 but truth is 3x4"
        );
    }

    #[test]
    fn dataset_scores_sum_counts() {
        let a = PixelCounts {
            true_positive: 1,
            false_positive: 1,
            ..Default::default()
        };
        let b = PixelCounts {
            true_positive: 9,
            false_negative: 1,
            ..Default::default()
        };
        let s = PixelSummary::from_counts(&[a, b]).expect("two images");
        assert!((s.dataset_dice - 20.0 / 22.0).abs() < 1e-12);
        assert!((s.mean_dice - (2.0 / 3.0 + 18.0 / 19.0) / 2.0).abs() < 1e-12);
        assert!((s.dataset_iou - 10.0 / 12.0).abs() < 1e-12);
        assert!(PixelSummary::from_counts(&[]).is_none());
    }

    #[test]
    fn points_outside_radius_do_not_match() {
        let m = match_points(
            &[(0.0, 0.0), (100.0, 100.0)],
            &[(6.0, 0.0), (103.0, 104.0)],
            5.0,
        )
        .expect("valid");
        assert_eq!(m.pairs, vec![(1, 1)]); // distance 5 is inside, 6 is not
        assert_eq!(
            (m.true_positives(), m.false_positives(), m.false_negatives()),
            (1, 1, 1)
        );
        assert_eq!(m.precision(), 0.5);
        assert_eq!(m.recall(), 0.5);
        assert_eq!(m.f1(), 0.5);
    }

    #[test]
    fn each_truth_matches_once() {
        let m =
            match_points(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)], &[(1.0, 1.0)], 3.0).expect("valid");
        assert_eq!(m.pairs, vec![(1, 0)]); // nearest wins, others are false positives
        assert!((m.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall(), 1.0);
    }

    #[test]
    fn empty_point_sets_follow_the_convention() {
        let m = match_points(&[], &[], 4.0).expect("valid");
        assert_eq!((m.precision(), m.recall(), m.f1()), (1.0, 1.0, 1.0));
        let m = match_points(&[], &[(1.0, 1.0)], 4.0).expect("valid");
        assert_eq!((m.precision(), m.recall(), m.f1()), (1.0, 0.0, 0.0));
    }

    #[test]
    fn bad_radius_and_points_are_refused() {
        assert!(match_points(&[], &[], 0.0).is_err());
        assert!(match_points(&[], &[], f64::NAN).is_err());
        assert!(match_points(&[(f64::INFINITY, 0.0)], &[], 3.0).is_err());
    }

    /// Exhaustive maximum matching for tiny sets.
    fn brute_max_matching(pred: &[Point], truth: &[Point], r: f64) -> usize {
        fn go(i: usize, pred: &[Point], truth: &[Point], used: &mut Vec<bool>, r: f64) -> usize {
            if i == pred.len() {
                return 0;
            }
            let mut best = go(i + 1, pred, truth, used, r);
            for t in 0..truth.len() {
                let d = (pred[i].0 - truth[t].0).hypot(pred[i].1 - truth[t].1);
                if !used[t] && d <= r {
                    used[t] = true;
                    best = best.max(1 + go(i + 1, pred, truth, used, r));
                    used[t] = false;
                }
            }
            best
        }
        go(0, pred, truth, &mut vec![false; truth.len()], r)
    }

    proptest! {
        #[test]
        fn matching_is_maximum_and_within_radius(
            pred in proptest::collection::vec((0.0f64..30.0, 0.0f64..30.0), 0..7),
            truth in proptest::collection::vec((0.0f64..30.0, 0.0f64..30.0), 0..7),
            radius in 1.0f64..10.0,
        ) {
            let m = match_points(&pred, &truth, radius).expect("valid");
            prop_assert_eq!(m.true_positives(), brute_max_matching(&pred, &truth, radius));
            let mut seen = std::collections::HashSet::new();
            for &(p, t) in &m.pairs {
                prop_assert!(seen.insert(t));
                let d = (pred[p].0 - truth[t].0).hypot(pred[p].1 - truth[t].1);
                prop_assert!(d <= radius + 1e-9);
            }
        }
    }
}

//! Train / test split by source image, and what a split over patches would have leaked.
//!
//! Samples carry a *group*: the source image (TNBC: the slide). Groups are shuffled with a
//! seeded [`SplitMix64`] and the first `round(fraction * n)` go to training, so the patches of
//! one image never land on both sides. When there are at least two groups and the fraction lies
//! strictly between 0 and 1, each side gets at least one group.
//!
//! [`patch_split_leak`] measures the alternative the paper used, a random split over patches:
//! how many test patches share pixels with a training patch of the same image (overlapping
//! patch schemes), and how many come from an image that also feeds training.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::rng::SplitMix64;
use crate::rect::Rect;
use crate::{Error, Result};

/// Which side of the split a sample is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Used for training.
    Train,
    /// Held out for testing.
    Test,
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

fn check_fraction(fraction: f64) -> Result<()> {
    if (0.0..=1.0).contains(&fraction) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "split",
            problem: format!("the training fraction {fraction} is not within [0, 1]"),
        })
    }
}

/// How many of `n` items go to training.
fn train_count(n: usize, fraction: f64) -> usize {
    let k = (fraction * n as f64).round() as usize;
    if n >= 2 && fraction > 0.0 && fraction < 1.0 {
        k.clamp(1, n - 1)
    } else {
        k.min(n)
    }
}

/// Assigns each distinct group to a side. The result does not depend on the order or
/// repetition of `groups`, only on the set of names, the fraction and the seed.
///
/// ```
/// use histoseg_core::dataset::split::{Split, split_groups};
/// let groups = ["a", "b", "c", "d", "e"].map(String::from);
/// let sides = split_groups(&groups, 0.8, 7).unwrap();
/// assert_eq!(sides.values().filter(|s| **s == Split::Train).count(), 4);
/// assert_eq!(sides, split_groups(&groups, 0.8, 7).unwrap()); // same seed, same split
/// ```
pub fn split_groups(
    groups: &[String],
    fraction: f64,
    seed: u64,
) -> Result<BTreeMap<String, Split>> {
    check_fraction(fraction)?;
    let mut names: Vec<&String> = groups.iter().collect::<BTreeSet<_>>().into_iter().collect();
    SplitMix64::new(seed).shuffle(&mut names);
    let k = train_count(names.len(), fraction);
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, g)| (g.clone(), if i < k { Split::Train } else { Split::Test }))
        .collect())
}

/// What a random split over patches (ignoring their source) would have leaked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LeakReport {
    /// Patches drawn for testing.
    pub test_patches: usize,
    /// Test patches sharing at least one pixel with a training patch of the same image.
    pub overlapping_train: usize,
    /// Test patches from an image that also has a patch in training.
    pub same_image_as_train: usize,
}

/// Splits the patches `(source image, rectangle)` at random (seeded, `fraction` to training)
/// as the paper did, and counts the test patches that leak.
///
/// ```
/// use histoseg_core::dataset::split::patch_split_leak;
/// use histoseg_core::dataset::tiling::Scheme;
/// let rects = Scheme::Patches { patch: 256, stride: 128 }.rects(1024, 1024).unwrap();
/// let patches: Vec<(String, _)> = rects.into_iter().map(|r| ("img".to_string(), r)).collect();
/// let leak = patch_split_leak(&patches, 0.8, 1).unwrap();
/// assert_eq!(leak.test_patches, 10); // round(0.2 * 49)
/// assert_eq!(leak.same_image_as_train, 10);
/// assert_eq!(leak.overlapping_train, 10); // 50%-overlapping patches: every one leaks
/// ```
pub fn patch_split_leak(
    patches: &[(String, Rect)],
    fraction: f64,
    seed: u64,
) -> Result<LeakReport> {
    check_fraction(fraction)?;
    let mut order: Vec<usize> = (0..patches.len()).collect();
    SplitMix64::new(seed).shuffle(&mut order);
    let k = train_count(patches.len(), fraction);
    let mut train: BTreeMap<&str, Vec<Rect>> = BTreeMap::new();
    for &i in &order[..k] {
        train
            .entry(patches[i].0.as_str())
            .or_default()
            .push(patches[i].1);
    }
    let mut report = LeakReport {
        test_patches: patches.len() - k,
        ..LeakReport::default()
    };
    for &i in &order[k..] {
        let (src, rect) = (&patches[i].0, patches[i].1);
        if let Some(rects) = train.get(src.as_str()) {
            report.same_image_as_train += 1;
            if rects.iter().any(|r| r.intersects(&rect)) {
                report.overlapping_train += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_group_lands_on_one_side_and_sizes_follow_the_fraction(
            n in 0usize..40, fraction in 0.0f64..=1.0, seed in any::<u64>(),
        ) {
            let groups: Vec<String> = (0..n).map(|i| format!("g{i}")).collect();
            let sides = split_groups(&groups, fraction, seed).unwrap_or_default();
            prop_assert_eq!(sides.len(), n);
            let train = sides.values().filter(|s| **s == Split::Train).count();
            prop_assert!((train as f64 - fraction * n as f64).abs() <= 1.0);
            if n >= 2 && fraction > 0.0 && fraction < 1.0 {
                prop_assert!(train >= 1 && train < n);
            }
            // Order and repetition of the input do not matter.
            let mut shuffled: Vec<String> = groups.iter().rev().chain(groups.iter()).cloned().collect();
            shuffled.rotate_left(n / 3);
            prop_assert_eq!(split_groups(&shuffled, fraction, seed).unwrap_or_default(), sides);
        }
    }

    #[test]
    fn the_seed_changes_the_split() {
        let groups: Vec<String> = (0..30).map(|i| format!("g{i}")).collect();
        let a = split_groups(&groups, 0.8, 1).unwrap_or_default();
        let b = split_groups(&groups, 0.8, 2).unwrap_or_default();
        assert_ne!(a, b);
        assert!(split_groups(&groups, 1.5, 1).is_err());
    }

    #[test]
    fn disjoint_patches_never_overlap_but_share_images() {
        let patches: Vec<(String, Rect)> = (0..4)
            .flat_map(|img| (0..4).map(move |i| (format!("i{img}"), Rect::new(i * 10, 0, 10, 10))))
            .collect();
        let leak = patch_split_leak(&patches, 0.5, 3).unwrap_or_default();
        assert_eq!(leak.test_patches, 8);
        assert_eq!(leak.overlapping_train, 0);
        assert!(leak.same_image_as_train > 0);
    }
}

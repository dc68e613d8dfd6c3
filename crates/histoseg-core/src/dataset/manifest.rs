//! `dataset.json`: what a built dataset holds (every sample's source, rectangle and split, and
//! the options it was built with) and a summary of it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::split::{LeakReport, Split};
use super::square::SquareMode;
use super::tiling::Scheme;
use crate::rect::Rect;

/// The format version written into new manifests.
pub const MANIFEST_VERSION: u32 = 1;

/// One sample on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// The image file, relative to the dataset folder.
    pub image: String,
    /// The mask file (8-bit, 0/255), relative to the dataset folder.
    pub mask: String,
    /// The source image's name.
    pub source: String,
    /// The unit of the split (the source image, or its TNBC slide).
    pub group: String,
    /// The sample's rectangle in the prepared (squared) source image.
    pub rect: Rect,
    /// Train or test.
    pub split: Split,
    /// Whether the mask has no labelled pixel.
    pub empty: bool,
}

/// A built dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// Layout of the source folder (`brecahad`, `tnbc`, ...).
    pub layout: String,
    /// The source folder as given.
    pub source_dir: String,
    /// Tiling scheme.
    pub scheme: Scheme,
    /// Whether empty samples were left out.
    pub drop_empty: bool,
    /// Whether the preprocessing chain ran.
    pub prep: bool,
    /// Side of the square images, if they were squared.
    pub square: Option<u32>,
    /// How they were squared.
    pub square_mode: SquareMode,
    /// Classes drawn from point annotations (empty for mask layouts).
    pub classes: Vec<String>,
    /// Disk radius in source pixels for point annotations.
    pub radius_px: f32,
    /// Fraction of source groups sent to training.
    pub train_fraction: f64,
    /// Seed of the split.
    pub seed: u64,
    /// Files skipped while reading, and why.
    pub warnings: Vec<String>,
    /// What a random split over these samples (ignoring their source) would have leaked.
    pub patch_split_leak: LeakReport,
    /// Every sample.
    pub samples: Vec<SampleRecord>,
}

/// Counts for one side of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SideStats {
    /// Samples.
    pub samples: usize,
    /// Samples with an empty mask.
    pub empty: usize,
    /// Distinct source images.
    pub sources: usize,
    /// Distinct split groups.
    pub groups: usize,
}

impl SideStats {
    /// Share of empty samples in `[0, 1]` (0 when there are none).
    pub fn empty_share(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.empty as f64 / self.samples as f64
        }
    }
}

impl Manifest {
    /// Counts per split side, in the order train, test.
    ///
    /// ```
    /// use histoseg_core::dataset::manifest::{Manifest, SampleRecord};
    /// use histoseg_core::dataset::split::Split;
    /// use histoseg_core::rect::Rect;
    /// let rec = |src: &str, split, empty| SampleRecord {
    ///     image: String::new(), mask: String::new(), source: src.into(), group: src.into(),
    ///     rect: Rect::new(0, 0, 1, 1), split, empty,
    /// };
    /// let m = Manifest {
    ///     samples: vec![rec("a", Split::Train, true), rec("a", Split::Train, false),
    ///                   rec("b", Split::Test, false)],
    ///     ..Manifest::empty()
    /// };
    /// let s = m.stats();
    /// assert_eq!((s[&Split::Train].samples, s[&Split::Train].empty), (2, 1));
    /// assert_eq!(s[&Split::Train].empty_share(), 0.5);
    /// assert_eq!(s[&Split::Test].sources, 1);
    /// ```
    pub fn stats(&self) -> BTreeMap<Split, SideStats> {
        let mut out = BTreeMap::new();
        for side in [Split::Train, Split::Test] {
            let of_side: Vec<&SampleRecord> =
                self.samples.iter().filter(|s| s.split == side).collect();
            let sources: std::collections::BTreeSet<&str> =
                of_side.iter().map(|s| s.source.as_str()).collect();
            let groups: std::collections::BTreeSet<&str> =
                of_side.iter().map(|s| s.group.as_str()).collect();
            out.insert(
                side,
                SideStats {
                    samples: of_side.len(),
                    empty: of_side.iter().filter(|s| s.empty).count(),
                    sources: sources.len(),
                    groups: groups.len(),
                },
            );
        }
        out
    }

    /// A manifest with no samples and default options, to fill in.
    pub fn empty() -> Self {
        Self {
            version: MANIFEST_VERSION,
            layout: String::new(),
            source_dir: String::new(),
            scheme: Scheme::Original,
            drop_empty: false,
            prep: false,
            square: None,
            square_mode: SquareMode::Resize,
            classes: Vec::new(),
            radius_px: super::points::DEFAULT_RADIUS_PX,
            train_fraction: 0.8,
            seed: 0,
            warnings: Vec::new(),
            patch_split_leak: LeakReport::default(),
            samples: Vec::new(),
        }
    }
}

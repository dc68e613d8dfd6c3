//! Training data: the samples of a dataset built by `histoseg dataset build`, held in memory as
//! 8-bit images, and a loader thread that shuffles, augments (D4, H&E colour) and batches them while the
//! model trains on the previous batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use histoseg_core::dataset::augment::Augmentation;
use histoseg_core::dataset::manifest::Manifest;
use histoseg_core::dataset::rng::SplitMix64;
use histoseg_core::dataset::split::Split;
use histoseg_core::stain::{StainJitter, StainMatrix};
use image::{GrayImage, RgbImage};

use crate::error::{ModelError, Result};
use crate::weight_map::unet_weight_map;

/// One image and its binary mask.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File name of the image, for reports.
    pub name: String,
    /// Source group (image or slide) it was cut from.
    pub group: String,
    /// RGB pixels.
    pub image: RgbImage,
    /// Mask, non-zero = nucleus.
    pub mask: GrayImage,
}

impl Sample {
    /// The true instances: the mask's 8-connected components.
    pub fn truth(&self) -> histoseg_core::instances::LabelMap {
        histoseg_core::instances::label_components(&self.mask)
    }
}

/// Reads `dataset.json` of a built dataset.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("dataset.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        file: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        ModelError::Input(format!(
            "{}: not a dataset description made by `histoseg dataset build`: {e}",
            path.display()
        ))
    })
}

/// Loads every sample of `split` from the dataset folder `dir`.
pub fn load_split(dir: &Path, split: Split) -> Result<Vec<Sample>> {
    let manifest = read_manifest(dir)?;
    manifest
        .samples
        .iter()
        .filter(|s| s.split == split)
        .map(|s| {
            let open = |rel: &str| -> Result<image::DynamicImage> {
                let path: PathBuf = dir.join(rel);
                image::open(&path)
                    .map_err(|e| ModelError::Input(format!("{}: {e}", path.display())))
            };
            let image = open(&s.image)?.to_rgb8();
            let mask = open(&s.mask)?.to_luma8();
            if image.dimensions() != mask.dimensions() {
                return Err(ModelError::Input(format!(
                    "{}: image is {:?} but its mask {} is {:?}",
                    s.image,
                    image.dimensions(),
                    s.mask,
                    mask.dimensions()
                )));
            }
            Ok(Sample {
                name: s.image.clone(),
                group: s.group.clone(),
                image,
                mask,
            })
        })
        .collect()
}

/// Splits samples into training and validation by group (no source image on both sides):
/// about `fraction` of the groups, at least one, go to validation; with a single group, every
/// `1 / fraction`-th sample does.
pub fn hold_out(samples: Vec<Sample>, fraction: f64, seed: u64) -> (Vec<Sample>, Vec<Sample>) {
    let mut groups: Vec<String> = samples.iter().map(|s| s.group.clone()).collect();
    groups.sort();
    groups.dedup();
    if groups.len() >= 2 {
        SplitMix64::new(seed).shuffle(&mut groups);
        let k = ((groups.len() as f64 * fraction).round() as usize).clamp(1, groups.len() - 1);
        let valid: Vec<String> = groups[..k].to_vec();
        samples.into_iter().partition(|s| !valid.contains(&s.group))
    } else {
        let every = (1.0 / fraction.max(1e-3)).round().max(2.0) as usize;
        let (train, valid): (Vec<_>, Vec<_>) = samples
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % every != every - 1);
        (
            train.into_iter().map(|p| p.1).collect(),
            valid.into_iter().map(|p| p.1).collect(),
        )
    }
}

/// A batch as flat planar arrays, ready for `Tensor::from_data`.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[n, 3, h, w]` in `[0, 1]`.
    pub images: Vec<f32>,
    /// `[n, 1, h, w]`, 0 or 1.
    pub masks: Vec<f32>,
    /// `[n, 1, h, w]` U-Net weight map, when asked for.
    pub weights: Option<Vec<f32>>,
    /// `[n, h, w]`.
    pub dims: [usize; 3],
}

/// How batches are made.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Samples per batch.
    pub batch: usize,
    /// Shuffle and apply random D4 symmetries (training); otherwise in order, as they are.
    pub augment: bool,
    /// With `augment`, strength of the random H&E colour change (0: none).
    pub stain_jitter: f64,
    /// Add the U-Net weight map `(w0, sigma)`.
    pub weight_map: Option<(f32, f32)>,
    /// Seed of the shuffling and augmentation for this pass.
    pub seed: u64,
}

/// Builds one batch from `samples`.
pub fn make_batch(
    samples: &[&Sample],
    options: &BatchOptions,
    rng: &mut SplitMix64,
) -> Result<Batch> {
    let (w, h) = samples[0].image.dimensions();
    let plane = (w * h) as usize;
    let mut batch = Batch {
        images: Vec::with_capacity(samples.len() * 3 * plane),
        masks: Vec::with_capacity(samples.len() * plane),
        weights: options
            .weight_map
            .map(|_| Vec::with_capacity(samples.len() * plane)),
        dims: [samples.len(), h as usize, w as usize],
    };
    for s in samples {
        if s.image.dimensions() != (w, h) {
            return Err(ModelError::Input(format!(
                "{} is {:?} but other samples are {:?}: a dataset for training needs one size \
                 (build it with --square or a tiling scheme)",
                s.name,
                s.image.dimensions(),
                (w, h)
            )));
        }
        let (image, mask) = if options.augment {
            let (_, i, m) = Augmentation::random_pair(rng, &s.image, &s.mask);
            if options.stain_jitter > 0.0 {
                let jitter = StainJitter::random(rng, options.stain_jitter);
                (jitter.apply(&StainMatrix::hematoxylin_eosin(), &i), m)
            } else {
                (i, m)
            }
        } else {
            (s.image.clone(), s.mask.clone())
        };
        for c in 0..3 {
            batch
                .images
                .extend(image.pixels().map(|p| f32::from(p[c]) / 255.0));
        }
        batch
            .masks
            .extend(mask.iter().map(|&v| f32::from(u8::from(v != 0))));
        if let (Some(weights), Some((w0, sigma))) = (&mut batch.weights, options.weight_map) {
            weights.extend(unet_weight_map(&mask, w0, sigma).into_raw());
        }
    }
    Ok(batch)
}

/// A pass over the samples whose batches are made on a background thread, two ahead.
#[derive(Debug)]
pub struct Loader {
    receiver: Receiver<Result<Batch>>,
    handle: Option<JoinHandle<()>>,
    /// Number of batches this pass yields.
    pub batches: usize,
}

impl Loader {
    /// Starts a pass over `samples`.
    pub fn start(samples: Arc<Vec<Sample>>, options: BatchOptions) -> Self {
        let mut order: Vec<usize> = (0..samples.len()).collect();
        let mut rng = SplitMix64::new(options.seed);
        if options.augment {
            rng.shuffle(&mut order);
        }
        let size = options.batch.max(1);
        let batches = order.len().div_ceil(size);
        let (sender, receiver) = sync_channel(2);
        let handle = std::thread::spawn(move || {
            for chunk in order.chunks(size) {
                let picked: Vec<&Sample> = chunk.iter().map(|&i| &samples[i]).collect();
                if sender
                    .send(make_batch(&picked, &options, &mut rng))
                    .is_err()
                {
                    return;
                }
            }
        });
        Self {
            receiver,
            handle: Some(handle),
            batches,
        }
    }
}

impl Iterator for Loader {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.receiver.recv() {
            Ok(batch) => Some(batch),
            Err(_) => {
                if let Some(handle) = self.handle.take() {
                    let _ = handle.join();
                }
                None
            }
        }
    }
}

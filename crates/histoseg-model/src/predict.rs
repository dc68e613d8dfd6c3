//! A loaded model ready for images: preprocessing as in training, tiled inference, nuclei.

use std::borrow::Cow;

use burn::prelude::*;
use histoseg_core::dataset::augment::Augmentation;
use histoseg_core::filters::preprocess_u8;
use histoseg_core::instances::LabelMap;
use image::{GrayImage, RgbImage};
use serde::Serialize;

use crate::error::Result;
use crate::infer::{TileParams, predict_probabilities, predict_probabilities_async};
use crate::postprocess::{Nucleus, binary_mask, instances};
use crate::segmenter::Segmenter;
use crate::weight_map::FloatMap;
use crate::weights::ModelSpec;

/// A model, its spec and the device it runs on.
#[derive(Debug)]
pub struct Predictor {
    /// The network in inference mode.
    pub model: Segmenter,
    /// How it was trained.
    pub spec: ModelSpec,
    /// Where it runs.
    pub device: Device,
    /// Test-time augmentation: average the probabilities over the eight D4 symmetries of the
    /// image (eight times the work).
    pub tta: bool,
}

/// Everything one image gives.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// Probability of "nucleus" per pixel.
    #[serde(skip)]
    pub probabilities: FloatMap,
    /// `probabilities >= threshold`, 0/255.
    #[serde(skip)]
    pub mask: GrayImage,
    /// Instance labels: 0 background, `i + 1` for `nuclei[i]`.
    #[serde(skip)]
    pub labels: LabelMap,
    /// The nuclei: instances of the mask (touching ones split) above the minimum area.
    pub nuclei: Vec<Nucleus>,
}

impl Predictor {
    /// Tiling suited to the model: its training patch size, a quarter overlap.
    pub fn tile_params(&self) -> TileParams {
        let tile = self.spec.tile.max(32);
        TileParams {
            tile,
            overlap: tile / 4,
            batch: 4,
        }
    }

    /// Predicts on `image`; `progress(done, total)` after each batch of tiles, `false` cancels.
    pub fn predict(
        &self,
        image: &RgbImage,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Prediction> {
        let input = self.prepare(image);
        let views = self.views();
        let mut maps = Vec::with_capacity(views.len());
        for (k, view) in views.iter().enumerate() {
            let turned = view.apply(&*input);
            let mut step =
                |done: usize, total: usize| progress(k * total + done, views.len() * total);
            let map = predict_probabilities(
                &self.model,
                &turned,
                &self.device,
                &self.tile_params(),
                &mut step,
            )?;
            maps.push(view.inverse().apply(&map));
        }
        Ok(self.finish(average(maps)))
    }

    /// The symmetries the probabilities are averaged over: all eight with [`Self::tta`].
    fn views(&self) -> Vec<Augmentation> {
        if self.tta {
            Augmentation::ALL.to_vec()
        } else {
            vec![Augmentation::Identity]
        }
    }

    /// [`Self::predict`] for the browser: GPU read-backs are awaited, and `progress` returns a
    /// future resolving to `false` to cancel.
    pub async fn predict_async<F: Future<Output = bool>>(
        &self,
        image: &RgbImage,
        progress: impl FnMut(usize, usize) -> F,
    ) -> Result<Prediction> {
        let input = self.prepare(image);
        let views = self.views();
        let mut progress = progress;
        let mut maps = Vec::with_capacity(views.len());
        for (k, view) in views.iter().enumerate() {
            let turned = view.apply(&*input);
            let n = views.len();
            let map = predict_probabilities_async(
                &self.model,
                &turned,
                &self.device,
                &self.tile_params(),
                |done, total| progress(k * total + done, n * total),
            )
            .await?;
            maps.push(view.inverse().apply(&map));
        }
        Ok(self.finish(average(maps)))
    }

    /// The image as the model saw its training patches.
    fn prepare<'a>(&self, image: &'a RgbImage) -> Cow<'a, RgbImage> {
        if self.spec.preprocess {
            Cow::Owned(preprocess_u8(image))
        } else {
            Cow::Borrowed(image)
        }
    }

    fn finish(&self, probabilities: FloatMap) -> Prediction {
        let mask = binary_mask(&probabilities, self.spec.threshold);
        let (labels, nuclei) = instances(&mask, self.spec.split_depth, self.spec.min_area);
        Prediction {
            probabilities,
            mask,
            labels,
            nuclei,
        }
    }
}

/// The pixel-wise mean of maps of one size.
fn average(mut maps: Vec<FloatMap>) -> FloatMap {
    let n = maps.len().max(1) as f32;
    let mut sum = maps.pop().unwrap_or_else(|| FloatMap::new(0, 0));
    for map in &maps {
        for (s, v) in sum.iter_mut().zip(map.iter()) {
            *s += v;
        }
    }
    if n > 1.0 {
        sum.iter_mut().for_each(|s| *s /= n);
    }
    sum
}

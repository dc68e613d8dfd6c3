//! A loaded model ready for images: preprocessing as in training, tiled inference, nuclei.

use std::borrow::Cow;

use burn::prelude::*;
use histoseg_core::filters::preprocess_u8;
use image::{GrayImage, RgbImage};
use serde::Serialize;

use crate::error::Result;
use crate::infer::{TileParams, predict_probabilities, predict_probabilities_async};
use crate::postprocess::{Nucleus, binary_mask, nuclei};
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
    /// Connected components of the mask above the minimum area.
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
        let probabilities = predict_probabilities(
            &self.model,
            &input,
            &self.device,
            &self.tile_params(),
            progress,
        )?;
        Ok(self.finish(probabilities))
    }

    /// [`Self::predict`] for the browser: GPU read-backs are awaited, and `progress` returns a
    /// future resolving to `false` to cancel.
    pub async fn predict_async<F: Future<Output = bool>>(
        &self,
        image: &RgbImage,
        progress: impl FnMut(usize, usize) -> F,
    ) -> Result<Prediction> {
        let input = self.prepare(image);
        let probabilities = predict_probabilities_async(
            &self.model,
            &input,
            &self.device,
            &self.tile_params(),
            progress,
        )
        .await?;
        Ok(self.finish(probabilities))
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
        let nuclei = nuclei(&mask, self.spec.min_area);
        Prediction {
            probabilities,
            mask,
            nuclei,
        }
    }
}

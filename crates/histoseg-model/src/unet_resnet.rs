//! U-Net with a ResNet-50 encoder, laid out as segmentation_models_pytorch's `Unet("resnet50")`:
//! skips at strides 2, 4, 8, 16, 32, nearest-neighbour up-sampling, decoder widths
//! 256, 128, 64, 32, 16, and a 3x3 segmentation head.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

use crate::blocks::{DoubleConv, DoubleConvConfig};
use crate::error::ModelError;
use crate::resnet::{ResNetConfig, ResNetEncoder};

/// U-Net-ResNet50 hyper-parameters.
#[derive(Config, Debug, PartialEq)]
pub struct UNetResNetConfig {
    /// The encoder.
    #[config(default = "ResNetConfig::new()")]
    pub encoder: ResNetConfig,
    /// Output channels of the five decoder stages, deepest first.
    #[config(default = "[256, 128, 64, 32, 16]")]
    pub decoder_widths: [usize; 5],
    /// Output channels of the head.
    #[config(default = 1)]
    pub classes: usize,
}

/// The assembled network. Build it with [`UNetResNetConfig::init`].
#[derive(Module, Debug)]
pub struct UNetResNet {
    /// The ResNet encoder, named as torchvision names its modules.
    pub encoder: ResNetEncoder,
    decoder: Vec<DoubleConv>,
    head: Conv2d,
}

impl UNetResNetConfig {
    /// Refuses configurations that cannot build a sensible network.
    pub fn validate(&self) -> crate::Result<()> {
        self.encoder.validate()?;
        if self.classes == 0 || self.decoder_widths.iter().any(|&w| w == 0 || w > 4096) {
            return Err(ModelError::Config(format!(
                "U-Net-ResNet needs classes >= 1 and decoder widths 1 to 4096, got {} and {:?}",
                self.classes, self.decoder_widths
            )));
        }
        Ok(())
    }

    /// Builds the network on `device`, refusing a bad configuration.
    pub fn init(&self, device: &Device) -> crate::Result<UNetResNet> {
        self.validate()?;
        let features = self.encoder.feature_channels();
        // Skips for the stages, deepest first; the last stage has none (full resolution).
        let skips = [features[3], features[2], features[1], features[0], 0];
        let mut inputs = features[4];
        let decoder = self
            .decoder_widths
            .iter()
            .zip(skips)
            .map(|(&out, skip)| {
                let block = DoubleConvConfig::new(inputs + skip, out).init(device);
                inputs = out;
                block
            })
            .collect();
        Ok(UNetResNet {
            encoder: self.encoder.init(device)?,
            decoder,
            head: Conv2dConfig::new([inputs, self.classes], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
        })
    }
}

/// Nearest-neighbour 2x up-sampling by broadcasting: exact, and cheap on every backend.
fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .expand([n, c, h, 2, w, 2])
        .reshape([n, c, 2 * h, 2 * w])
}

impl UNetResNet {
    /// Logits per pixel.
    ///
    /// # Shapes
    /// `[n, in_channels, h, w] -> [n, classes, h, w]`, `h` and `w` multiples of 32.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [stem, c2, c3, c4, c5] = self.encoder.forward(x);
        let mut skips = vec![stem, c2, c3, c4];
        let mut x = c5;
        for block in &self.decoder {
            x = upsample2(x);
            if let Some(skip) = skips.pop() {
                x = Tensor::cat(vec![x, skip], 1);
            }
            x = block.forward(x);
        }
        self.head.forward(x)
    }
}

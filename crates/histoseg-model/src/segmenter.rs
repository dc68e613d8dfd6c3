//! One type for "a segmentation model": either architecture, padded to its stride and cropped
//! back, so callers can feed any input size.

use burn::prelude::*;
use burn::tensor::ops::PadMode;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::unet::{UNet, UNetConfig};
use crate::unet_resnet::{UNetResNet, UNetResNetConfig};

/// Which architecture, with its hyper-parameters. Serialised with a `model` tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// Plain U-Net.
    Unet(UNetConfig),
    /// U-Net with a ResNet-50 encoder.
    UnetResnet50(UNetResNetConfig),
}

/// A built segmentation network. Build it with [`ModelConfig::init`].
// A process holds one or two models, so the size gap between variants costs nothing, and burn's
// `Module` derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Segmenter {
    /// Plain U-Net.
    UNet(UNet),
    /// U-Net with a ResNet-50 encoder.
    UNetResNet(UNetResNet),
}

impl ModelConfig {
    /// Full-width model by its CLI name: `unet` or `unet-resnet50`.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "unet" => Ok(Self::Unet(UNetConfig::new())),
            "unet-resnet50" => Ok(Self::UnetResnet50(UNetResNetConfig::new())),
            other => Err(ModelError::Config(format!(
                "unknown model {other:?}: expected unet or unet-resnet50"
            ))),
        }
    }

    /// The CLI name of the architecture.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unet(_) => "unet",
            Self::UnetResnet50(_) => "unet-resnet50",
        }
    }

    /// Input sides are padded up to a multiple of this.
    pub fn stride(&self) -> usize {
        match self {
            Self::Unet(c) => c.stride(),
            Self::UnetResnet50(_) => 32,
        }
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        match self {
            Self::Unet(c) => c.in_channels,
            Self::UnetResnet50(c) => c.encoder.in_channels,
        }
    }

    /// Output channels (logits per pixel).
    pub fn classes(&self) -> usize {
        match self {
            Self::Unet(c) => c.classes,
            Self::UnetResnet50(c) => c.classes,
        }
    }

    /// Refuses a configuration that cannot build a sensible network.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Unet(c) => c.validate(),
            Self::UnetResnet50(c) => c.validate(),
        }
    }

    /// Builds the network on `device`, refusing a bad configuration.
    pub fn init(&self, device: &Device) -> Result<Segmenter> {
        Ok(match self {
            Self::Unet(c) => Segmenter::UNet(c.init(device)?),
            Self::UnetResnet50(c) => Segmenter::UNetResNet(c.init(device)?),
        })
    }
}

impl Segmenter {
    /// Input sides are padded up to a multiple of this.
    pub fn stride(&self) -> usize {
        match self {
            Self::UNet(m) => m.stride(),
            Self::UNetResNet(_) => 32,
        }
    }

    /// Logits per pixel for any input size: the input is padded (edge replication) to a
    /// multiple of [`Self::stride`] and the output cropped back.
    ///
    /// # Shapes
    /// `[n, in_channels, h, w] -> [n, classes, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, _, h, w] = x.dims();
        let stride = self.stride();
        let (ph, pw) = (
            h.next_multiple_of(stride) - h,
            w.next_multiple_of(stride) - w,
        );
        let x = if ph + pw > 0 {
            x.pad((0, pw, 0, ph), PadMode::Edge)
        } else {
            x
        };
        let y = match self {
            Self::UNet(m) => m.forward(x),
            Self::UNetResNet(m) => m.forward(x),
        };
        let classes = y.dims()[1];
        if ph + pw > 0 {
            y.slice([0..n, 0..classes, 0..h, 0..w])
        } else {
            y
        }
    }

    /// Checks an input shape before [`Self::forward`], so a bad image is an error, not a
    /// backend panic.
    pub fn check_input(&self, dims: [usize; 4], in_channels: usize) -> Result<()> {
        let [n, c, h, w] = dims;
        if n == 0 || h == 0 || w == 0 || c != in_channels {
            return Err(ModelError::Input(format!(
                "expected [n >= 1, {in_channels}, h >= 1, w >= 1], got {dims:?}"
            )));
        }
        Ok(())
    }
}

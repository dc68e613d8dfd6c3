//! U-Net (Ronneberger et al. 2015) with same padding, so the output has the input's size.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;

use crate::blocks::{DoubleConv, DoubleConvConfig};
use crate::error::ModelError;

/// U-Net hyper-parameters. Defaults are the paper's: 4 poolings, 64 channels at the top.
#[derive(Config, Debug, PartialEq)]
pub struct UNetConfig {
    /// Input channels (3 for RGB).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Output channels: one logit per pixel for nuclei vs background, or N classes.
    #[config(default = 1)]
    pub classes: usize,
    /// Number of 2x2 max-poolings (and of up-sampling stages).
    #[config(default = 4)]
    pub depth: usize,
    /// Channels of the first stage; each pooling doubles them.
    #[config(default = 64)]
    pub base_width: usize,
    /// Batch norm after every convolution.
    #[config(default = true)]
    pub batch_norm: bool,
}

/// One decoder stage: 2x2 transposed convolution, concatenation with the skip, double conv.
#[derive(Module, Debug)]
pub struct UpStage {
    up: ConvTranspose2d,
    conv: DoubleConv,
}

/// The assembled U-Net. Build it with [`UNetConfig::init`].
#[derive(Module, Debug)]
pub struct UNet {
    down: Vec<DoubleConv>,
    pool: MaxPool2d,
    up: Vec<UpStage>,
    head: Conv2d,
}

impl UNetConfig {
    /// Refuses configurations that cannot build a sensible network.
    pub fn validate(&self) -> crate::Result<()> {
        let fail = |m: String| Err(ModelError::Config(m));
        if self.in_channels == 0 || self.classes == 0 {
            return fail("in_channels and classes must be at least 1".into());
        }
        if !(1..=6).contains(&self.depth) {
            return fail(format!(
                "U-Net depth must be 1 to 6 poolings, got {}",
                self.depth
            ));
        }
        if self.base_width == 0 || self.base_width << self.depth > 8192 {
            return fail(format!(
                "U-Net base width {} with depth {} gives {} channels at the bottom (1 to 8192)",
                self.base_width,
                self.depth,
                self.base_width << self.depth
            ));
        }
        Ok(())
    }

    /// Input sides must be multiples of this (the model pads to it; see [`crate::Segmenter`]).
    pub fn stride(&self) -> usize {
        1 << self.depth
    }

    /// Builds the network on `device`, refusing a bad configuration.
    pub fn init(&self, device: &Device) -> crate::Result<UNet> {
        self.validate()?;
        let width = |level: usize| self.base_width << level;
        let double = |i, o| DoubleConvConfig::new(i, o).with_batch_norm(self.batch_norm);
        let down = (0..=self.depth)
            .map(|level| {
                let input = if level == 0 {
                    self.in_channels
                } else {
                    width(level - 1)
                };
                double(input, width(level)).init(device)
            })
            .collect();
        let up = (0..self.depth)
            .rev()
            .map(|level| UpStage {
                up: ConvTranspose2dConfig::new([width(level + 1), width(level)], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                conv: double(2 * width(level), width(level)).init(device),
            })
            .collect();
        Ok(UNet {
            down,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            up,
            head: Conv2dConfig::new([self.base_width, self.classes], [1, 1]).init(device),
        })
    }
}

impl UNet {
    /// Input sides must be multiples of this: 2^depth.
    pub fn stride(&self) -> usize {
        1 << self.up.len()
    }

    /// Logits per pixel.
    ///
    /// # Shapes
    /// `[n, in_channels, h, w] -> [n, classes, h, w]`, with `h` and `w` multiples of
    /// 2^depth ([`crate::Segmenter::forward`] pads any other size).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let depth = self.up.len();
        let mut skips = Vec::with_capacity(depth);
        let mut x = x;
        for (level, stage) in self.down.iter().enumerate() {
            if level > 0 {
                x = self.pool.forward(x);
            }
            x = stage.forward(x);
            if level < depth {
                skips.push(x.clone());
            }
        }
        for stage in &self.up {
            let skip = skips.pop().expect("one skip per up stage");
            x = stage
                .conv
                .forward(Tensor::cat(vec![skip, stage.up.forward(x)], 1));
        }
        self.head.forward(x)
    }
}

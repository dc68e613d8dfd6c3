//! Building blocks shared by both U-Nets: 3x3 convolution + optional batch norm + ReLU, twice.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d, Relu};
use burn::prelude::*;

/// A 3x3 same-padded convolution, optional batch norm, ReLU.
#[derive(Config, Debug)]
pub struct ConvNormReluConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Batch norm after the convolution (the convolution then has no bias).
    #[config(default = true)]
    pub batch_norm: bool,
}

/// See [`ConvNormReluConfig`].
#[derive(Module, Debug)]
pub struct ConvNormRelu {
    conv: Conv2d,
    norm: Option<BatchNorm>,
    activation: Relu,
}

impl ConvNormReluConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ConvNormRelu {
        ConvNormRelu {
            conv: Conv2dConfig::new([self.in_channels, self.out_channels], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(!self.batch_norm)
                .init(device),
            norm: self
                .batch_norm
                .then(|| BatchNormConfig::new(self.out_channels).init(device)),
            activation: Relu::new(),
        }
    }
}

impl ConvNormRelu {
    /// # Shapes
    /// `[n, in, h, w] -> [n, out, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.conv.forward(x);
        let x = match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        };
        self.activation.forward(x)
    }
}

/// Two [`ConvNormRelu`] in a row: the unit of every U-Net stage.
#[derive(Config, Debug)]
pub struct DoubleConvConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of both convolutions.
    pub out_channels: usize,
    /// Batch norm after each convolution.
    #[config(default = true)]
    pub batch_norm: bool,
}

/// See [`DoubleConvConfig`].
#[derive(Module, Debug)]
pub struct DoubleConv {
    first: ConvNormRelu,
    second: ConvNormRelu,
}

impl DoubleConvConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> DoubleConv {
        let conv = |i, o| ConvNormReluConfig::new(i, o).with_batch_norm(self.batch_norm);
        DoubleConv {
            first: conv(self.in_channels, self.out_channels).init(device),
            second: conv(self.out_channels, self.out_channels).init(device),
        }
    }
}

impl DoubleConv {
    /// # Shapes
    /// `[n, in, h, w] -> [n, out, h, w]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.second.forward(self.first.forward(x))
    }
}

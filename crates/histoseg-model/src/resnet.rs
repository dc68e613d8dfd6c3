//! ResNet-50 encoder (He et al. 2016, torchvision's v1.5: stride on the 3x3 convolution).
//!
//! Field names follow torchvision's state dict (`conv1`, `bn1`, `layer1.0.conv2`, ...) so its
//! ImageNet weights load with one remapping: `downsample.0/1` -> `downsample.conv/bn`
//! (see [`crate::weights`]).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d, Relu};
use burn::prelude::*;

use crate::error::ModelError;

/// ResNet encoder hyper-parameters. Defaults are ResNet-50's.
#[derive(Config, Debug, PartialEq)]
pub struct ResNetConfig {
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Bottleneck blocks per stage.
    #[config(default = "[3, 4, 6, 3]")]
    pub layers: [usize; 4],
    /// Stem channels; stage `i` has `stem_width * 2^i` inner and 4x that output channels.
    #[config(default = 64)]
    pub stem_width: usize,
}

/// The 1x1 convolution + batch norm that matches a shortcut to its block's output.
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

/// Bottleneck block: 1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, plus shortcut.
#[derive(Module, Debug)]
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    relu: Relu,
    downsample: Option<Downsample>,
}

/// The encoder: stem and four stages, no pooling head.
#[derive(Module, Debug)]
pub struct ResNetEncoder {
    conv1: Conv2d,
    bn1: BatchNorm,
    relu: Relu,
    maxpool: MaxPool2d,
    layer1: Vec<Bottleneck>,
    layer2: Vec<Bottleneck>,
    layer3: Vec<Bottleneck>,
    layer4: Vec<Bottleneck>,
}

fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            kernel / 2,
            kernel / 2,
            kernel / 2,
            kernel / 2,
        ))
        .with_bias(false)
        .init(device)
}

fn bottleneck(inputs: usize, planes: usize, stride: usize, device: &Device) -> Bottleneck {
    let outputs = planes * 4;
    let downsample = (stride != 1 || inputs != outputs).then(|| Downsample {
        conv: conv([inputs, outputs], 1, stride, device),
        bn: BatchNormConfig::new(outputs).init(device),
    });
    Bottleneck {
        conv1: conv([inputs, planes], 1, 1, device),
        bn1: BatchNormConfig::new(planes).init(device),
        conv2: conv([planes, planes], 3, stride, device),
        bn2: BatchNormConfig::new(planes).init(device),
        conv3: conv([planes, outputs], 1, 1, device),
        bn3: BatchNormConfig::new(outputs).init(device),
        relu: Relu::new(),
        downsample,
    }
}

impl ResNetConfig {
    /// Output channels of the stem and of the four stages (64, 256, 512, 1024, 2048 for
    /// ResNet-50): the skip widths a decoder receives.
    pub fn feature_channels(&self) -> [usize; 5] {
        let w = self.stem_width;
        [w, w * 4, w * 8, w * 16, w * 32]
    }

    /// Refuses configurations that cannot build a sensible network.
    pub fn validate(&self) -> crate::Result<()> {
        if self.in_channels == 0 || self.stem_width == 0 || self.stem_width > 1024 {
            return Err(ModelError::Config(format!(
                "ResNet needs in_channels >= 1 and stem_width 1 to 1024, got {} and {}",
                self.in_channels, self.stem_width
            )));
        }
        if self.layers.iter().any(|&n| n == 0 || n > 64) {
            return Err(ModelError::Config(format!(
                "ResNet stages need 1 to 64 blocks each, got {:?}",
                self.layers
            )));
        }
        Ok(())
    }

    /// Builds the encoder on `device`.
    pub fn init(&self, device: &Device) -> crate::Result<ResNetEncoder> {
        self.validate()?;
        let mut inputs = self.stem_width;
        let mut stage = |index: usize| {
            let planes = self.stem_width << index;
            let stride = if index == 0 { 1 } else { 2 };
            let blocks: Vec<_> = (0..self.layers[index])
                .map(|i| {
                    let block = bottleneck(inputs, planes, if i == 0 { stride } else { 1 }, device);
                    inputs = planes * 4;
                    block
                })
                .collect();
            blocks
        };
        let (layer1, layer2, layer3, layer4) = (stage(0), stage(1), stage(2), stage(3));
        Ok(ResNetEncoder {
            conv1: conv([self.in_channels, self.stem_width], 7, 2, device),
            bn1: BatchNormConfig::new(self.stem_width).init(device),
            relu: Relu::new(),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1,
            layer2,
            layer3,
            layer4,
        })
    }
}

impl Bottleneck {
    /// # Shapes
    /// `[n, in, h, w] -> [n, 4 * planes, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.downsample {
            Some(d) => d.bn.forward(d.conv.forward(x.clone())),
            None => x.clone(),
        };
        let y = self.relu.forward(self.bn1.forward(self.conv1.forward(x)));
        let y = self.relu.forward(self.bn2.forward(self.conv2.forward(y)));
        let y = self.bn3.forward(self.conv3.forward(y));
        self.relu.forward(y + shortcut)
    }
}

impl ResNetEncoder {
    /// Features at strides 2, 4, 8, 16 and 32 (stem, then stages 1 to 4).
    ///
    /// # Shapes
    /// `[n, in, h, w] -> [n, c_i, h / 2^(i+1), w / 2^(i+1)]` for `c` =
    /// [`ResNetConfig::feature_channels`], `h` and `w` multiples of 32.
    pub fn forward(&self, x: Tensor<4>) -> [Tensor<4>; 5] {
        let stem = self.relu.forward(self.bn1.forward(self.conv1.forward(x)));
        let run = |x: Tensor<4>, blocks: &[Bottleneck]| blocks.iter().fold(x, |x, b| b.forward(x));
        let c2 = run(self.maxpool.forward(stem.clone()), &self.layer1);
        let c3 = run(c2.clone(), &self.layer2);
        let c4 = run(c3.clone(), &self.layer3);
        let c5 = run(c4.clone(), &self.layer4);
        [stem, c2, c3, c4, c5]
    }
}

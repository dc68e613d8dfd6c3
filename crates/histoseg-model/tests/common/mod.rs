//! Small configurations and helpers shared by the model tests.
#![allow(dead_code)] // each test binary uses a different subset

use burn::prelude::*;
use histoseg_model::ModelConfig;
use histoseg_model::resnet::ResNetConfig;
use histoseg_model::unet::UNetConfig;
use histoseg_model::unet_resnet::UNetResNetConfig;

/// A U-Net small enough for CPU tests.
pub fn small_unet() -> ModelConfig {
    ModelConfig::Unet(UNetConfig::new().with_base_width(4).with_depth(3))
}

/// A U-Net-ResNet with one block per stage and narrow layers.
pub fn small_resnet() -> ModelConfig {
    ModelConfig::UnetResnet50(
        UNetResNetConfig::new()
            .with_encoder(small_encoder())
            .with_decoder_widths([16, 8, 8, 4, 4]),
    )
}

/// One bottleneck per stage, stem width 4.
pub fn small_encoder() -> ResNetConfig {
    ResNetConfig::new()
        .with_layers([1, 2, 1, 1])
        .with_stem_width(4)
}

/// A deterministic pseudo-random input in [0, 1].
pub fn input(dims: [usize; 4], device: &Device) -> Tensor<4> {
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 + 13) % 1000) as f32 / 1000.0)
        .collect();
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// All values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("f32 tensor")
}

/// Largest absolute difference.
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

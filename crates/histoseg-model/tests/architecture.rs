//! Output shapes, parameter counts and refused configurations, on burn's CPU backend.

mod common;

use burn::prelude::*;
use common::*;
use histoseg_model::resnet::ResNetConfig;
use histoseg_model::unet::UNetConfig;
use histoseg_model::unet_resnet::UNetResNetConfig;
use histoseg_model::{ModelConfig, ModelError};

#[test]
fn output_has_the_input_size_for_any_size() {
    let device = Device::flex();
    for config in [small_unet(), small_resnet()] {
        let model = config.init(&device).expect("valid config").valid();
        for dims in [[1, 3, 64, 64], [2, 3, 37, 50], [1, 3, 33, 96], [1, 3, 5, 7]] {
            let y = model.forward(input(dims, &device));
            assert_eq!(
                y.dims(),
                [dims[0], 1, dims[2], dims[3]],
                "{} on {dims:?}",
                config.name()
            );
            assert!(values(y).iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn multi_class_head() {
    let device = Device::flex();
    let config = ModelConfig::Unet(
        UNetConfig::new()
            .with_base_width(2)
            .with_depth(2)
            .with_classes(3),
    );
    let y = config
        .init(&device)
        .expect("valid")
        .forward(input([1, 3, 20, 20], &device));
    assert_eq!(y.dims(), [1, 3, 20, 20]);
}

#[test]
fn full_width_models_have_the_published_sizes() {
    let device = Device::flex();
    // torchvision's ResNet-50 has 25,557,032 parameters, 2,049,000 of them in `fc`; its 53
    // batch norms have 26,560 channels, and burn also counts their running mean and variance.
    let encoder = ResNetConfig::new().init(&device).expect("valid");
    assert_eq!(encoder.num_params(), 25_557_032 - 2_049_000 + 2 * 26_560);
    let unet = ModelConfig::by_name("unet")
        .expect("known")
        .init(&device)
        .expect("valid");
    // Ronneberger's U-Net with batch norm (gamma, beta, running mean and variance) and
    // bias-free convolutions, one output channel.
    let convs: usize = [
        (3, 64),
        (64, 64),
        (64, 128),
        (128, 128),
        (128, 256),
        (256, 256),
        (256, 512),
        (512, 512),
        (512, 1024),
        (1024, 1024),
        (1024, 512),
        (512, 512),
        (512, 256),
        (256, 256),
        (256, 128),
        (128, 128),
        (128, 64),
        (64, 64),
    ]
    .iter()
    .map(|(i, o)| 9 * i * o + 4 * o)
    .sum();
    let ups: usize = [(1024, 512), (512, 256), (256, 128), (128, 64)]
        .iter()
        .map(|(i, o)| 4 * i * o + o)
        .sum();
    assert_eq!(unet.num_params(), convs + ups + 64 + 1);
    // Full width runs on a small input too.
    let y = unet.valid().forward(input([1, 3, 32, 32], &device));
    assert_eq!(y.dims(), [1, 1, 32, 32]);
    let big = ModelConfig::by_name("unet-resnet50")
        .expect("known")
        .init(&device)
        .expect("valid");
    assert_eq!(
        big.valid().forward(input([1, 3, 40, 40], &device)).dims(),
        [1, 1, 40, 40]
    );
}

#[test]
fn bad_configs_are_refused_with_a_message() {
    let device = Device::flex();
    let cases = [
        ModelConfig::Unet(UNetConfig::new().with_depth(0)),
        ModelConfig::Unet(UNetConfig::new().with_depth(9)),
        ModelConfig::Unet(UNetConfig::new().with_base_width(0)),
        ModelConfig::Unet(UNetConfig::new().with_classes(0)),
        ModelConfig::UnetResnet50(
            UNetResNetConfig::new().with_encoder(ResNetConfig::new().with_layers([3, 0, 6, 3])),
        ),
        ModelConfig::UnetResnet50(
            UNetResNetConfig::new().with_decoder_widths([256, 128, 0, 32, 16]),
        ),
    ];
    for config in cases {
        match config.init(&device) {
            Err(ModelError::Config(message)) => assert!(message.len() > 20, "{message}"),
            other => panic!("{config:?} was accepted: {:?}", other.map(|_| ())),
        }
    }
    let unknown = ModelConfig::by_name("vgg").expect_err("unknown model");
    assert!(unknown.to_string().contains("unet-resnet50"));
}

#[test]
fn config_round_trips_through_json() {
    for config in [small_unet(), small_resnet()] {
        let json = serde_json::to_string(&config).expect("serialise");
        assert!(json.contains(config.name()), "{json}");
        let back: ModelConfig = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, config);
    }
}

//! Forward + backward on a 2x3x256x256 batch with both architectures (narrow widths, CPU
//! backend), and the loss goes down over a few optimiser steps on a fixed batch.

mod common;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use common::*;
use histoseg_model::ModelConfig;
use histoseg_model::loss::{LossKind, bce_with_logits, soft_dice_loss};

/// A target with a few square "nuclei".
fn target(device: &Device) -> Tensor<4> {
    let mut mask = vec![0.0f32; 2 * 256 * 256];
    for (n, cx, cy) in [(0, 40, 60), (0, 180, 90), (1, 128, 128), (1, 30, 220)] {
        for y in cy - 8..cy + 8 {
            for x in cx - 8..cx + 8 {
                mask[n * 65536 + y * 256 + x] = 1.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(mask, [2, 1, 256, 256]), device)
}

fn train_steps(config: ModelConfig, loss: LossKind, steps: usize) -> Vec<f32> {
    let device = Device::flex().autodiff();
    let mut model = config.init(&device).expect("valid");
    let mut optim = AdamConfig::new().init();
    let (x, y) = (input([2, 3, 256, 256], &device), target(&device));
    (0..steps)
        .map(|_| {
            let l = loss.compute(model.forward(x.clone()), y.clone(), None);
            let value = values(l.clone())[0];
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(1e-2, model.clone(), grads);
            value
        })
        .collect()
}

#[test]
fn unet_learns_a_fixed_batch() {
    // BCE + Dice: the Dice term moves slowly in the first steps, so ask for a steady fall.
    let losses = train_steps(small_unet(), LossKind::BceDice, 6);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    assert!(losses[5] < 0.95 * losses[0], "{losses:?}");
}

#[test]
fn unet_resnet_learns_a_fixed_batch() {
    let losses = train_steps(small_resnet(), LossKind::Bce, 6);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[5] < 0.8 * losses[0], "{losses:?}");
}

#[test]
fn losses_match_their_formulas() {
    let device = Device::flex();
    let logits = Tensor::<4>::from_data(
        TensorData::new(vec![2.0f32, -1.0, 0.0, 30.0], [1, 1, 2, 2]),
        &device,
    );
    let target = Tensor::<4>::from_data(
        TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [1, 1, 2, 2]),
        &device,
    );
    let s = |x: f32| 1.0 / (1.0 + (-x).exp());
    let p = [s(2.0), s(-1.0), s(0.0), s(30.0)];
    let t = [1.0, 0.0, 1.0, 0.0];
    let bce: Vec<f32> = p
        .iter()
        .zip(t)
        .map(|(p, t): (&f32, f32)| -(t * p.max(1e-12).ln() + (1.0 - t) * (1.0 - p).max(1e-12).ln()))
        .collect();
    // 30 logits: ln(1 - sigmoid(30)) underflows in f32; the stable form gives 30.
    let expected_bce = (bce[0] + bce[1] + bce[2] + 30.0) / 4.0;
    let got = values(bce_with_logits(logits.clone(), target.clone(), None))[0];
    assert!((got - expected_bce).abs() < 1e-4, "{got} vs {expected_bce}");
    let weight = Tensor::<4>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 3.0, 0.0], [1, 1, 2, 2]),
        &device,
    );
    let weighted = values(bce_with_logits(
        logits.clone(),
        target.clone(),
        Some(weight),
    ))[0];
    let expected_weighted = (bce[0] + 2.0 * bce[1] + 3.0 * bce[2]) / 4.0;
    assert!((weighted - expected_weighted).abs() < 1e-4);
    let inter: f32 = p.iter().zip(t).map(|(p, t)| p * t).sum();
    let dice = 1.0 - (2.0 * inter + 1.0) / (p.iter().sum::<f32>() + 2.0 + 1.0);
    let got = values(soft_dice_loss(logits, target))[0];
    assert!((got - dice).abs() < 1e-5, "{got} vs {dice}");
}

//! Times training steps (forward, loss, backward, Adam update) of one model at full width:
//! `cargo run --release -p histoseg-model --example train_step -- unet cpu 4 256 3`
//! (model, device, batch, side, timed steps). Prints one JSON line; `bench/train_step.sh`
//! runs it beside the same step in PyTorch.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use histoseg_model::ModelConfig;
use histoseg_model::device::Backend;
use histoseg_model::loss::LossKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let config = ModelConfig::by_name(&arg(0, "unet"))?;
    let backend: Backend = arg(1, "cpu").parse()?;
    let (batch, side, steps): (usize, usize, usize) = (
        arg(2, "4").parse()?,
        arg(3, "256").parse()?,
        arg(4, "3").parse()?,
    );
    let compute = backend.open()?;
    let device = compute.device.clone().autodiff();
    device.seed(0);
    let mut model = config.init(&device)?;
    let mut optim = AdamConfig::new().init();
    let n = batch * 3 * side * side;
    let x = Tensor::<4>::from_data(
        TensorData::new(
            (0..n)
                .map(|i| (i % 255) as f32 / 255.0)
                .collect::<Vec<f32>>(),
            [batch, 3, side, side],
        ),
        &device,
    );
    let y = x.clone().narrow(1, 0, 1).greater_elem(0.5).float();
    let mut times = Vec::new();
    for step in 0..=steps {
        let started = Instant::now();
        let loss = LossKind::BceDice.compute(model.forward(x.clone()), y.clone(), None);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        // Reading a parameter-dependent value waits for the device to finish the step.
        let _ = model
            .forward(x.clone().narrow(0, 0, 1).narrow(2, 0, 32).narrow(3, 0, 32))
            .into_data();
        if step > 0 {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"impl\": \"burn\", \"model\": \"{}\", \"device\": \"{}\", \"batch\": {batch}, \"side\": {side}, \"step_s\": {median:.4}, \"images_per_s\": {:.3}}}",
        config.name(),
        compute.description,
        batch as f64 / median
    );
    Ok(())
}

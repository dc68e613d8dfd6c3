//! Times inference (forward, sigmoid, read back) of a model file on batches of tiles, as
//! `histoseg predict` runs it: `cargo run -p histoseg-model --example infer_step --
//! models/nuclei-default.hsm cpu 4 256 5` (model, device, batch, side, timed batches).
//! Prints one JSON line; `bench/predict_slide.sh` runs it beside the same network in PyTorch.

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use histoseg_model::device::Backend;
use histoseg_model::weights::load_hsm;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let backend: Backend = arg(1, "cpu").parse()?;
    let (batch, side, steps): (usize, usize, usize) = (
        arg(2, "4").parse()?,
        arg(3, "256").parse()?,
        arg(4, "5").parse()?,
    );
    let compute = backend.open()?;
    let (model, spec) = load_hsm(
        arg(0, "models/nuclei-default.hsm").as_ref(),
        &compute.device,
    )?;
    let n = batch * 3 * side * side;
    let input: Vec<f32> = (0..n).map(|i| (i % 255) as f32 / 255.0).collect();
    let mut times = Vec::new();
    for step in 0..=steps {
        let start = Instant::now();
        let x = Tensor::<4>::from_data(
            TensorData::new(input.clone(), [batch, 3, side, side]),
            &compute.device,
        );
        let p = sigmoid(model.forward(x).narrow(1, 0, 1));
        let values = p
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(values.len(), batch * side * side);
        if step > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"impl\": \"burn\", \"device\": \"{}\", \"model\": \"{}\", \"base_width\": {}, \"batch\": {batch}, \"side\": {side}, \"batch_s\": {median:.4}, \"megapixels_per_s\": {:.3}}}",
        compute.description,
        spec.config.name(),
        unet_width(&spec),
        (batch * side * side) as f64 / median / 1e6
    );
    Ok(())
}

/// The U-Net's base width, or 0 for another architecture.
fn unet_width(spec: &histoseg_model::weights::ModelSpec) -> usize {
    match &spec.config {
        histoseg_model::ModelConfig::Unet(c) => c.base_width,
        _ => 0,
    }
}

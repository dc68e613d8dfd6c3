//! burn-wgpu against burn's CPU backend with the same weights and input. On a machine without a
//! GPU this runs on Mesa's lavapipe (installed by scripts/setup.sh); no adapter is a failure,
//! not a skip. The same test runs on a real GPU when one is present.

mod common;

use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use common::*;
use histoseg_model::device::Backend;
use histoseg_model::loss::LossKind;

#[test]
fn wgpu_matches_the_cpu_backend() {
    let gpu = Backend::Wgpu
        .open()
        .expect("a wgpu adapter (lavapipe: mesa-vulkan-drivers)");
    eprintln!("running on {}", gpu.description);
    let cpu = Device::flex();
    for config in [small_unet(), small_resnet()] {
        let model = config.init(&cpu).expect("valid").valid();
        let x = input([2, 3, 64, 48], &cpu);
        let on_cpu = values(model.forward(x.clone()));
        let moved = model.to_device(&gpu.device);
        let on_gpu = values(moved.forward(x.to_device(&gpu.device)));
        let d = max_diff(&on_cpu, &on_gpu);
        assert!(d < 1e-3, "{}: wgpu and CPU differ by {d}", config.name());
    }
}

/// The one-channel head followed by a loss, and one SGD step on its gradients: where kernel
/// fusion went wrong on this machine.
#[test]
fn wgpu_loss_and_gradients_match_the_cpu_backend() {
    let gpu = Backend::Wgpu.open().expect("a wgpu adapter");
    let base = small_unet().init(&Device::flex()).expect("valid");
    let run = |device: Device| {
        let device = device.autodiff();
        let model = base.clone().train().fork(&device);
        let x = input([2, 3, 32, 32], &device);
        let y = input([2, 1, 32, 32], &device).greater_elem(0.5).float();
        let loss = LossKind::BceDice.compute(model.forward(x.clone()), y.clone(), None);
        let first = values(loss.clone())[0];
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = SgdConfig::new().init().step(0.5, model, grads);
        let second = values(LossKind::BceDice.compute(model.forward(x), y, None))[0];
        (first, second)
    };
    let (c, g) = (run(Device::flex()), run(gpu.device.clone()));
    assert!(
        (c.0 - g.0).abs() < 1e-3,
        "loss on CPU {}, on wgpu {}",
        c.0,
        g.0
    );
    assert!(
        (c.1 - g.1).abs() < 1e-3,
        "after a step: CPU {}, wgpu {}",
        c.1,
        g.1
    );
    assert!(c.1 != c.0, "the step changed nothing");
}

/// `auto` never picks a software adapter: lavapipe here (which runs these models about 40 times
/// slower than the CPU backend), a hardware GPU where there is one.
#[test]
fn auto_prefers_a_hardware_gpu_and_otherwise_the_cpu() {
    let wgpu = Backend::Wgpu.open().expect("a wgpu adapter");
    let auto = Backend::Auto.open().expect("auto always finds a device");
    eprintln!("wgpu: {}; auto: {}", wgpu.description, auto.description);
    assert!(!auto.software, "auto chose {}", auto.description);
    if wgpu.software {
        assert!(
            auto.description.starts_with("cpu") && auto.description.contains("software"),
            "{}",
            auto.description
        );
    } else {
        assert_eq!(auto.description, wgpu.description);
    }
}

//! Options shared by the model commands: which device, and opening a model file or run folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use histoseg_model::device::{Backend, ComputeDevice};
use histoseg_model::predict::Predictor;
use histoseg_model::weights::load_hsm;

/// `--device wgpu|cpu`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// Where to run: wgpu (any GPU wgpu finds: Vulkan, Metal, DX12) or cpu.
    #[arg(long, default_value = "wgpu", value_parser = parse_backend)]
    pub device: Backend,
}

fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
}

impl DeviceArgs {
    /// Starts the device and says which one runs on stderr.
    pub fn open(&self) -> anyhow::Result<ComputeDevice> {
        let device = self.device.open()?;
        eprintln!("device: {}", device.description);
        Ok(device)
    }
}

/// A model file, or a run folder (its `best.hsm`).
pub fn model_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("best.hsm")
    } else {
        path.to_path_buf()
    }
}

/// Loads a model file or a run's best checkpoint onto `device`.
pub fn load_predictor(path: &Path, device: &ComputeDevice) -> anyhow::Result<Predictor> {
    let file = model_file(path);
    let (model, spec) = load_hsm(&file, &device.device)
        .with_context(|| format!("cannot load the model {}", file.display()))?;
    Ok(Predictor {
        model,
        spec,
        device: device.device.clone(),
    })
}

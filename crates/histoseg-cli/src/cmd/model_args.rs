//! Options shared by the model commands: which device, and opening a model file or run folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use histoseg_model::device::{Backend, ComputeDevice};
use histoseg_model::predict::Predictor;
use histoseg_model::weights::load_hsm;

/// `--device auto|wgpu|cpu`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// Where to run: auto (a GPU when wgpu finds a hardware one, else the CPU), wgpu (any
    /// adapter wgpu finds: Vulkan, Metal, DX12, or a software one) or cpu.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
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

/// Whether `path` names the shipped model: `default`, where no such file or folder exists.
pub fn is_shipped(path: &Path) -> bool {
    path == Path::new(crate::shipped::NAME) && !path.exists()
}

/// Loads a model file or a run's best checkpoint onto `device`; `None` (or `default`) loads
/// the shipped model.
pub fn load_predictor(path: Option<&Path>, device: &ComputeDevice) -> anyhow::Result<Predictor> {
    let (model, spec) = match path {
        Some(path) if !is_shipped(path) => {
            let file = model_file(path);
            load_hsm(&file, &device.device)
                .with_context(|| format!("cannot load the model {}", file.display()))?
        }
        _ => {
            eprintln!("model: {}", crate::shipped::LABEL);
            crate::shipped::load(device)?
        }
    };
    Ok(Predictor {
        model,
        spec,
        device: device.device.clone(),
        tta: false,
    })
}

//! Picking where tensors live: burn-wgpu (any GPU wgpu finds; lavapipe without one) or burn's
//! CPU backend.

use std::sync::OnceLock;

use burn::prelude::*;

use crate::error::{ModelError, Result};

/// The compute backends this build can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A hardware GPU through wgpu when there is one, else the CPU backend: a software
    /// adapter (lavapipe, llvmpipe, SwiftShader) runs these models about 40 times slower than
    /// burn's CPU backend on the same cores.
    Auto,
    /// burn-wgpu: Vulkan, Metal, DX12 or WebGPU.
    Wgpu,
    /// burn's pure-Rust CPU backend (flex).
    Cpu,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(format!(
                "unknown device {other:?}: expected auto, wgpu or cpu"
            )),
        }
    }
}

/// A ready device and a line saying what it is (adapter name and API for wgpu).
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    /// The burn device.
    pub device: Device,
    /// Human-readable description, e.g. `wgpu: llvmpipe (LLVM 15.0.6, 256 bits) on Vulkan`.
    pub description: String,
    /// Whether the device is a wgpu adapter that renders in software on the CPU.
    pub software: bool,
}

impl Backend {
    /// Starts the backend, or says why it cannot. wgpu starts once per process; later calls
    /// return the same device.
    pub fn open(self) -> Result<ComputeDevice> {
        match self {
            Self::Auto => open_auto(),
            Self::Cpu => open_cpu(),
            Self::Wgpu => open_wgpu(),
        }
    }
}

/// wgpu when its adapter is a real GPU; otherwise the CPU backend, saying why.
fn open_auto() -> Result<ComputeDevice> {
    let why = match open_wgpu() {
        Ok(gpu) if !gpu.software => return Ok(gpu),
        Ok(gpu) => format!("{} renders in software", gpu.description),
        Err(e) => e.to_string(),
    };
    let mut cpu = open_cpu()?;
    cpu.description = format!("{} (auto: {why})", cpu.description);
    Ok(cpu)
}

#[cfg(feature = "cpu")]
fn open_cpu() -> Result<ComputeDevice> {
    Ok(ComputeDevice {
        device: Device::flex(),
        description: "cpu: burn flex".into(),
        software: false,
    })
}

#[cfg(not(feature = "cpu"))]
fn open_cpu() -> Result<ComputeDevice> {
    Err(ModelError::Device(
        "cpu: this build has no CPU backend (feature `cpu`)".into(),
    ))
}

#[cfg(all(feature = "wgpu", not(target_family = "wasm")))]
fn open_wgpu() -> Result<ComputeDevice> {
    static WGPU: OnceLock<std::result::Result<ComputeDevice, String>> = OnceLock::new();
    WGPU.get_or_init(|| {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|e| e.to_string())?;
        let info = setup.adapter.get_info();
        Ok(ComputeDevice {
            device,
            description: format!("wgpu: {} on {:?}", info.name, info.backend),
            software: info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu,
        })
    })
    .clone()
    .map_err(|e| ModelError::Device(format!("wgpu: no usable GPU adapter ({e})")))
}

/// Starts wgpu without blocking, as the browser requires (WebGPU there): the adapter is
/// requested asynchronously. Call it once and keep the device: a second start of the same
/// runtime is refused by burn.
#[cfg(any(feature = "wgpu", feature = "webgpu"))]
pub async fn open_wgpu_async() -> Result<ComputeDevice> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| ModelError::Device(format!("wgpu: no usable GPU adapter ({e})")))?;
    let info = setup.adapter.get_info();
    let name = if info.name.is_empty() {
        "adapter".to_owned()
    } else {
        info.name
    };
    Ok(ComputeDevice {
        device,
        description: format!("wgpu: {name} on {:?}", info.backend),
        software: info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu,
    })
}

#[cfg(not(all(feature = "wgpu", not(target_family = "wasm"))))]
fn open_wgpu() -> Result<ComputeDevice> {
    let _unused: Option<&OnceLock<()>> = None;
    Err(ModelError::Device(
        "wgpu: this build has no native wgpu backend (feature `wgpu`)".into(),
    ))
}

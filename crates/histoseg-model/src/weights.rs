//! Weights on disk: torchvision ResNet-50 import, and the compact `.hsm` model file that the
//! CLI exports and the browser loads from bytes.
//!
//! `.hsm` layout: the bytes `HSM1`, a little-endian `u32` header length, a JSON
//! [`HsmHeader`], then a SafeTensors blob of every tensor (optionally half precision).

use std::path::Path;

use burn::prelude::*;
use burn::store::{
    HalfPrecisionAdapter, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore,
};
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::resnet::ResNetEncoder;
use crate::segmenter::{ModelConfig, Segmenter};

const MAGIC: &[u8; 4] = b"HSM1";

/// Everything needed to run a model besides its tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Architecture and hyper-parameters.
    pub config: ModelConfig,
    /// Whether inputs go through the core's filter chain (Gaussian, sharpen, median) first,
    /// as the training images did.
    pub preprocess: bool,
    /// Patch side the model was trained on: the natural inference tile.
    pub tile: u32,
    /// Probability threshold for the nuclei mask.
    pub threshold: f32,
    /// Smallest nucleus kept, in pixels.
    pub min_area: u32,
    /// Touching nuclei are split where each peak of the distance-to-background map rises this
    /// many pixels above the saddle between them ([`crate::postprocess::instances`]). Models
    /// saved before the split existed read as 2.
    #[serde(default = "default_split_depth")]
    pub split_depth: f32,
    /// Microns per pixel of the training images, where stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpp: Option<f64>,
}

impl ModelSpec {
    /// Microns per pixel the model expects: as stated, else 0.25 (40x, the resolution of
    /// TNBC, MoNuSeg and BreCaHAD, which every model here is trained on).
    pub fn training_mpp(&self) -> f64 {
        self.mpp
            .filter(|m| m.is_finite() && *m > 0.0)
            .unwrap_or(0.25)
    }
}

/// The split depth of models that do not state one.
pub fn default_split_depth() -> f32 {
    2.0
}

/// The JSON header of an `.hsm` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HsmHeader {
    /// How to build and run the model.
    pub spec: ModelSpec,
    /// Weights are stored as f16 (batch-norm statistics stay f32).
    pub half: bool,
}

/// Serialises `model` with its `spec`; `half` stores convolution weights as f16.
pub fn export_hsm(model: &Segmenter, spec: &ModelSpec, half: bool) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    let fail = |e: &dyn std::fmt::Display| ModelError::weights("<export>", e);
    model.save_into(&mut store).map_err(|e| fail(&e))?;
    let tensors = store.get_bytes().map_err(|e| fail(&e))?;
    let header = serde_json::to_vec(&HsmHeader {
        spec: spec.clone(),
        half,
    })
    .map_err(|e| fail(&e))?;
    let mut out = Vec::with_capacity(8 + header.len() + tensors.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&tensors);
    Ok(out)
}

/// Reads only the header of an `.hsm` byte string; `name` labels errors.
pub fn read_hsm_header(bytes: &[u8], name: &str) -> Result<(HsmHeader, usize)> {
    let fail = |p: String| ModelError::weights(name, p);
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(fail(
            "not a histoseg model file (.hsm): the HSM1 signature is missing".into(),
        ));
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let end = 8usize.saturating_add(len);
    if end > bytes.len() {
        return Err(fail(format!(
            "header of {len} bytes runs past the end of the file"
        )));
    }
    let header: HsmHeader = serde_json::from_slice(&bytes[8..end])
        .map_err(|e| fail(format!("header is not a valid model description: {e}")))?;
    header
        .spec
        .config
        .validate()
        .map_err(|e| fail(e.to_string()))?;
    Ok((header, end))
}

/// Builds the model described by an `.hsm` byte string on `device`; `name` labels errors.
pub fn import_hsm(bytes: &[u8], name: &str, device: &Device) -> Result<(Segmenter, ModelSpec)> {
    let (header, start) = read_hsm_header(bytes, name)?;
    let mut model = header.spec.config.init(device)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes[start..].to_vec()));
    if header.half {
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    let result = model
        .load_from(&mut store)
        .map_err(|e| ModelError::weights(name, format!("tensors unreadable: {e}")))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(ModelError::weights(
            name,
            format!(
                "tensors do not fit the {} it describes: {} missing, {} wrong ({:?})",
                header.spec.config.name(),
                result.missing.len(),
                result.errors.len(),
                result
                    .errors
                    .first()
                    .map(ToString::to_string)
                    .or(result.missing.first().map(|m| m.0.clone()))
            ),
        ));
    }
    Ok((model.valid(), header.spec))
}

/// Saves an `.hsm` file (full precision): the trainer's checkpoint format.
pub fn save_hsm(model: &Segmenter, spec: &ModelSpec, half: bool, path: &Path) -> Result<()> {
    let bytes = export_hsm(model, spec, half)?;
    std::fs::write(path, bytes).map_err(|source| ModelError::Io {
        file: path.into(),
        source,
    })
}

/// Loads an `.hsm` file.
pub fn load_hsm(path: &Path, device: &Device) -> Result<(Segmenter, ModelSpec)> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        file: path.into(),
        source,
    })?;
    import_hsm(&bytes, &path.display().to_string(), device)
}

/// What an ImageNet import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// Tensors written into the encoder.
    pub applied: usize,
    /// Tensors in the file the encoder has no place for (torchvision's `fc.*`, counters).
    pub unused: Vec<String>,
}

/// Loads torchvision ResNet-50 weights (`.pth`/`.pt` state dict, or `.safetensors` with
/// torchvision's names) into `encoder`. Every encoder tensor must be found with the right
/// shape; `fc.*` and `num_batches_tracked` are ignored.
pub fn load_torchvision_resnet(encoder: &mut ResNetEncoder, path: &Path) -> Result<ImportReport> {
    let remap = KeyRemapper::new()
        .add_pattern(r"\.downsample\.0\.", ".downsample.conv.")
        .and_then(|r| r.add_pattern(r"\.downsample\.1\.", ".downsample.bn."))
        .map_err(|e| ModelError::weights(path, e))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let result = match extension.as_str() {
        "pth" | "pt" | "bin" => {
            let mut store = PytorchStore::from_file(path)
                .remap(remap)
                .allow_partial(true);
            encoder
                .load_from(&mut store)
                .map_err(|e| ModelError::weights(path, e))?
        }
        "safetensors" => {
            let mut store = SafetensorsStore::from_file(path)
                .remap(remap)
                .with_from_adapter(PyTorchToBurnAdapter)
                .allow_partial(true);
            encoder
                .load_from(&mut store)
                .map_err(|e| ModelError::weights(path, e))?
        }
        _ => {
            return Err(ModelError::weights(
                path,
                "unknown weight format: expected .pth, .pt or .safetensors",
            ));
        }
    };
    if let Some(error) = result.errors.first() {
        return Err(ModelError::weights(
            path,
            format!("does not fit ResNet-50: {error}"),
        ));
    }
    if !result.missing.is_empty() {
        let names: Vec<_> = result
            .missing
            .iter()
            .take(5)
            .map(|m| m.0.as_str())
            .collect();
        return Err(ModelError::weights(
            path,
            format!(
                "not a torchvision ResNet-50 state dict: {} encoder tensors missing (e.g. {})",
                result.missing.len(),
                names.join(", ")
            ),
        ));
    }
    Ok(ImportReport {
        applied: result.applied.len(),
        unused: result.unused,
    })
}

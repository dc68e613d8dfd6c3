//! The nuclei model shipped with histoseg (`models/nuclei-default.hsm`, its card in
//! `models/README.md`), built into the binary so `predict`, `evaluate` and `train --init default`
//! work without a model file.

use histoseg_model::device::ComputeDevice;
use histoseg_model::weights::{ModelSpec, import_hsm, read_hsm_header};
use histoseg_model::{ModelError, Segmenter};

/// What `--model` or `--init` says to mean the shipped model.
pub const NAME: &str = "default";

/// How errors and reports name it.
pub const LABEL: &str = "the shipped model (models/nuclei-default.hsm)";

/// The model file's bytes.
pub static BYTES: &[u8] = include_bytes!("../../../models/nuclei-default.hsm");

/// Builds the shipped model on `device`.
pub fn load(device: &ComputeDevice) -> Result<(Segmenter, ModelSpec), ModelError> {
    import_hsm(BYTES, LABEL, &device.device)
}

/// Its spec, without building it.
pub fn spec() -> Result<ModelSpec, ModelError> {
    Ok(read_hsm_header(BYTES, LABEL)?.0.spec)
}

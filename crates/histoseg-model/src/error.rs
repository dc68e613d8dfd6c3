//! The model crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration value is out of range; the message names the field.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// An input tensor or image has a shape the model cannot take.
    #[error("invalid input: {0}")]
    Input(String),
    /// A weight file could not be read or does not fit the model.
    #[error("weights {file}: {problem}")]
    Weights {
        /// The file (or `<bytes>` for in-memory weights).
        file: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The requested device is not available in this build or on this machine.
    #[error("device {0}")]
    Device(String),
    /// An I/O error on a named file.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ModelError {
    /// A [`ModelError::Weights`] for `file`.
    pub fn weights(file: impl Into<PathBuf>, problem: impl std::fmt::Display) -> Self {
        Self::Weights {
            file: file.into(),
            problem: problem.to_string(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ModelError>;

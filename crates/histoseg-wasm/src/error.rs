//! The one error type of the glue; [`crate::web`] turns it into a JavaScript `Error`.

use thiserror::Error as ThisError;

/// What can go wrong between JavaScript and the core.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The core refused the input (bad slide, bad parameter, bad annotation file).
    #[error(transparent)]
    Core(#[from] histoseg_core::Error),
    /// An argument from JavaScript has the wrong shape or value.
    #[error("{0}")]
    Input(String),
}

/// Shorthand for results of the glue.
pub type Result<T, E = Error> = std::result::Result<T, E>;

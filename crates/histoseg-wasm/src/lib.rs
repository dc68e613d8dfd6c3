//! wasm-bindgen glue of histoseg: the core's slides, tissue regions, fragments, filters,
//! metrics, fragment names and annotation formats, callable from JavaScript.
//!
//! Everything but [`web`] is plain Rust over `Read + Seek` and serde types, so it builds and is
//! tested natively; [`web`] holds the `#[wasm_bindgen]` exports (attributes applied only on
//! wasm targets) and [`blob`] the `Read + Seek` adapter over a `Blob` inside a Web Worker.
//!
//! - [`reader`]: a byte-counting `Read + Seek` wrapper, to prove how little of a file is read.
//! - [`blob`]: `Read + Seek` over `Blob.slice` + `FileReaderSync`, with a small read-ahead.
//! - [`session`]: an opened slide with its cached overview: info, regions, fragments.
//! - [`options`]: the option objects JavaScript passes (camelCase, unknown keys refused).
//! - [`pixels`]: `&[u8]` + width + height to `image` buffers and back.
//! - [`annotations`]: the annotation model as JSON-friendly values and the format conversions.
//! - `inference` (feature `inference`, the separate inference bundle): `.hsm` models on WebGPU
//!   or the CPU.
//! - `slide_run` (feature `inference`): a model over a whole slide's regions, window by window.
#![deny(missing_docs)]

pub mod annotations;
pub mod blob;
mod error;
#[cfg(feature = "inference")]
pub mod inference;
pub mod options;
pub mod pixels;
pub mod reader;
pub mod session;
#[cfg(feature = "inference")]
pub mod slide_run;
pub mod web;

pub use error::{Error, Result};

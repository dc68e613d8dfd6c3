//! The pure-Rust core of histoseg.
//!
//! Everything here works on `image` crate buffers and plain data, and builds for the host and
//! for `wasm32-unknown-unknown` alike: no I/O beyond `Read + Seek`, no GPU, no browser.
//!
//! - [`filters`]: the paper's preprocessing chain (Gaussian 5x5, sharpen 3x3, median 3x3,
//!   scaling to `[0, 1]`), matching OpenCV with reflect-101 borders.
//! - [`rect`]: integer rectangles and the merging of overlapping and nearby boxes.
//! - [`metrics`]: pixel Dice / IoU and point-detection precision / recall / F1.
//! - [`instances`]: nuclei label maps, touching nuclei split by a watershed, AJI and PQ.
//! - [`fragment`]: tissue fragments in level-0 slide pixels and their file-name codec.
//! - [`dataset`]: the paper's data preparation: readers, points to masks, square, tiling
//!   schemes, drop-empty, split by image, D4 augmentation.
//! - [`slide`]: TIFF / BigTIFF / SVS / OME-TIFF pyramids read region by region over `Read + Seek`.
//! - [`morphology`]: binary opening and closing with OpenCV's elliptic kernel.
//! - [`regions`]: tissue detection on a slide overview (threshold, morphology, boxes).
//! - [`jpeg`]: JPEG encoding of fragments and overviews.
//! - [`extract`]: regions mapped to level 0, split into fragments and read from the slide.
//! - [`manifest`]: `manifest.json` of an extraction, written and read through one type.
//! - [`annotations`]: one annotation model in level-0 pixels; Makesense.AI exports of fragments
//!   read back onto the slide; QuPath GeoJSON, COCO and CSV.
//! - [`safe_name`]: names read from files reduced to safe file names.
//! - [`stain`]: colour deconvolution (H&E, H-DAB) and H&E colour augmentation.
//! - [`tissue`]: a slide's tissue regions and tissue area, for densities per mm².
//! - [`nuclei`]: nuclei instances as outlines with QuPath's shape and stain measurements.
#![deny(missing_docs)]

pub mod annotations;
pub mod dataset;
mod error;
pub mod extract;
pub mod filters;
pub mod fragment;
pub mod instances;
pub mod jpeg;
pub mod manifest;
pub mod metrics;
pub mod morphology;
pub mod nuclei;
mod par;
pub mod rect;
pub mod regions;
pub mod safe_name;
pub mod slide;
pub mod stain;
pub mod tissue;
mod union_find;

pub use error::{Error, Result};

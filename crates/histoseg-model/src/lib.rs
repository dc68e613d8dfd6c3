//! histoseg-model: the paper's two segmentation networks in burn, written once for native
//! training (burn-wgpu, CPU) and browser inference (WebGPU).
//!
//! - [`unet`]: U-Net; [`resnet`] + [`unet_resnet`]: U-Net with a ResNet-50 encoder;
//!   [`segmenter`]: either one, any input size.
//! - [`loss`]: BCE (with the U-Net [`weight_map`]), soft Dice, both.
//! - [`infer`]: tiled whole-image inference; [`postprocess`]: mask, nuclei, centres.
//! - [`slide`]: nuclei over a whole slide, window by window, outlined and measured.
//! - [`weights`]: torchvision ResNet-50 import and the `.hsm` model file.
//! - [`device`]: wgpu or CPU.
#![deny(missing_docs)]

pub mod blocks;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod infer;
pub mod loss;
pub mod postprocess;
pub mod predict;
pub mod resnet;
pub mod segmenter;
pub mod slide;
pub mod train;
pub mod unet;
pub mod unet_resnet;
pub mod weight_map;
pub mod weights;

pub use error::{ModelError, Result};
pub use segmenter::{ModelConfig, Segmenter};

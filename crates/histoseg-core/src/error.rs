//! The one error type of the core crate.

use thiserror::Error as ThisError;

/// Everything that can go wrong in the core on user input.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// A fragment file name does not carry the coordinate codec.
    #[error("'{name}' is not a fragment name: {problem}")]
    FragmentName {
        /// The file name as given.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Two images that must have the same size do not.
    #[error("size mismatch: {what} is {a_w}x{a_h} but {other} is {b_w}x{b_h}")]
    SizeMismatch {
        /// Name of the first image.
        what: &'static str,
        /// Width of the first image.
        a_w: u32,
        /// Height of the first image.
        a_h: u32,
        /// Name of the second image.
        other: &'static str,
        /// Width of the second image.
        b_w: u32,
        /// Height of the second image.
        b_h: u32,
    },
    /// A parameter is outside the range an operation accepts.
    #[error("invalid parameter {name}: {problem}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// Why it is refused.
        problem: String,
    },
    /// A slide or image file cannot be opened or read.
    #[error("{file}: {problem}")]
    Slide {
        /// The file (or name) the slide was opened with.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// An annotation file is missing, unreadable or holds invalid data.
    #[error("{file}: {problem}")]
    Annotation {
        /// The annotation file.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A dataset folder or one of its files cannot be used.
    #[error("{path}: {problem}")]
    DatasetInput {
        /// The folder or file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A mask's size differs from its image's.
    #[error("mask {mask} is {mask_w}x{mask_h} but its image {image} is {image_w}x{image_h}")]
    MaskSize {
        /// The image file.
        image: String,
        /// The mask file.
        mask: String,
        /// Width of the image.
        image_w: u32,
        /// Height of the image.
        image_h: u32,
        /// Width of the mask.
        mask_w: u32,
        /// Height of the mask.
        mask_h: u32,
    },
    /// An annotation export is malformed, names an unknown fragment or class, or cannot be
    /// written in the format asked for.
    #[error("{file}{}: {problem}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    AnnotationInput {
        /// The annotation file (or the fragment it was written for).
        file: String,
        /// The 1-based line, where the format has lines.
        line: Option<usize>,
        /// What is wrong.
        problem: String,
    },
}

/// Shorthand for results of the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

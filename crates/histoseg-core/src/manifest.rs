//! `manifest.json`, the record `histoseg extract` writes beside the fragments: per slide its
//! level-0 size, the overview and its downsample, the tissue regions and every fragment with
//! its file. One type for the writer (the CLI) and the readers (annotation lookup).

use serde::{Deserialize, Serialize};

use crate::fragment::Fragment;
use crate::rect::Rect;
use crate::{Error, Result};

/// What one extraction wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// One entry per slide.
    pub slides: Vec<ManifestSlide>,
}

/// One slide of a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestSlide {
    /// The slide's path as it was given.
    #[serde(default)]
    pub slide: String,
    /// Level-0 width.
    pub width: u32,
    /// Level-0 height.
    pub height: u32,
    /// The overview's file name: annotations made on it map back like a fragment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<String>,
    /// The overview's downsample (manifests written before it was recorded lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview_downsample: Option<f64>,
    /// The overview with the regions drawn on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions_image: Option<String>,
    /// Tissue regions in level-0 pixels.
    #[serde(default)]
    pub regions: Vec<Rect>,
    /// The fragments written.
    pub fragments: Vec<ManifestFragment>,
}

/// One fragment of a [`ManifestSlide`]: its file and where it lies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFragment {
    /// The fragment image's file name.
    pub file: String,
    /// Its place on the slide.
    #[serde(flatten)]
    pub fragment: Fragment,
}

impl Manifest {
    /// Reads a manifest; `file` names it in errors.
    ///
    /// ```
    /// use histoseg_core::manifest::Manifest;
    /// let json = r#"{"slides": [{"slide": "a.svs", "width": 100, "height": 80, "fragments": []}]}"#;
    /// let m = Manifest::parse("manifest.json", json).unwrap();
    /// assert_eq!((m.slides[0].width, m.slides[0].overview.as_deref()), (100, None));
    /// assert!(Manifest::parse("manifest.json", "{}").unwrap_err().to_string().contains("manifest.json"));
    /// ```
    pub fn parse(file: &str, json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::AnnotationInput {
            file: file.to_owned(),
            line: Some(e.line()),
            problem: format!("not a fragment manifest: {e}"),
        })
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

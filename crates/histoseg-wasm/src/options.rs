//! The option objects JavaScript passes, in camelCase; unknown keys are refused so a typo is an
//! error instead of a silently ignored setting. Defaults are the native CLI's.

use histoseg_core::fragment::NameStyle;
use histoseg_core::regions::{RegionParams, Threshold};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::{Error, Result};

/// The keys a struct of options accepts, as serde names them (camelCase).
///
/// JavaScript objects are read key by key, so unknown keys would otherwise pass unseen;
/// [`crate::web`] refuses any key not listed here.
///
/// ```
/// use histoseg_wasm::options::{field_names, DetectOptions};
/// assert!(field_names::<DetectOptions>().contains(&"maxSide"));
/// ```
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldCapture(&mut fields));
    fields
}

/// A deserializer that records the fields a struct asks for, then stops.
struct FieldCapture<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldCapture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs have field names"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// `"otsu"` or a fixed level 0-255 (pixels below it are tissue).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ThresholdOption {
    /// A method by name: only `"otsu"`.
    Named(String),
    /// A fixed level; JavaScript numbers arrive as `f64`.
    Level(f64),
}

impl Default for ThresholdOption {
    fn default() -> Self {
        ThresholdOption::Named("otsu".into())
    }
}

impl ThresholdOption {
    fn to_core(&self) -> Result<Threshold> {
        match self {
            ThresholdOption::Named(n) if n.eq_ignore_ascii_case("otsu") => Ok(Threshold::Otsu),
            ThresholdOption::Level(v) if v.fract() == 0.0 && (0.0..=255.0).contains(v) => {
                Ok(Threshold::Fixed(*v as u8))
            }
            ThresholdOption::Named(n) => Err(Error::Input(format!(
                "threshold must be 'otsu' or a whole number 0-255, got '{n}'"
            ))),
            ThresholdOption::Level(v) => Err(Error::Input(format!(
                "threshold must be 'otsu' or a whole number 0-255, got {v}"
            ))),
        }
    }
}

/// Options of `detectRegions` (and the detection half of `extractFragments`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DetectOptions {
    /// Long side of the overview tissue is detected on, in pixels (CLI `--max-side`).
    pub max_side: u32,
    /// Colour channel: 0 red, 1 green, 2 blue.
    pub channel: usize,
    /// `"otsu"` or a level 0-255.
    pub threshold: ThresholdOption,
    /// Radius of the opening kernel (0: none).
    pub open_radius: u32,
    /// Radius of the closing kernel (0: none).
    pub close_radius: u32,
    /// Boxes at most this many overview pixels apart merge.
    pub gap: u32,
    /// Regions smaller than this many overview pixels are dropped.
    pub min_area: u64,
    /// Regions with a smaller share of tissue are dropped (0-1).
    pub min_tissue: f64,
}

impl Default for DetectOptions {
    fn default() -> Self {
        let p = RegionParams::default();
        DetectOptions {
            max_side: 2048,
            channel: p.channel,
            threshold: ThresholdOption::default(),
            open_radius: p.open_radius,
            close_radius: p.close_radius,
            gap: p.gap,
            min_area: p.min_area,
            min_tissue: 0.0,
        }
    }
}

impl DetectOptions {
    /// The core's parameters.
    pub fn region_params(&self) -> Result<RegionParams> {
        if self.max_side == 0 {
            return Err(Error::Input("maxSide must be at least 1 pixel".into()));
        }
        Ok(RegionParams {
            channel: self.channel,
            threshold: self.threshold.to_core()?,
            open_radius: self.open_radius,
            close_radius: self.close_radius,
            gap: self.gap,
            min_area: self.min_area,
            min_tissue_fraction: self.min_tissue,
        })
    }
}

/// Options of `extractFragments`: detection options plus how fragments are cut and encoded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtractOptions {
    /// Long side of the overview tissue is detected on, in pixels.
    pub max_side: u32,
    /// Colour channel: 0 red, 1 green, 2 blue.
    pub channel: usize,
    /// `"otsu"` or a level 0-255.
    pub threshold: ThresholdOption,
    /// Radius of the opening kernel (0: none).
    pub open_radius: u32,
    /// Radius of the closing kernel (0: none).
    pub close_radius: u32,
    /// Boxes at most this many overview pixels apart merge.
    pub gap: u32,
    /// Regions smaller than this many overview pixels are dropped.
    pub min_area: u64,
    /// Regions with a smaller share of tissue are dropped (0-1).
    pub min_tissue: f64,
    /// Downsample of the fragment images (default: the overview's; 1 = full resolution).
    pub downsample: Option<f64>,
    /// Fragments larger than this many pixels on a side are split into tiles.
    pub max_fragment: u32,
    /// JPEG quality, 1-100.
    pub quality: u8,
    /// `"qupath"` or `"safe"` file names.
    pub names: NameStyle,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        let d = DetectOptions::default();
        ExtractOptions {
            max_side: d.max_side,
            channel: d.channel,
            threshold: d.threshold,
            open_radius: d.open_radius,
            close_radius: d.close_radius,
            gap: d.gap,
            min_area: d.min_area,
            min_tissue: d.min_tissue,
            downsample: None,
            max_fragment: 4096,
            quality: 90,
            names: NameStyle::Qupath,
        }
    }
}

impl ExtractOptions {
    /// The detection half.
    pub fn detect(&self) -> DetectOptions {
        DetectOptions {
            max_side: self.max_side,
            channel: self.channel,
            threshold: self.threshold.clone(),
            open_radius: self.open_radius,
            close_radius: self.close_radius,
            gap: self.gap,
            min_area: self.min_area,
            min_tissue: self.min_tissue,
        }
    }

    /// Checks the cutting and encoding options.
    pub fn check(&self) -> Result<()> {
        if !(1..=100).contains(&self.quality) {
            return Err(Error::Input(format!(
                "quality must lie in 1-100, got {}",
                self.quality
            )));
        }
        if let Some(d) = self.downsample
            && !(d.is_finite() && d > 0.0)
        {
            return Err(Error::Input(format!(
                "downsample must be a positive number, got {d}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_options_map_to_the_core_and_typos_are_refused() {
        let o: DetectOptions =
            serde_json::from_str(r#"{"maxSide": 512, "threshold": 200, "minArea": 10}"#)
                .expect("valid");
        let p = o.region_params().expect("valid");
        assert_eq!(
            (o.max_side, p.threshold, p.min_area),
            (512, Threshold::Fixed(200), 10)
        );
        assert_eq!(p.gap, RegionParams::default().gap);
        let typo = serde_json::from_str::<DetectOptions>(r#"{"maxSides": 512}"#);
        assert!(typo.expect_err("unknown").to_string().contains("maxSides"));
        let bad: DetectOptions = serde_json::from_str(r#"{"threshold": "mean"}"#).expect("json");
        assert!(bad.region_params().is_err());
        assert_eq!(field_names::<DetectOptions>().len(), 8);
        assert!(field_names::<ExtractOptions>().contains(&"maxFragment"));
        let e: ExtractOptions = serde_json::from_str(r#"{"names": "safe"}"#).expect("valid");
        assert_eq!(
            (e.names, e.quality, e.max_fragment),
            (NameStyle::Safe, 90, 4096)
        );
    }
}

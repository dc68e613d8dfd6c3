//! Tissue fragments: a region of a slide in level-0 pixels, and the file-name codec that lets
//! annotations made on a fragment image map back onto the full-resolution slide.
//!
//! Two spellings are understood; the first is written by default:
//! - QuPath's tile-export convention, `{stem} [d={d},x={x},y={y},w={w},h={h}].{ext}`, so scripts
//!   written for QuPath's exported tiles read our fragments;
//! - a shell-safe form, `{stem}__d{d}_x{x}_y{y}_w{w}_h{h}.{ext}`.
//!
//! `x, y, w, h` are level-0 pixels; `d` is the downsample of the fragment image, so the image is
//! about `w / d` by `h / d` pixels and fragment pixel `(u, v)` lies at slide pixel
//! `(x + u * d, y + v * d)`. Stems keep spaces, brackets, underscores, dots and non-ASCII
//! letters; the codec is found at the end of the name.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::rect::Rect;
use crate::{Error, Result};

/// How the coordinates are spelled in a fragment's file name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameStyle {
    /// `{stem} [d=4,x=1024,y=2048,w=512,h=512].jpg`, as QuPath exports tiles.
    #[default]
    Qupath,
    /// `{stem}__d4_x1024_y2048_w512_h512.jpg`, with no spaces or brackets.
    Safe,
}

/// A region of a slide, in level-0 pixels, saved as an image at `downsample`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fragment {
    /// The slide's file stem (its name without directory or extension).
    pub source: String,
    /// Left edge in level-0 pixels.
    pub x: u32,
    /// Top edge in level-0 pixels.
    pub y: u32,
    /// Width in level-0 pixels.
    pub w: u32,
    /// Height in level-0 pixels.
    pub h: u32,
    /// Level-0 pixels per fragment-image pixel (1 = full resolution).
    pub downsample: f64,
}

static QUPATH_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?s)(?P<stem>.*) \[d=(?P<d>[^,\]]*),x=(?P<x>[^,\]]*),y=(?P<y>[^,\]]*),w=(?P<w>[^,\]]*),h=(?P<h>[^,\]]*)\](?:\.[A-Za-z0-9]+)?$",
    )
    .unwrap_or_else(|e| unreachable!("valid pattern: {e}"))
});

static SAFE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?s)(?P<stem>.*)__d(?P<d>[0-9.eE+-]+)_x(?P<x>[0-9]+)_y(?P<y>[0-9]+)_w(?P<w>[0-9]+)_h(?P<h>[0-9]+)(?:\.[A-Za-z0-9]+)?$",
    )
    .unwrap_or_else(|e| unreachable!("valid pattern: {e}"))
});

impl Fragment {
    /// A fragment, refusing a downsample that is not a positive finite number.
    pub fn new(source: impl Into<String>, rect: Rect, downsample: f64) -> Result<Self> {
        let source = source.into();
        check_downsample(downsample, &source)?;
        Ok(Fragment {
            source,
            x: rect.x,
            y: rect.y,
            w: rect.w,
            h: rect.h,
            downsample,
        })
    }

    /// The region in level-0 pixels.
    pub fn rect(&self) -> Rect {
        Rect::new(self.x, self.y, self.w, self.h)
    }

    /// Size of the fragment image in its own pixels: `w / d` by `h / d`, rounded, at least 1.
    pub fn image_size(&self) -> (u32, u32) {
        let side = |v: u32| ((f64::from(v) / self.downsample).round().max(1.0)) as u32;
        (side(self.w), side(self.h))
    }

    /// The file name for this fragment with extension `ext` (without the dot).
    ///
    /// ```
    /// use histoseg_core::fragment::{Fragment, NameStyle};
    /// use histoseg_core::rect::Rect;
    /// let f = Fragment::new("CMU-1 small", Rect::new(1024, 0, 512, 256), 4.0).unwrap();
    /// assert_eq!(f.file_name(NameStyle::Qupath, "jpg"), "CMU-1 small [d=4,x=1024,y=0,w=512,h=256].jpg");
    /// assert_eq!(f.file_name(NameStyle::Safe, "jpg"), "CMU-1 small__d4_x1024_y0_w512_h256.jpg");
    /// ```
    pub fn file_name(&self, style: NameStyle, ext: &str) -> String {
        let Fragment {
            source,
            x,
            y,
            w,
            h,
            downsample: d,
        } = self;
        let base = match style {
            NameStyle::Qupath => format!("{source} [d={d},x={x},y={y},w={w},h={h}]"),
            NameStyle::Safe => format!("{source}__d{d}_x{x}_y{y}_w{w}_h{h}"),
        };
        if ext.is_empty() {
            base
        } else {
            format!("{base}.{ext}")
        }
    }

    /// Reads a fragment back from a file name in either style; a directory part is ignored.
    ///
    /// ```
    /// use histoseg_core::fragment::Fragment;
    /// let f = Fragment::parse("out/slide_[2] [d=2.5,x=10,y=20,w=30,h=40].png").unwrap();
    /// assert_eq!((f.source.as_str(), f.x, f.y, f.w, f.h, f.downsample), ("slide_[2]", 10, 20, 30, 40, 2.5));
    /// assert!(Fragment::parse("holiday.jpg").is_err());
    /// ```
    pub fn parse(file_name: &str) -> Result<Self> {
        let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        // Safe names never end like QuPath names (`]` or `].ext`), so trying them first settles
        // stems that themselves look like a QuPath suffix.
        let captures = SAFE_NAME
            .captures(name)
            .or_else(|| QUPATH_NAME.captures(name))
            .ok_or_else(|| Error::FragmentName {
                name: file_name.to_owned(),
                problem: "expected '{stem} [d=D,x=X,y=Y,w=W,h=H].ext' or \
                          '{stem}__dD_xX_yY_wW_hH.ext' at the end of the name"
                    .to_owned(),
            })?;
        let field = |key: &str| captures.name(key).map_or("", |m| m.as_str());
        let bad = |problem: String| Error::FragmentName {
            name: file_name.to_owned(),
            problem,
        };
        let int = |key: &str| {
            field(key).parse::<u32>().map_err(|_| {
                bad(format!(
                    "{key}={:?} is not a whole number of pixels below 2^32",
                    field(key)
                ))
            })
        };
        let downsample = field("d")
            .parse::<f64>()
            .map_err(|_| bad(format!("d={:?} is not a number", field("d"))))?;
        let fragment = Fragment {
            source: field("stem").to_owned(),
            x: int("x")?,
            y: int("y")?,
            w: int("w")?,
            h: int("h")?,
            downsample,
        };
        check_downsample(downsample, file_name)?;
        if fragment.w == 0 || fragment.h == 0 {
            return Err(bad(
                "a fragment must be at least one pixel wide and high".to_owned()
            ));
        }
        Ok(fragment)
    }

    /// Slide (level-0) position of the fragment-image position `(u, v)`.
    ///
    /// ```
    /// use histoseg_core::fragment::Fragment;
    /// use histoseg_core::rect::Rect;
    /// let f = Fragment::new("s", Rect::new(100, 200, 400, 400), 4.0).unwrap();
    /// assert_eq!(f.to_slide(10.0, 0.5), (140.0, 202.0));
    /// assert_eq!(f.to_fragment(140.0, 202.0), (10.0, 0.5));
    /// ```
    pub fn to_slide(&self, u: f64, v: f64) -> (f64, f64) {
        (
            f64::from(self.x) + u * self.downsample,
            f64::from(self.y) + v * self.downsample,
        )
    }

    /// Fragment-image position of the slide (level-0) position `(sx, sy)`.
    pub fn to_fragment(&self, sx: f64, sy: f64) -> (f64, f64) {
        (
            (sx - f64::from(self.x)) / self.downsample,
            (sy - f64::from(self.y)) / self.downsample,
        )
    }
}

/// The downsamples a fragment may have: from 100 times enlarged to a million times reduced
/// (beyond that a slide would be under a pixel, or its picture over any memory).
pub(crate) const DOWNSAMPLES: std::ops::RangeInclusive<f64> = 0.01..=1e6;

pub(crate) fn check_downsample(downsample: f64, name: &str) -> Result<()> {
    if DOWNSAMPLES.contains(&downsample) {
        Ok(())
    } else {
        Err(Error::FragmentName {
            name: name.to_owned(),
            problem: format!(
                "downsample d={downsample} must be a positive number, from {} to {}",
                DOWNSAMPLES.start(),
                DOWNSAMPLES.end()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fragment() -> impl Strategy<Value = Fragment> {
        (
            "[ a-zA-Z0-9_.\\[\\]()éüßø北京-]{0,24}",
            any::<u32>(),
            any::<u32>(),
            1u32..,
            1u32..,
            prop_oneof![Just(1.0), Just(4.0), Just(16.000_812_3), 0.01f64..1000.0],
        )
            .prop_map(|(source, x, y, w, h, downsample)| Fragment {
                source,
                x,
                y,
                w,
                h,
                downsample,
            })
    }

    #[test]
    fn stems_with_awkward_characters_round_trip() {
        for stem in [
            "a b",
            "x [d=1,x=2,y=3,w=4,h=5]",
            "__d1_x2",
            "slide.v2",
            "Ünïcødé 標本",
            "",
        ] {
            for style in [NameStyle::Qupath, NameStyle::Safe] {
                let f = Fragment::new(stem, Rect::new(1, 2, 3, 4), 2.0).expect("valid");
                let name = f.file_name(style, "jpg");
                assert_eq!(Fragment::parse(&name).expect("parses"), f, "{name}");
            }
        }
    }

    #[test]
    fn malformed_names_say_what_is_wrong() {
        let cases = [
            ("photo.jpg", "expected"),
            ("s [d=4,x=-1,y=0,w=1,h=1].jpg", "x=\"-1\""),
            ("s [d=four,x=1,y=0,w=1,h=1].jpg", "d=\"four\""),
            ("s [d=0,x=1,y=0,w=1,h=1].jpg", "positive"),
            ("s [d=1,x=1,y=0,w=0,h=1].jpg", "at least one pixel"),
            ("s__d1_x99999999999_y0_w1_h1.jpg", "below 2^32"),
            ("s [d=NaN,x=1,y=0,w=1,h=1].jpg", "positive"),
        ];
        for (name, expected) in cases {
            let err = Fragment::parse(name).expect_err(name).to_string();
            assert!(err.contains(name), "{err}");
            assert!(err.contains(expected), "{name}: {err}");
        }
    }

    #[test]
    fn directory_parts_and_missing_extension_are_accepted() {
        let f = Fragment::parse("C:\\data\\s [d=1,x=5,y=6,w=7,h=8]").expect("no extension");
        assert_eq!((f.source.as_str(), f.x), ("s", 5));
        let f = Fragment::parse("/tmp/s__d1_x5_y6_w7_h8.tif").expect("safe");
        assert_eq!(f.rect(), Rect::new(5, 6, 7, 8));
    }

    #[test]
    fn image_size_divides_by_downsample() {
        let f = Fragment::new("s", Rect::new(0, 0, 1000, 3), 4.0).expect("valid");
        assert_eq!(f.image_size(), (250, 1));
    }

    proptest! {
        #[test]
        fn names_round_trip(f in fragment(), safe in any::<bool>(), ext in "(jpg|png|tif|)") {
            let style = if safe { NameStyle::Safe } else { NameStyle::Qupath };
            let name = f.file_name(style, &ext);
            prop_assert_eq!(Fragment::parse(&name).expect("own names parse"), f);
        }

        #[test]
        fn coordinates_round_trip(f in fragment(), u in -10.0f64..5000.0, v in -10.0f64..5000.0) {
            let (sx, sy) = f.to_slide(u, v);
            let (u2, v2) = f.to_fragment(sx, sy);
            prop_assert!((u - u2).abs() < 1e-6 * (1.0 + u.abs()));
            prop_assert!((v - v2).abs() < 1e-6 * (1.0 + v.abs()));
        }
    }
}

//! Nucleus points to segmentation masks: a filled disk around each annotated centre.
//!
//! Points come in normalised image coordinates (BreCaHAD's JSON: `x`, `y` in `[0, 1]`, origin
//! top-left) and are scaled to pixels as `x * width`, `y * height`; a pixel `(i, j)` belongs
//! to a disk when its centre `(i + 0.5, j + 0.5)` lies within `radius` of the point. Masks are
//! 8-bit, 255 on nuclei and 0 elsewhere.
//!
//! **Default radius: [`DEFAULT_RADIUS_PX`] = 16 px** at the source resolution. BreCaHAD's
//! `all_cells.csv` boxes each of its 23,496 cells; the median tumour-nucleus box is 37 x 36 px
//! and the median non-tumour one 38 x 32 px, so the disk inscribed in a median box has a
//! radius of 16 to 18 px. We take the lower end: annotators draw boxes with a margin around
//! the nucleus, and a slightly smaller disk keeps touching nuclei apart more often. Other
//! datasets or magnifications should set the radius to about half their nucleus diameter.

use image::{GrayImage, Luma};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Disk radius in source pixels used when none is given; see the module docs for why.
pub const DEFAULT_RADIUS_PX: f32 = 16.0;

/// A point in normalised image coordinates (`0..=1` on both axes, origin top-left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NormPoint {
    /// Fraction of the width from the left edge.
    pub x: f64,
    /// Fraction of the height from the top edge.
    pub y: f64,
}

impl NormPoint {
    /// The point in pixels of a `width x height` image.
    pub fn to_px(self, width: u32, height: u32) -> (f32, f32) {
        (
            (self.x * f64::from(width)) as f32,
            (self.y * f64::from(height)) as f32,
        )
    }

    /// Whether both coordinates lie in `[0, 1]` (NaN does not).
    pub fn is_valid(self) -> bool {
        (0.0..=1.0).contains(&self.x) && (0.0..=1.0).contains(&self.y)
    }
}

/// The pixel that contains the point `(px, py)` (clamped to the image).
pub fn pixel_of(px: f32, py: f32, width: u32, height: u32) -> (u32, u32) {
    let clamp = |v: f32, len: u32| (v.floor().max(0.0) as u32).min(len.saturating_sub(1));
    (clamp(px, width), clamp(py, height))
}

/// Draws a filled disk of `radius` pixels around each point (in pixels) into `mask` (255).
pub fn draw_disks(mask: &mut GrayImage, points_px: &[(f32, f32)], radius: f32) {
    let (w, h) = mask.dimensions();
    if w == 0 || h == 0 {
        return;
    }
    let r2 = radius * radius;
    for &(px, py) in points_px {
        // Always mark the pixel holding the point, so even a radius below half a pixel
        // leaves the nucleus labelled.
        let (cx, cy) = pixel_of(px, py, w, h);
        mask.put_pixel(cx, cy, Luma([255]));
        let x0 = (px - radius - 0.5).floor().max(0.0) as u32;
        let y0 = (py - radius - 0.5).floor().max(0.0) as u32;
        let x1 = ((px + radius).ceil().max(0.0) as u32).min(w - 1);
        let y1 = ((py + radius).ceil().max(0.0) as u32).min(h - 1);
        for y in y0..=y1 {
            let dy = y as f32 + 0.5 - py;
            for x in x0..=x1 {
                let dx = x as f32 + 0.5 - px;
                if dx * dx + dy * dy <= r2 {
                    mask.put_pixel(x, y, Luma([255]));
                }
            }
        }
    }
}

/// A `width x height` mask with a disk of `radius` pixels around each normalised point.
///
/// Refuses a radius that is negative or not finite, and points outside `[0, 1]` (naming the
/// first such point).
///
/// ```
/// use histoseg_core::dataset::points::{NormPoint, points_to_mask};
/// let mask = points_to_mask(10, 10, &[NormPoint { x: 0.5, y: 0.5 }], 1.0).unwrap();
/// // The centre (5, 5) sits on a pixel corner: the four pixels around it are inside.
/// let on: Vec<(u32, u32)> = mask.enumerate_pixels().filter(|p| p.2[0] == 255).map(|p| (p.0, p.1)).collect();
/// assert_eq!(on, vec![(4, 4), (5, 4), (4, 5), (5, 5)]);
/// ```
pub fn points_to_mask(
    width: u32,
    height: u32,
    points: &[NormPoint],
    radius: f32,
) -> Result<GrayImage> {
    if !(radius.is_finite() && radius >= 0.0) {
        return Err(Error::InvalidParameter {
            name: "radius",
            problem: format!("{radius} is not a non-negative number of pixels"),
        });
    }
    if let Some((i, p)) = points.iter().enumerate().find(|(_, p)| !p.is_valid()) {
        return Err(Error::InvalidParameter {
            name: "points",
            problem: format!("point {i} ({}, {}) lies outside [0, 1]", p.x, p.y),
        });
    }
    let px: Vec<(f32, f32)> = points.iter().map(|p| p.to_px(width, height)).collect();
    let mut mask = GrayImage::new(width, height);
    draw_disks(&mut mask, &px, radius);
    Ok(mask)
}

/// The points of the chosen classes in a BreCaHAD ground-truth JSON file
/// (`{"tumor": [{"x": 0.41, "y": 0.07}, ...], "non_tumor": [...], ...}`).
///
/// `file` names the file in errors. Every chosen class must be a key of the file (so a typo
/// such as `tumour` is an error, not an empty mask), and every point must lie in `[0, 1]`.
///
/// ```
/// use histoseg_core::dataset::points::parse_brecahad_json;
/// let json = r#"{"tumor": [{"x": 0.5, "y": 0.25}], "non_tumor": [], "mitosis": [{"x": 0.1, "y": 0.1}]}"#;
/// let classes = ["tumor".to_string(), "non_tumor".to_string()];
/// let pts = parse_brecahad_json(json, &classes, "a.json").unwrap();
/// assert_eq!(pts.len(), 1);
/// assert_eq!((pts[0].x, pts[0].y), (0.5, 0.25));
/// ```
pub fn parse_brecahad_json(text: &str, classes: &[String], file: &str) -> Result<Vec<NormPoint>> {
    let bad = |problem: String| Error::Annotation {
        file: file.to_string(),
        problem,
    };
    let parsed: std::collections::BTreeMap<String, Vec<NormPoint>> = serde_json::from_str(text)
        .map_err(|e| {
            bad(format!(
                "not BreCaHAD ground truth ({{class: [{{x, y}}]}}): {e}"
            ))
        })?;
    let mut out = Vec::new();
    for class in classes {
        let points = parsed.get(class).ok_or_else(|| {
            let known: Vec<&str> = parsed.keys().map(String::as_str).collect();
            bad(format!(
                "no class '{class}' (the file has: {})",
                known.join(", ")
            ))
        })?;
        for (i, p) in points.iter().enumerate() {
            if !p.is_valid() {
                return Err(bad(format!(
                    "point {i} of class '{class}' ({}, {}) lies outside [0, 1]",
                    p.x, p.y
                )));
            }
        }
        out.extend_from_slice(points);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn disks_equal_a_naive_distance_test(
            w in 1u32..60, h in 1u32..60, r in 0.0f32..12.0,
            pts in proptest::collection::vec((0.0f64..=1.0, 0.0f64..=1.0), 0..5),
        ) {
            let points: Vec<NormPoint> = pts.iter().map(|&(x, y)| NormPoint { x, y }).collect();
            let mask = points_to_mask(w, h, &points, r).unwrap_or_default();
            for (x, y, v) in mask.enumerate_pixels() {
                let inside = points.iter().any(|p| {
                    let (px, py) = p.to_px(w, h);
                    let (dx, dy) = (x as f32 + 0.5 - px, y as f32 + 0.5 - py);
                    dx * dx + dy * dy <= r * r || pixel_of(px, py, w, h) == (x, y)
                });
                prop_assert_eq!(v[0] == 255, inside, "pixel ({}, {})", x, y);
            }
        }
    }

    #[test]
    fn bad_radius_and_points_are_refused() {
        let p = [NormPoint { x: 0.5, y: 0.5 }];
        assert!(points_to_mask(4, 4, &p, -1.0).is_err());
        assert!(points_to_mask(4, 4, &p, f32::NAN).is_err());
        let bad = [NormPoint { x: 0.5, y: 1.2 }];
        let err = points_to_mask(4, 4, &bad, 2.0)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("outside [0, 1]") && err.contains("1.2"),
            "{err}"
        );
    }
}

//! A training set from a slide and the annotations made on it (the page's or QuPath's GeoJSON
//! export, in level-0 pixels): each cluster of annotations becomes one source image, read at
//! level 0 around them, with its mask drawn from them: polygons filled, rectangles filled as
//! the ellipse they bound (a box around a nucleus), points as disks.
//!
//! Everything inside a cluster's area that is not annotated is taken as background, so a lab
//! annotates every nucleus of the areas it works on, as it does for a count.

use std::io::{Read, Seek};

use image::{GrayImage, Luma, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_filled_ellipse_mut, draw_polygon_mut};
use imageproc::point::Point;

use crate::annotations::{Annotation, Geometry};
use crate::rect::{Rect, merge_near};
use crate::slide::Slide;
use crate::{Error, Result};

/// How annotations become areas and masks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaOptions {
    /// Radius in level-0 pixels of the disk drawn for a point.
    pub radius_px: f32,
    /// Level-0 pixels of context kept around each annotation.
    pub margin: u32,
    /// Annotations whose areas come within this many pixels form one area.
    pub gap: u32,
    /// Longest side of one area; larger clusters are cut into pieces of at most this.
    pub max_side: u32,
}

impl Default for AreaOptions {
    fn default() -> Self {
        Self {
            radius_px: 8.0,
            margin: 32,
            gap: 64,
            max_side: 2048,
        }
    }
}

/// One annotated area: where it lies on the slide, its pixels and its mask.
#[derive(Debug, Clone)]
pub struct AnnotatedArea {
    /// Level-0 rectangle.
    pub rect: Rect,
    /// Level-0 pixels.
    pub image: RgbImage,
    /// 255 where an annotation lies, 0 elsewhere.
    pub mask: GrayImage,
    /// Annotations drawn into it.
    pub annotations: usize,
}

/// The level-0 bounding box of an annotation (points grown by `radius`), or `None` when its
/// coordinates are not finite or it lies wholly outside `width x height`.
fn bounds(a: &Annotation, radius: f64, width: u32, height: u32) -> Option<Rect> {
    let (x0, y0, x1, y1) = match &a.geometry {
        Geometry::Point { x, y } => (x - radius, y - radius, x + radius, y + radius),
        Geometry::Rect { x, y, w, h } => (*x, *y, x + w, y + h),
        Geometry::Polygon(v) => v.iter().fold(
            (
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ),
            |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
        ),
    };
    if ![x0, y0, x1, y1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let clamp = |v: f64, max: u32| v.clamp(0.0, f64::from(max)) as u32;
    let (l, t, r, b) = (
        clamp(x0.floor(), width),
        clamp(y0.floor(), height),
        clamp(x1.ceil(), width),
        clamp(y1.ceil(), height),
    );
    (r > l && b > t).then(|| Rect::new(l, t, r - l, b - t))
}

fn grow(r: Rect, by: u32, width: u32, height: u32) -> Rect {
    let (x, y) = (r.x.saturating_sub(by), r.y.saturating_sub(by));
    let right = (r.right() + u64::from(by)).min(u64::from(width)) as u32;
    let bottom = (r.bottom() + u64::from(by)).min(u64::from(height)) as u32;
    Rect::new(x, y, right - x, bottom - y)
}

/// `r` cut into pieces of at most `side` x `side`.
fn pieces(r: Rect, side: u32) -> Vec<Rect> {
    let side = side.max(1);
    let mut out = Vec::new();
    for y in (r.y..r.y + r.h).step_by(side as usize) {
        for x in (r.x..r.x + r.w).step_by(side as usize) {
            out.push(Rect::new(
                x,
                y,
                side.min(r.x + r.w - x),
                side.min(r.y + r.h - y),
            ));
        }
    }
    out
}

/// Draws `a` into `mask`, whose top-left corner lies at level-0 `(ox, oy)`.
fn draw(mask: &mut GrayImage, a: &Annotation, ox: f64, oy: f64, radius: f32) {
    let on = Luma([255u8]);
    match &a.geometry {
        Geometry::Point { x, y } => {
            let c = ((x - ox).round() as i32, (y - oy).round() as i32);
            draw_filled_circle_mut(mask, c, radius.round().max(1.0) as i32, on);
        }
        Geometry::Rect { x, y, w, h } => {
            let c = (
                (x - ox + w / 2.0).round() as i32,
                (y - oy + h / 2.0).round() as i32,
            );
            let (rx, ry) = ((w / 2.0).round() as i32, (h / 2.0).round() as i32);
            draw_filled_ellipse_mut(mask, c, rx.max(1), ry.max(1), on);
        }
        Geometry::Polygon(v) => {
            let mut points: Vec<Point<i32>> = v
                .iter()
                .map(|&(x, y)| Point::new((x - ox).round() as i32, (y - oy).round() as i32))
                .collect();
            points.dedup();
            // imageproc refuses a closed ring (first == last) and needs three corners.
            while points.len() > 1 && points.first() == points.last() {
                points.pop();
            }
            if points.len() >= 3 {
                draw_polygon_mut(mask, &points, on);
            }
        }
    }
}

/// The annotated areas of `slide`: annotations grouped by proximity, each area read at level 0
/// with its mask. Annotations outside the slide or with non-finite coordinates are skipped
/// and counted in the second value. Memory is bounded by `max_side` per area.
pub fn annotated_areas<R: Read + Seek>(
    slide: &mut Slide<R>,
    annotations: &[Annotation],
    opts: &AreaOptions,
) -> Result<(Vec<AnnotatedArea>, usize)> {
    if !(opts.radius_px.is_finite() && opts.radius_px >= 0.0) || opts.max_side < 16 {
        return Err(Error::InvalidParameter {
            name: "area options",
            problem: format!(
                "radius {} must be at least 0 and the area side {} at least 16",
                opts.radius_px, opts.max_side
            ),
        });
    }
    let (width, height) = slide.level_dimensions(0).unwrap_or((0, 0));
    let radius = f64::from(opts.radius_px);
    let mut boxes = Vec::new();
    let mut skipped = 0;
    for a in annotations {
        match bounds(a, radius, width, height) {
            Some(b) => boxes.push((a, b)),
            None => skipped += 1,
        }
    }
    let grown: Vec<Rect> = boxes
        .iter()
        .map(|(_, b)| grow(*b, opts.margin, width, height))
        .collect();
    let mut areas = merge_near(&grown, opts.gap);
    areas.sort_by_key(|r| (r.y, r.x));
    let mut out = Vec::new();
    for area in areas.into_iter().flat_map(|a| pieces(a, opts.max_side)) {
        let image = slide.read_region(0, area)?;
        let mut mask = GrayImage::new(area.w, area.h);
        let mut drawn = 0;
        for (a, b) in &boxes {
            if b.intersection(&area).is_some() {
                draw(
                    &mut mask,
                    a,
                    f64::from(area.x),
                    f64::from(area.y),
                    opts.radius_px,
                );
                drawn += 1;
            }
        }
        out.push(AnnotatedArea {
            rect: area,
            image,
            mask,
            annotations: drawn,
        });
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_points_and_polygons_give_their_bounds_clipped_to_the_slide() {
        let p = Annotation::new("n", Geometry::Point { x: 5.0, y: 5.0 });
        assert_eq!(bounds(&p, 8.0, 100, 100), Some(Rect::new(0, 0, 13, 13)));
        let r = Annotation::new(
            "n",
            Geometry::Rect {
                x: 90.0,
                y: 10.0,
                w: 20.0,
                h: 5.0,
            },
        );
        assert_eq!(bounds(&r, 8.0, 100, 100), Some(Rect::new(90, 10, 10, 5)));
        let poly = Annotation::new(
            "n",
            Geometry::Polygon(vec![(1.0, 2.0), (9.5, 3.0), (4.0, 8.0)]),
        );
        assert_eq!(bounds(&poly, 8.0, 100, 100), Some(Rect::new(1, 2, 9, 6)));
        let outside = Annotation::new("n", Geometry::Point { x: 500.0, y: 5.0 });
        assert_eq!(bounds(&outside, 8.0, 100, 100), None);
        let nan = Annotation::new(
            "n",
            Geometry::Point {
                x: f64::NAN,
                y: 5.0,
            },
        );
        assert_eq!(bounds(&nan, 8.0, 100, 100), None);
    }

    #[test]
    fn large_areas_are_cut_into_bounded_pieces() {
        let parts = pieces(Rect::new(10, 20, 250, 100), 100);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], Rect::new(210, 20, 50, 100));
        assert_eq!(
            parts
                .iter()
                .map(|r| u64::from(r.w) * u64::from(r.h))
                .sum::<u64>(),
            25_000
        );
    }

    #[test]
    fn shapes_are_drawn_filled_in_area_coordinates() {
        let mut mask = GrayImage::new(40, 40);
        draw(
            &mut mask,
            &Annotation::new("n", Geometry::Point { x: 110.0, y: 210.0 }),
            100.0,
            200.0,
            3.0,
        );
        assert_eq!(mask[(10, 10)][0], 255);
        assert_eq!(mask[(10, 14)][0], 0);
        let closed = vec![
            (120.0, 220.0),
            (130.0, 220.0),
            (130.0, 230.0),
            (120.0, 220.0),
        ];
        draw(
            &mut mask,
            &Annotation::new("n", Geometry::Polygon(closed)),
            100.0,
            200.0,
            3.0,
        );
        assert_eq!(mask[(28, 22)][0], 255);
        draw(
            &mut mask,
            &Annotation::new(
                "n",
                Geometry::Rect {
                    x: 100.0,
                    y: 230.0,
                    w: 10.0,
                    h: 6.0,
                },
            ),
            100.0,
            200.0,
            3.0,
        );
        assert_eq!(mask[(5, 33)][0], 255);
        assert_eq!(
            mask[(0, 30)][0],
            0,
            "a box is drawn as the ellipse it bounds"
        );
    }
}

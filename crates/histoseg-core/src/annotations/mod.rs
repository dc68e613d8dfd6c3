//! One annotation model, in level-0 slide pixels, and the formats it is read from and written to.
//!
//! Every format reads into and writes from [`Annotation`]: a class name and a [`Geometry`]
//! (point, axis-aligned rectangle or polygon) in level-0 slide pixels, origin top-left, x right,
//! y down, as `f64`.
//!
//! - [`makesense`]: the exports of Makesense.AI made on fragment images (YOLO + `labels.txt`,
//!   Pascal VOC XML, CSV rectangles, CSV points, COCO JSON, VGG JSON), mapped back onto the
//!   slide through the fragment named in the export ([`FragmentLookup`]); and the same formats
//!   written for a fragment.
//! - [`geojson`]: QuPath-importable GeoJSON.
//! - [`coco`]: COCO JSON for a whole slide.
//! - [`csv`]: one CSV row per annotation.
//!
//! Readers never drop an annotation silently: what they cannot read is an
//! [`crate::Error::AnnotationInput`] naming the file (and line), and
//! what they read but doubt (coordinates outside the fragment, an image size that differs from
//! the fragment's) is kept and listed as a [`Warning`].

pub mod coco;
pub mod csv;
pub mod detections;
pub mod geojson;
mod lookup;
pub mod makesense;

use std::collections::{BTreeMap, HashSet};
use std::fmt;

pub use lookup::FragmentLookup;

use crate::fragment::Fragment;
use crate::{Error, Result};

/// The shape of an annotation, in level-0 slide pixels (or fragment pixels inside a format).
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A single position, such as a nucleus centre.
    Point {
        /// Column.
        x: f64,
        /// Row.
        y: f64,
    },
    /// An axis-aligned box from its top-left corner and size.
    Rect {
        /// Left edge.
        x: f64,
        /// Top edge.
        y: f64,
        /// Width.
        w: f64,
        /// Height.
        h: f64,
    },
    /// A simple polygon, its vertices in order, the ring not closed (last != first).
    Polygon(Vec<(f64, f64)>),
}

/// The kinds of [`Geometry`], for formats that carry only some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// [`Geometry::Point`].
    Point,
    /// [`Geometry::Rect`].
    Rect,
    /// [`Geometry::Polygon`].
    Polygon,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Point => "point",
            Shape::Rect => "rectangle",
            Shape::Polygon => "polygon",
        })
    }
}

impl Geometry {
    /// Which kind of geometry this is.
    pub fn shape(&self) -> Shape {
        match self {
            Geometry::Point { .. } => Shape::Point,
            Geometry::Rect { .. } => Shape::Rect,
            Geometry::Polygon(_) => Shape::Polygon,
        }
    }

    /// A polygon from `vertices`, with a closing vertex (equal to the first) removed; an
    /// axis-aligned rectangle spelled as `(x, y), (x + w, y), (x + w, y + h), (x, y + h)` (the
    /// order every writer here uses) becomes a [`Geometry::Rect`].
    ///
    /// ```
    /// use histoseg_core::annotations::Geometry;
    /// let ring = vec![(1.0, 2.0), (5.0, 2.0), (5.0, 4.0), (1.0, 4.0), (1.0, 2.0)];
    /// assert_eq!(Geometry::from_ring(ring), Geometry::Rect { x: 1.0, y: 2.0, w: 4.0, h: 2.0 });
    /// let triangle = vec![(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)];
    /// assert_eq!(Geometry::from_ring(triangle.clone()), Geometry::Polygon(triangle));
    /// ```
    pub fn from_ring(mut vertices: Vec<(f64, f64)>) -> Geometry {
        if vertices.len() > 1 && vertices.first() == vertices.last() {
            vertices.pop();
        }
        if let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = vertices[..]
            && y1 == y0
            && x2 == x1
            && y3 == y2
            && x3 == x0
            && x1 > x0
            && y2 > y0
        {
            return Geometry::Rect {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y2 - y0,
            };
        }
        Geometry::Polygon(vertices)
    }

    /// The outline as a polygon: a rectangle's four corners from the top-left, clockwise on
    /// screen; a point as itself.
    pub fn vertices(&self) -> Vec<(f64, f64)> {
        match *self {
            Geometry::Point { x, y } => vec![(x, y)],
            Geometry::Rect { x, y, w, h } => vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
            Geometry::Polygon(ref v) => v.clone(),
        }
    }

    /// Bounding box `(x_min, y_min, x_max, y_max)`; `None` for a polygon without vertices.
    pub fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        let vertices = self.vertices();
        let (&(x, y), rest) = vertices.split_first()?;
        Some(rest.iter().fold((x, y, x, y), |(a, b, c, d), &(x, y)| {
            (a.min(x), b.min(y), c.max(x), d.max(y))
        }))
    }

    /// The geometry with every position moved by `map`, which must keep the axes' directions
    /// (a translation and a positive scale, as between fragment and slide pixels).
    pub fn map(&self, map: impl Fn(f64, f64) -> (f64, f64)) -> Geometry {
        match *self {
            Geometry::Point { x, y } => {
                let (x, y) = map(x, y);
                Geometry::Point { x, y }
            }
            Geometry::Rect { x, y, w, h } => {
                let (x0, y0) = map(x, y);
                let (x1, y1) = map(x + w, y + h);
                Geometry::Rect {
                    x: x0,
                    y: y0,
                    w: x1 - x0,
                    h: y1 - y0,
                }
            }
            Geometry::Polygon(ref v) => {
                Geometry::Polygon(v.iter().map(|&(x, y)| map(x, y)).collect())
            }
        }
    }

    /// Area in square pixels (0 for a point), by the shoelace formula for polygons.
    pub fn area(&self) -> f64 {
        match self {
            Geometry::Point { .. } => 0.0,
            Geometry::Rect { w, h, .. } => (w * h).abs(),
            Geometry::Polygon(v) => {
                let n = v.len();
                let twice: f64 = (0..n)
                    .map(|i| {
                        let (a, b) = (v[i], v[(i + 1) % n]);
                        a.0 * b.1 - b.0 * a.1
                    })
                    .sum();
                twice.abs() / 2.0
            }
        }
    }

    fn is_finite(&self) -> bool {
        self.vertices()
            .iter()
            .all(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// One annotation: a class name and a geometry in level-0 slide pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// The class (label) name, such as `"nucleus"` or `"tumour"`.
    pub class: String,
    /// Where it is.
    pub geometry: Geometry,
}

impl Annotation {
    /// An annotation of `class` at `geometry`.
    pub fn new(class: impl Into<String>, geometry: Geometry) -> Self {
        Annotation {
            class: class.into(),
            geometry,
        }
    }

    /// The annotation in slide pixels, from fragment-image pixels of `fragment`.
    ///
    /// ```
    /// use histoseg_core::annotations::{Annotation, Geometry};
    /// use histoseg_core::fragment::Fragment;
    /// let f = Fragment::parse("s [d=4,x=100,y=200,w=400,h=400].jpg").unwrap();
    /// let on_fragment = Annotation::new("nucleus", Geometry::Rect { x: 10.0, y: 5.0, w: 2.0, h: 3.0 });
    /// let on_slide = on_fragment.to_slide(&f);
    /// assert_eq!(on_slide.geometry, Geometry::Rect { x: 140.0, y: 220.0, w: 8.0, h: 12.0 });
    /// assert_eq!(on_slide.to_fragment(&f), on_fragment);
    /// ```
    pub fn to_slide(&self, fragment: &Fragment) -> Annotation {
        Annotation::new(
            self.class.clone(),
            self.geometry.map(|u, v| fragment.to_slide(u, v)),
        )
    }

    /// The annotation in fragment-image pixels of `fragment`, from slide pixels.
    pub fn to_fragment(&self, fragment: &Fragment) -> Annotation {
        Annotation::new(
            self.class.clone(),
            self.geometry.map(|x, y| fragment.to_fragment(x, y)),
        )
    }
}

/// Something a reader kept but doubts, listed for the user: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The annotation file.
    pub file: String,
    /// The 1-based line, where the format has lines.
    pub line: Option<usize>,
    /// What is doubtful.
    pub problem: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.file, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

/// Annotations read from fragment exports, in level-0 pixels, grouped by slide (the fragments'
/// `source`), with the warnings met on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// Slide stem -> its annotations, in the order read.
    pub slides: BTreeMap<String, Vec<Annotation>>,
    /// What was kept but doubted.
    pub warnings: Vec<Warning>,
    /// `(file, problem)` of the warnings given once per file: a set, so that checking stays
    /// linear in the rows read.
    given_once: HashSet<(String, String)>,
}

/// Where in an annotation file something was read, for errors and warnings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    pub file: &'a str,
    pub line: Option<usize>,
}

impl<'a> At<'a> {
    pub fn file(file: &'a str) -> Self {
        At { file, line: None }
    }

    pub fn line(file: &'a str, line: usize) -> Self {
        At {
            file,
            line: Some(line),
        }
    }

    pub fn error(&self, problem: impl Into<String>) -> Error {
        Error::AnnotationInput {
            file: self.file.to_owned(),
            line: self.line,
            problem: problem.into(),
        }
    }

    pub fn warning(&self, problem: impl Into<String>) -> Warning {
        Warning {
            file: self.file.to_owned(),
            line: self.line,
            problem: problem.into(),
        }
    }
}

impl Imported {
    /// All annotations of every slide, in slide order.
    pub fn len(&self) -> usize {
        self.slides.values().map(Vec::len).sum()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `other`'s annotations and warnings after this one's.
    pub fn extend(&mut self, other: Imported) {
        for (slide, annotations) in other.slides {
            self.slides.entry(slide).or_default().extend(annotations);
        }
        self.warnings.extend(other.warnings);
    }

    /// Warns when the image size an export records differs from the fragment's.
    pub(crate) fn check_size(
        &mut self,
        at: At<'_>,
        name: &str,
        fragment: &Fragment,
        recorded: (f64, f64),
    ) {
        let (w, h) = fragment.image_size();
        if recorded != (f64::from(w), f64::from(h)) {
            let warning = at.warning(format!(
                "the export gives '{name}' as {}x{} but the fragment image is {w}x{h}; \
                 coordinates are taken as fragment pixels unchanged",
                recorded.0, recorded.1
            ));
            // Once per file and fragment, not once per row.
            if self
                .given_once
                .insert((warning.file.clone(), warning.problem.clone()))
            {
                self.warnings.push(warning);
            }
        }
    }

    /// Adds an annotation read in fragment pixels of `fragment`, mapped onto the slide; warns
    /// when it reaches outside the fragment image by more than `slack` (x, y) pixels, the
    /// rounding the export format implies.
    pub(crate) fn add_on_fragment(
        &mut self,
        at: At<'_>,
        name: &str,
        fragment: &Fragment,
        annotation: Annotation,
        slack: (f64, f64),
    ) -> Result<()> {
        if !annotation.geometry.is_finite() {
            return Err(at.error("coordinates must be finite numbers"));
        }
        if let Geometry::Polygon(v) = &annotation.geometry
            && v.len() < 3
        {
            return Err(at.error(format!(
                "a polygon needs at least 3 vertices, got {}",
                v.len()
            )));
        }
        let (w, h) = fragment.image_size();
        if let Some((x0, y0, x1, y1)) = annotation.geometry.bounds() {
            let (w, h) = (f64::from(w), f64::from(h));
            // Floating-point noise of denormalising (719.0000000000001 for 719) on top.
            let (sx, sy) = (slack.0 + 1e-9 * w, slack.1 + 1e-9 * h);
            if x0 < -sx || y0 < -sy || x1 > w + sx || y1 > h + sy {
                self.warnings.push(at.warning(format!(
                    "{} '{}' reaches ({x0}, {y0})-({x1}, {y1}), outside fragment '{name}' \
                     ({w}x{h} px); kept as given",
                    annotation.geometry.shape(),
                    annotation.class
                )));
            }
        }
        self.slides
            .entry(fragment.source.clone())
            .or_default()
            .push(annotation.to_slide(fragment));
        Ok(())
    }
}

/// A parsed finite number, or an error naming the field.
pub(crate) fn number(at: At<'_>, field: &str, text: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(at.error(format!("{field} {:?} is not a number", text.trim()))),
    }
}

/// The colour QuPath shows a class in: a fixed palette (Tableau 10) indexed by a hash of the
/// name, so a class keeps its colour across files and runs.
///
/// ```
/// use histoseg_core::annotations::class_colour;
/// assert_eq!(class_colour("nucleus"), class_colour("nucleus"));
/// ```
pub fn class_colour(class: &str) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 10] = [
        [78, 121, 167],
        [242, 142, 43],
        [225, 87, 89],
        [118, 183, 178],
        [89, 161, 79],
        [237, 201, 72],
        [176, 122, 161],
        [255, 157, 167],
        [156, 117, 95],
        [186, 176, 172],
    ];
    // FNV-1a: stable across platforms and releases, unlike std's hasher.
    let hash = class.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    PALETTE[(hash % PALETTE.len() as u64) as usize]
}

/// Class names in order of first appearance.
pub(crate) fn classes_in_order<'a>(
    annotations: impl IntoIterator<Item = &'a Annotation>,
) -> Vec<String> {
    let mut classes: Vec<String> = Vec::new();
    for a in annotations {
        if !classes.contains(&a.class) {
            classes.push(a.class.clone());
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rect::Rect;

    #[test]
    fn polygon_area_and_bounds() {
        let g = Geometry::Polygon(vec![(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)]);
        assert_eq!(g.area(), 6.0);
        assert_eq!(g.bounds(), Some((0.0, 0.0, 4.0, 3.0)));
        assert_eq!(Geometry::Polygon(vec![]).bounds(), None);
    }

    #[test]
    fn from_ring_keeps_rectangles_in_other_orders_as_polygons() {
        let ccw = vec![(1.0, 2.0), (1.0, 4.0), (5.0, 4.0), (5.0, 2.0)];
        assert_eq!(Geometry::from_ring(ccw.clone()), Geometry::Polygon(ccw));
    }

    #[test]
    fn outside_coordinates_are_kept_and_listed() {
        let f = Fragment::new("s", Rect::new(0, 0, 40, 40), 4.0).expect("valid");
        let mut imported = Imported::default();
        let a = Annotation::new("n", Geometry::Point { x: 11.0, y: 2.0 });
        imported
            .add_on_fragment(At::line("x.csv", 3), "f.jpg", &f, a, (0.5, 0.5))
            .expect("kept");
        assert_eq!(imported.len(), 1);
        assert_eq!(imported.warnings.len(), 1);
        let w = imported.warnings[0].to_string();
        assert!(w.starts_with("x.csv, line 3: point 'n'"), "{w}");
        assert!(w.contains("outside fragment 'f.jpg' (10x10 px)"), "{w}");
    }

    #[test]
    fn the_formats_rounding_is_not_outside() {
        let f = Fragment::new("s", Rect::new(0, 0, 40, 40), 4.0).expect("valid");
        let mut imported = Imported::default();
        let at_edge = |x: f64| {
            Annotation::new(
                "n",
                Geometry::Rect {
                    x,
                    y: 0.0,
                    w: 10.0,
                    h: 10.0,
                },
            )
        };
        for (x, slack) in [(1e-13, 0.0), (0.5, 0.5), (1.0, 1.0)] {
            imported
                .add_on_fragment(At::file("e"), "f.jpg", &f, at_edge(x), (slack, slack))
                .expect("kept");
        }
        assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
        imported
            .add_on_fragment(At::file("e"), "f.jpg", &f, at_edge(0.6), (0.5, 0.5))
            .expect("kept");
        assert_eq!(imported.warnings.len(), 1);
        assert_eq!(imported.len(), 4);
    }

    #[test]
    fn degenerate_polygons_are_errors() {
        let f = Fragment::new("s", Rect::new(0, 0, 40, 40), 1.0).expect("valid");
        let a = Annotation::new("n", Geometry::Polygon(vec![(1.0, 1.0), (2.0, 2.0)]));
        let err = Imported::default()
            .add_on_fragment(At::file("a.json"), "f.jpg", &f, a, (0.0, 0.0))
            .expect_err("two vertices");
        assert_eq!(
            err.to_string(),
            "a.json: a polygon needs at least 3 vertices, got 2"
        );
    }
}

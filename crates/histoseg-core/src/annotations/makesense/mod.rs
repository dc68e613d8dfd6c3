//! Makesense.AI's exports, made on fragment images, read back onto the slide; and the same
//! formats written for fragments (to check the round trip, or to hand fragments with
//! suggestions to Makesense).
//!
//! | format | carries | layout |
//! | --- | --- | --- |
//! | [`yolo`] | rectangles | `<image stem>.txt`, lines `class_id x_c y_c w h` in `[0, 1]`, plus `labels.txt` |
//! | [`voc`] | rectangles | `<image stem>.xml`, Pascal VOC `<annotation>` |
//! | [`csv`] | rectangles, points | `label_name,bbox_x,bbox_y,bbox_width,bbox_height,image_name,image_width,image_height` / `label_name,point_x,point_y,image_name,image_width,image_height` |
//! | [`coco`] | polygons | one COCO JSON for all images |
//! | [`vgg`] | polygons | one VGG (VIA) JSON keyed by file name |
//!
//! The fragment is found by the image name the export records (for YOLO, the name of the
//! `.txt` file) through a [`FragmentLookup`]; its codec gives the slide position and the
//! downsample. Each reader adds to an [`Imported`], in level-0 pixels.

pub mod coco;
pub mod csv;
pub mod vgg;
pub mod voc;
pub mod yolo;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::{Annotation, FragmentLookup, Imported, Shape};
use crate::fragment::Fragment;
use crate::{Error, Result};

/// Makesense.AI's export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// YOLO rectangles, one `.txt` per image, with `labels.txt`.
    Yolo,
    /// Pascal VOC XML rectangles, one `.xml` per image.
    Voc,
    /// Rectangles in one CSV.
    CsvRects,
    /// Points in one CSV.
    CsvPoints,
    /// Polygons in one COCO JSON.
    Coco,
    /// Polygons in one VGG JSON.
    Vgg,
}

impl Format {
    /// Every format, in the order of the table above.
    pub const ALL: [Format; 6] = [
        Format::Yolo,
        Format::Voc,
        Format::CsvRects,
        Format::CsvPoints,
        Format::Coco,
        Format::Vgg,
    ];

    /// The shapes the format can carry (COCO and VGG write rectangles as 4-vertex polygons).
    pub fn shapes(self) -> &'static [Shape] {
        match self {
            Format::Yolo | Format::Voc | Format::CsvRects => &[Shape::Rect],
            Format::CsvPoints => &[Shape::Point],
            Format::Coco | Format::Vgg => &[Shape::Rect, Shape::Polygon],
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yolo => "yolo",
            Format::Voc => "voc",
            Format::CsvRects => "csv-rects",
            Format::CsvPoints => "csv-points",
            Format::Coco => "coco",
            Format::Vgg => "vgg",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| Error::InvalidParameter {
                name: "format",
                problem: format!(
                    "unknown Makesense format '{s}', expected one of {}",
                    Format::ALL.map(Format::name).join(", ")
                ),
            })
    }
}

/// Reads one export file of `format` (`file` is its name or path, used to find YOLO's
/// fragment and in messages); `labels` are YOLO's class names (`labels.txt`), ignored by the
/// other formats.
pub fn read(
    format: Format,
    file: &str,
    text: &str,
    labels: &[String],
    lookup: &FragmentLookup,
) -> Result<Imported> {
    let mut out = Imported::default();
    match format {
        Format::Yolo => yolo::read(file, text, labels, lookup, &mut out)?,
        Format::Voc => voc::read(file, text, lookup, &mut out)?,
        Format::CsvRects => csv::read_rects(file, text, lookup, &mut out)?,
        Format::CsvPoints => csv::read_points(file, text, lookup, &mut out)?,
        Format::Coco => coco::read(file, text, lookup, &mut out)?,
        Format::Vgg => vgg::read(file, text, lookup, &mut out)?,
    }
    Ok(out)
}

/// One fragment image and the annotations on it, in level-0 slide pixels: what the writers
/// take.
#[derive(Debug, Clone, Copy)]
pub struct OnFragment<'a> {
    /// The fragment image's file name, as Makesense will record it.
    pub name: &'a str,
    /// Where the fragment lies on the slide.
    pub fragment: &'a Fragment,
    /// Annotations in level-0 slide pixels.
    pub annotations: &'a [Annotation],
}

impl OnFragment<'_> {
    /// The annotations in fragment-image pixels; an error if one has a shape `format` cannot
    /// carry.
    fn in_fragment_pixels(&self, format: Format) -> Result<Vec<Annotation>> {
        self.annotations
            .iter()
            .map(|a| {
                let shape = a.geometry.shape();
                if format.shapes().contains(&shape) {
                    Ok(a.to_fragment(self.fragment))
                } else {
                    Err(Error::AnnotationInput {
                        file: self.name.to_owned(),
                        line: None,
                        problem: format!(
                            "a {shape} ('{}') cannot be written as Makesense {format}",
                            a.class
                        ),
                    })
                }
            })
            .collect()
    }
}

/// Places slide annotations on fragments: each goes to the first fragment (in name order) that
/// holds it whole; those no fragment holds are returned apart.
///
/// ```
/// use histoseg_core::annotations::{Annotation, FragmentLookup, Geometry, makesense::assign};
/// let lookup = FragmentLookup::from_names(["s [d=2,x=0,y=0,w=100,h=100].jpg"]);
/// let a = [
///     Annotation::new("n", Geometry::Point { x: 50.0, y: 50.0 }),
///     Annotation::new("n", Geometry::Point { x: 150.0, y: 50.0 }),
/// ];
/// let (placed, left) = assign(&a, &lookup);
/// assert_eq!(placed["s [d=2,x=0,y=0,w=100,h=100].jpg"], [a[0].clone()]);
/// assert_eq!(left, [a[1].clone()]);
/// ```
pub fn assign(
    annotations: &[Annotation],
    lookup: &FragmentLookup,
) -> (BTreeMap<String, Vec<Annotation>>, Vec<Annotation>) {
    let mut placed: BTreeMap<String, Vec<Annotation>> = BTreeMap::new();
    let mut left = Vec::new();
    for a in annotations {
        let home = a.geometry.bounds().and_then(|(x0, y0, x1, y1)| {
            lookup.iter().find(|(_, f)| {
                let r = f.rect();
                x0 >= f64::from(r.x)
                    && y0 >= f64::from(r.y)
                    && x1 <= r.right() as f64
                    && y1 <= r.bottom() as f64
            })
        });
        match home {
            Some((name, _)) => placed.entry(name.to_owned()).or_default().push(a.clone()),
            None => left.push(a.clone()),
        }
    }
    (placed, left)
}

/// Makesense's `Math.round` (half away from zero is `f64::round`; JavaScript rounds half up,
/// which differs only for negative halves, outside any image).
fn js_round(v: f64) -> f64 {
    (v + 0.5).floor()
}

/// A number as JavaScript prints it: integers without a decimal point.
fn js_number(v: f64) -> String {
    format!("{v}")
}

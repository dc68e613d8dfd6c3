//! The annotation model as JSON-friendly values (`{class, geometry: {type, ...}}` in level-0
//! slide pixels) and every format conversion of the core: QuPath GeoJSON, COCO and CSV for
//! whole slides; Makesense.AI exports of fragments read back onto the slide and written for
//! fragments.

use std::collections::BTreeMap;

use histoseg_core::annotations::makesense::{self, Format, OnFragment, voc, yolo};
use histoseg_core::annotations::{self as core, FragmentLookup, Geometry};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A geometry in level-0 slide pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum GeometryValue {
    /// A position.
    Point {
        /// Column.
        x: f64,
        /// Row.
        y: f64,
    },
    /// An axis-aligned box.
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
    /// A polygon, ring not closed.
    Polygon {
        /// Vertices as `[x, y]`.
        points: Vec<(f64, f64)>,
    },
}

/// One annotation: class and geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationValue {
    /// Class name.
    pub class: String,
    /// Where it is.
    pub geometry: GeometryValue,
}

impl From<&core::Annotation> for AnnotationValue {
    fn from(a: &core::Annotation) -> Self {
        let geometry = match &a.geometry {
            Geometry::Point { x, y } => GeometryValue::Point { x: *x, y: *y },
            Geometry::Rect { x, y, w, h } => GeometryValue::Rect {
                x: *x,
                y: *y,
                w: *w,
                h: *h,
            },
            Geometry::Polygon(v) => GeometryValue::Polygon { points: v.clone() },
        };
        AnnotationValue {
            class: a.class.clone(),
            geometry,
        }
    }
}

impl From<&AnnotationValue> for core::Annotation {
    fn from(a: &AnnotationValue) -> Self {
        let geometry = match &a.geometry {
            GeometryValue::Point { x, y } => Geometry::Point { x: *x, y: *y },
            GeometryValue::Rect { x, y, w, h } => Geometry::Rect {
                x: *x,
                y: *y,
                w: *w,
                h: *h,
            },
            GeometryValue::Polygon { points } => Geometry::Polygon(points.clone()),
        };
        core::Annotation::new(a.class.clone(), geometry)
    }
}

fn values(annotations: &[core::Annotation]) -> Vec<AnnotationValue> {
    annotations.iter().map(AnnotationValue::from).collect()
}

fn to_core(annotations: &[AnnotationValue]) -> Vec<core::Annotation> {
    annotations.iter().map(core::Annotation::from).collect()
}

/// A text file by name, in and out of the conversions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextFile {
    /// File name.
    pub name: String,
    /// Contents.
    pub text: String,
}

/// Slide-level formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlideFormat {
    /// QuPath GeoJSON.
    Geojson,
    /// COCO JSON with the slide as its one image.
    Coco,
    /// `class,shape,x,y,width,height,vertices`.
    Csv,
}

fn slide_format(name: &str) -> Result<SlideFormat> {
    match name {
        "geojson" => Ok(SlideFormat::Geojson),
        "coco" => Ok(SlideFormat::Coco),
        "csv" => Ok(SlideFormat::Csv),
        _ => Err(Error::Input(format!(
            "unknown slide annotation format '{name}', expected geojson, coco or csv"
        ))),
    }
}

/// Reads a slide-level file (`geojson`, `coco` or `csv`); `file` names it in errors.
pub fn read_slide(format: &str, file: &str, text: &str) -> Result<Vec<AnnotationValue>> {
    let read = match slide_format(format)? {
        SlideFormat::Geojson => core::geojson::read(file, text)?,
        SlideFormat::Coco => core::coco::read(file, text)?.0,
        SlideFormat::Csv => core::csv::read(file, text)?,
    };
    Ok(values(&read))
}

/// Writes a slide-level file; COCO records the slide's name and level-0 size.
pub fn write_slide(
    format: &str,
    annotations: &[AnnotationValue],
    slide: &str,
    size: (u32, u32),
) -> Result<String> {
    let a = to_core(annotations);
    Ok(match slide_format(format)? {
        SlideFormat::Geojson => core::geojson::write(&a),
        SlideFormat::Coco => core::coco::write(slide, size, &a),
        SlideFormat::Csv => core::csv::write(&a),
    })
}

/// Annotations read from Makesense exports, by slide stem, with the warnings met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedValue {
    /// Slide stem -> annotations in level-0 pixels.
    pub slides: BTreeMap<String, Vec<AnnotationValue>>,
    /// What was kept but doubted, as text.
    pub warnings: Vec<String>,
}

/// The fragments an export may name: from fragment file names, and from a `manifest.json` of
/// `histoseg extract` where given.
pub fn lookup(fragment_names: &[String], manifest: Option<&str>) -> Result<FragmentLookup> {
    let mut lookup = FragmentLookup::from_names(fragment_names);
    if let Some(json) = manifest {
        lookup.add_manifest("manifest.json", json)?;
    }
    Ok(lookup)
}

/// Reads Makesense exports of `format` (`yolo`, `voc`, `csv-rects`, `csv-points`, `coco`,
/// `vgg`) back onto the slide; YOLO takes its class names from `labels` or a `labels.txt`
/// among `files`.
pub fn import_makesense(
    format: &str,
    files: &[TextFile],
    labels: &[String],
    lookup: &FragmentLookup,
) -> Result<ImportedValue> {
    let format: Format = format.parse()?;
    let is_labels = |f: &&TextFile| f.name.rsplit(['/', '\\']).next() == Some("labels.txt");
    let mut labels = labels.to_vec();
    if format == Format::Yolo && labels.is_empty() {
        if let Some(f) = files.iter().find(is_labels) {
            labels = yolo::parse_labels(&f.text);
        }
        if labels.is_empty() {
            return Err(Error::Input(
                "YOLO class ids need their names: pass labels or a labels.txt among the files"
                    .into(),
            ));
        }
    }
    let mut imported = core::Imported::default();
    for file in files
        .iter()
        .filter(|f| format != Format::Yolo || !is_labels(f))
    {
        imported.extend(makesense::read(
            format, &file.name, &file.text, &labels, lookup,
        )?);
    }
    Ok(ImportedValue {
        slides: imported
            .slides
            .iter()
            .map(|(s, a)| (s.clone(), values(a)))
            .collect(),
        warnings: imported.warnings.iter().map(ToString::to_string).collect(),
    })
}

/// One fragment image and its annotations (level-0 pixels), for [`export_makesense`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FragmentAnnotations {
    /// The fragment's file name (carries its coordinates).
    pub name: String,
    /// Annotations in level-0 slide pixels.
    pub annotations: Vec<AnnotationValue>,
}

/// Writes the Makesense files of `format` for fragments: one file per image for YOLO (plus
/// `labels.txt`) and VOC, one file for the others. `labels` fixes class ids (default: classes
/// in order of appearance).
pub fn export_makesense(
    format: &str,
    items: &[FragmentAnnotations],
    labels: &[String],
) -> Result<Vec<TextFile>> {
    let format: Format = format.parse()?;
    let fragments = items
        .iter()
        .map(|i| histoseg_core::fragment::Fragment::parse(&i.name))
        .collect::<histoseg_core::Result<Vec<_>>>()?;
    let annotations: Vec<Vec<core::Annotation>> =
        items.iter().map(|i| to_core(&i.annotations)).collect();
    let on: Vec<OnFragment<'_>> = items
        .iter()
        .zip(&fragments)
        .zip(&annotations)
        .map(|((i, fragment), annotations)| OnFragment {
            name: &i.name,
            fragment,
            annotations,
        })
        .collect();
    let mut labels = labels.to_vec();
    for a in annotations.iter().flatten() {
        if !labels.contains(&a.class) {
            labels.push(a.class.clone());
        }
    }
    let file = |name: &str, text: String| TextFile {
        name: name.to_owned(),
        text,
    };
    Ok(match format {
        Format::Yolo => {
            let mut files = vec![file("labels.txt", yolo::write_labels(&labels))];
            for item in &on {
                files.push(file(
                    &yolo::file_name(item.name),
                    yolo::write(*item, &labels)?,
                ));
            }
            files
        }
        Format::Voc => on
            .iter()
            .map(|item| Ok(file(&voc::file_name(item.name), voc::write(*item)?)))
            .collect::<Result<_>>()?,
        Format::CsvRects => vec![file("annotations.csv", makesense::csv::write_rects(&on)?)],
        Format::CsvPoints => vec![file("annotations.csv", makesense::csv::write_points(&on)?)],
        Format::Coco => vec![file(
            "annotations.json",
            makesense::coco::write(&on, &labels)?,
        )],
        Format::Vgg => vec![file("annotations.json", makesense::vgg::write(&on)?)],
    })
}

/// Slide annotations placed on the fragments that hold them whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Fragment file name -> its annotations (level-0 pixels).
    pub placed: BTreeMap<String, Vec<AnnotationValue>>,
    /// Annotations no fragment holds.
    pub left: Vec<AnnotationValue>,
}

/// Places slide annotations on fragments (the first, in name order, that holds each whole).
pub fn assign(annotations: &[AnnotationValue], lookup: &FragmentLookup) -> Assignment {
    let (placed, left) = makesense::assign(&to_core(annotations), lookup);
    Assignment {
        placed: placed.iter().map(|(n, a)| (n.clone(), values(a))).collect(),
        left: values(&left),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAGMENT: &str = "s [d=2,x=100,y=0,w=200,h=200].jpg";

    fn rect(x: f64) -> AnnotationValue {
        AnnotationValue {
            class: "tumour".into(),
            geometry: GeometryValue::Rect {
                x,
                y: 10.0,
                w: 20.0,
                h: 30.0,
            },
        }
    }

    #[test]
    fn every_makesense_rect_format_round_trips_through_the_fragment() {
        let lookup = lookup(&[FRAGMENT.into()], None).expect("lookup");
        let items = [FragmentAnnotations {
            name: FRAGMENT.into(),
            annotations: vec![rect(120.0), rect(200.0)],
        }];
        for format in ["yolo", "voc", "csv-rects", "coco", "vgg"] {
            let files = export_makesense(format, &items, &[]).expect(format);
            let back = import_makesense(format, &files, &[], &lookup).expect(format);
            assert_eq!(back.slides["s"], items[0].annotations, "{format}");
            assert!(back.warnings.is_empty(), "{format}: {:?}", back.warnings);
        }
    }

    #[test]
    fn slide_formats_round_trip_and_errors_name_the_file() {
        let a = vec![
            rect(1.0),
            AnnotationValue {
                class: "nucleus".into(),
                geometry: GeometryValue::Point { x: 5.0, y: 6.0 },
            },
        ];
        for format in ["geojson", "coco", "csv"] {
            let text = write_slide(format, &a, "s", (1000, 1000)).expect(format);
            assert_eq!(read_slide(format, "a", &text).expect(format), a, "{format}");
        }
        let err = read_slide("geojson", "bad.geojson", "{").expect_err("bad json");
        assert!(err.to_string().starts_with("bad.geojson"), "{err}");
        assert!(read_slide("xml", "a", "").is_err());
    }

    #[test]
    fn assignment_splits_by_fragment() {
        let lookup = lookup(&[FRAGMENT.into()], None).expect("lookup");
        let got = assign(&[rect(150.0), rect(0.0)], &lookup);
        assert_eq!(got.placed[FRAGMENT], vec![rect(150.0)]);
        assert_eq!(got.left, vec![rect(0.0)]);
    }
}

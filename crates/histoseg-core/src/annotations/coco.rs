//! COCO JSON: `images`, `categories`, `annotations` with polygon `segmentation` and `bbox`.
//!
//! The whole-slide file written here has one image (the slide, in level-0 pixels). Rectangles
//! and polygons are polygon segmentations with their `bbox` and `area`; a point is a keypoint
//! (`keypoints: [x, y, 2]`, `num_keypoints: 1`) with an empty segmentation and a zero-size box.
//! Reading takes any COCO file: each ring of a segmentation becomes one polygon (a rectangle
//! when it is one, see [`Geometry::from_ring`]), keypoints become points, and a `bbox` alone a
//! rectangle. Run-length (`iscrowd`) masks are refused with an error.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Annotation, At, Geometry, Warning, classes_in_order};
use crate::Result;

/// A COCO file as read: only the fields used.
#[derive(Debug, Deserialize)]
pub(crate) struct CocoIn {
    images: Vec<ImageIn>,
    #[serde(default)]
    annotations: Vec<AnnotationIn>,
    #[serde(default)]
    categories: Vec<CategoryIn>,
}

#[derive(Debug, Deserialize)]
struct ImageIn {
    id: u64,
    file_name: String,
    width: Option<f64>,
    height: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct CategoryIn {
    id: u64,
    name: String,
}

#[derive(Debug, Deserialize)]
struct AnnotationIn {
    image_id: Option<u64>,
    category_id: Option<u64>,
    #[serde(default)]
    segmentation: Value,
    bbox: Option<Vec<f64>>,
    #[serde(default)]
    keypoints: Vec<f64>,
}

/// One annotation of a COCO file with the image it is on.
#[derive(Debug)]
pub(crate) struct Item {
    /// `file_name` of its image.
    pub image: String,
    /// `width`, `height` of its image, where given.
    pub size: Option<(f64, f64)>,
    /// Index in `annotations`, for messages.
    pub index: usize,
    /// In the image's pixels.
    pub annotation: Annotation,
}

/// Reads every annotation of a COCO file with its image; `file` names it in errors. An
/// annotation without `category_id` (Makesense writes a shape nobody labelled so) is skipped
/// with a warning, so the labelled ones are not lost with it.
pub(crate) fn parse(file: &str, text: &str, warnings: &mut Vec<Warning>) -> Result<Vec<Item>> {
    let at = At::file(file);
    let coco: CocoIn = serde_json::from_str(text)
        .map_err(|e| At::line(file, e.line()).error(format!("not a COCO JSON file: {e}")))?;
    let images: HashMap<u64, &ImageIn> = coco.images.iter().map(|i| (i.id, i)).collect();
    let categories: HashMap<u64, &str> = coco
        .categories
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let mut items = Vec::new();
    for (index, a) in coco.annotations.iter().enumerate() {
        let which = format!("annotations[{index}]");
        let image_id = a
            .image_id
            .ok_or_else(|| at.error(format!("{which} has no image_id")))?;
        let image = images.get(&image_id).ok_or_else(|| {
            at.error(format!(
                "{which} refers to image_id {image_id}, which is not in images"
            ))
        })?;
        let Some(category_id) = a.category_id else {
            warnings.push(at.warning(format!(
                "{which} has no category_id (a shape without a label): skipped"
            )));
            continue;
        };
        let class = categories.get(&category_id).ok_or_else(|| {
            at.error(format!(
                "{which} has category_id {category_id}, which is not in categories"
            ))
        })?;
        let size = image.width.zip(image.height);
        for geometry in geometries(at, &which, a)? {
            items.push(Item {
                image: image.file_name.clone(),
                size,
                index,
                annotation: Annotation::new(*class, geometry),
            });
        }
    }
    Ok(items)
}

fn geometries(at: At<'_>, which: &str, a: &AnnotationIn) -> Result<Vec<Geometry>> {
    let rings: Vec<Vec<f64>> = match &a.segmentation {
        Value::Null => Vec::new(),
        Value::Array(_) => serde_json::from_value(a.segmentation.clone()).map_err(|_| {
            at.error(format!(
                "{which}: segmentation must be a list of polygons [[x1, y1, x2, y2, ...], ...]"
            ))
        })?,
        Value::Object(_) => {
            return Err(at.error(format!(
                "{which}: run-length (RLE) segmentations are not supported; export polygons"
            )));
        }
        _ => return Err(at.error(format!("{which}: segmentation is neither a list nor RLE"))),
    };
    let mut out = Vec::new();
    for ring in rings.iter().filter(|r| !r.is_empty()) {
        if !ring.len().is_multiple_of(2) {
            return Err(at.error(format!(
                "{which}: a polygon has an odd number ({}) of coordinates",
                ring.len()
            )));
        }
        let vertices: Vec<(f64, f64)> = ring.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        let geometry = Geometry::from_ring(vertices);
        if let Geometry::Polygon(v) = &geometry
            && v.len() < 3
        {
            return Err(at.error(format!(
                "{which}: a polygon needs at least 3 vertices, got {}",
                v.len()
            )));
        }
        out.push(geometry);
    }
    if out.is_empty() && !a.keypoints.is_empty() {
        if !a.keypoints.len().is_multiple_of(3) {
            return Err(at.error(format!(
                "{which}: keypoints must be triples [x, y, visibility, ...]"
            )));
        }
        out.extend(
            a.keypoints
                .chunks_exact(3)
                .filter(|k| k[2] > 0.0)
                .map(|k| Geometry::Point { x: k[0], y: k[1] }),
        );
    }
    if out.is_empty() {
        match a.bbox.as_deref() {
            Some(&[x, y, w, h]) => out.push(Geometry::Rect { x, y, w, h }),
            Some(_) => return Err(at.error(format!("{which}: bbox must be [x, y, width, height]"))),
            None => {
                return Err(at.error(format!("{which} has no segmentation, keypoints or bbox")));
            }
        }
    }
    if out
        .iter()
        .flat_map(Geometry::vertices)
        .any(|(x, y)| !x.is_finite() || !y.is_finite())
    {
        return Err(at.error(format!("{which}: coordinates must be finite numbers")));
    }
    Ok(out)
}

/// A COCO file as written.
#[derive(Debug, Serialize)]
pub(crate) struct CocoOut {
    pub info: InfoOut,
    pub images: Vec<ImageOut>,
    pub annotations: Vec<AnnotationOut>,
    pub categories: Vec<CategoryOut>,
}

#[derive(Debug, Serialize)]
pub(crate) struct InfoOut {
    pub description: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ImageOut {
    pub id: u64,
    pub width: u32,
    pub height: u32,
    pub file_name: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct CategoryOut {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AnnotationOut {
    pub id: u64,
    pub iscrowd: u8,
    pub image_id: u64,
    pub category_id: u64,
    pub segmentation: Vec<Vec<f64>>,
    pub bbox: [f64; 4],
    pub area: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keypoints: Option<[f64; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_keypoints: Option<u32>,
}

impl AnnotationOut {
    /// The COCO record of `geometry` (points as keypoints).
    pub fn new(id: u64, image_id: u64, category_id: u64, geometry: &Geometry) -> Self {
        let (x0, y0, x1, y1) = geometry.bounds().unwrap_or_default();
        let point = match *geometry {
            Geometry::Point { x, y } => Some([x, y, 2.0]),
            _ => None,
        };
        AnnotationOut {
            id,
            iscrowd: 0,
            image_id,
            category_id,
            segmentation: match geometry {
                Geometry::Point { .. } => Vec::new(),
                _ => vec![
                    geometry
                        .vertices()
                        .iter()
                        .flat_map(|&(x, y)| [x, y])
                        .collect(),
                ],
            },
            bbox: [x0, y0, x1 - x0, y1 - y0],
            area: geometry.area(),
            keypoints: point,
            num_keypoints: point.map(|_| 1),
        }
    }
}

/// COCO JSON for one slide: one image named `slide` of `size` level-0 pixels, categories
/// numbered from 1 in order of first appearance, annotations numbered from 1.
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, coco};
/// let a = [Annotation::new("nucleus", Geometry::Point { x: 5.0, y: 7.0 })];
/// let json = coco::write("CMU-1.svs", (100, 80), &a);
/// let (back, _warnings) = coco::read("out.json", &json).unwrap();
/// assert_eq!(back, a);
/// ```
pub fn write(slide: &str, size: (u32, u32), annotations: &[Annotation]) -> String {
    let classes = classes_in_order(annotations);
    let category = |class: &str| {
        classes
            .iter()
            .position(|c| c == class)
            .map_or(0, |i| i as u64 + 1)
    };
    let coco = CocoOut {
        info: InfoOut {
            description: "histoseg annotations in level-0 slide pixels".to_owned(),
        },
        images: vec![ImageOut {
            id: 1,
            width: size.0,
            height: size.1,
            file_name: slide.to_owned(),
        }],
        annotations: annotations
            .iter()
            .zip(1..)
            .map(|(a, id)| AnnotationOut::new(id, 1, category(&a.class), &a.geometry))
            .collect(),
        categories: classes
            .iter()
            .zip(1..)
            .map(|(name, id)| CategoryOut {
                id,
                name: name.clone(),
            })
            .collect(),
    };
    to_json(&coco)
}

/// Every labelled annotation of a COCO file, whatever image it is on, in that image's pixels,
/// with a warning for each one skipped for want of a label.
pub fn read(file: &str, text: &str) -> Result<(Vec<Annotation>, Vec<Warning>)> {
    let mut warnings = Vec::new();
    let annotations = parse(file, text, &mut warnings)?
        .into_iter()
        .map(|item| item.annotation)
        .collect();
    Ok((annotations, warnings))
}

/// Pretty JSON of a value that always serialises (plain structs of numbers and strings).
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Non-finite floats become `null` in serde_json rather than failing, so this cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_shapes_round_trip() {
        let a = vec![
            Annotation::new("a", Geometry::Point { x: 1.5, y: 2.0 }),
            Annotation::new(
                "b",
                Geometry::Rect {
                    x: 3.0,
                    y: 4.0,
                    w: 5.0,
                    h: 6.0,
                },
            ),
            Annotation::new(
                "a",
                Geometry::Polygon(vec![(0.0, 0.0), (10.0, 0.0), (5.0, 8.5)]),
            ),
        ];
        let json = write("s.svs", (20, 20), &a);
        assert_eq!(read("f.json", &json).expect("reads"), (a, Vec::new()));
        let v: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            v["annotations"][1]["bbox"],
            serde_json::json!([3.0, 4.0, 5.0, 6.0])
        );
        assert_eq!(v["categories"][1]["name"], "b");
        assert_eq!(v["annotations"][2]["area"], 42.5);
    }

    #[test]
    fn bad_records_are_explained() {
        let base = r#"{"images":[{"id":1,"file_name":"f.jpg","width":4,"height":4}],
            "categories":[{"id":1,"name":"n"}],"annotations":[ANN]}"#;
        let cases = [
            (
                r#"{"image_id":1,"category_id":9,"segmentation":[[0,0,1,0,1,1]]}"#,
                "category_id 9",
            ),
            (
                r#"{"image_id":2,"category_id":1,"segmentation":[[0,0,1,0,1,1]]}"#,
                "image_id 2",
            ),
            (
                r#"{"image_id":1,"category_id":1,"segmentation":[[0,0,1]]}"#,
                "odd number",
            ),
            (
                r#"{"image_id":1,"category_id":1,"segmentation":{"counts":[]}}"#,
                "RLE",
            ),
            (r#"{"image_id":1,"category_id":1}"#, "no segmentation"),
        ];
        for (ann, expected) in cases {
            let text = base.replace("ANN", ann);
            let err = read("x.json", &text).expect_err(ann).to_string();
            assert!(err.starts_with("x.json: annotations[0]"), "{err}");
            assert!(err.contains(expected), "{ann}: {err}");
        }
        let unlabelled = r#"{"image_id":1,"segmentation":[[0,0,1,0,1,1]]},
            {"image_id":1,"category_id":1,"segmentation":[[0,0,2,0,2,2]]}"#;
        let (kept, warnings) = read("x.json", &base.replace("ANN", unlabelled)).expect("reads");
        assert_eq!(kept.len(), 1, "the labelled polygon survives");
        assert_eq!(kept[0].class, "n");
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].to_string(),
            "x.json: annotations[0] has no category_id (a shape without a label): skipped"
        );
        let err = read("x.json", "[1,").expect_err("not json").to_string();
        assert!(
            err.starts_with("x.json, line 1: not a COCO JSON file"),
            "{err}"
        );
    }
}

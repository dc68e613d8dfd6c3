//! GeoJSON as QuPath imports it (File > Import objects, or drag and drop onto the slide).
//!
//! A `FeatureCollection` in level-0 pixels whose features have
//! `properties: {"objectType": "annotation", "classification": {"name": .., "color": [r, g, b]}}`.
//! Rectangles and polygons are `Polygon`s with a closed outer ring; the points of one class are
//! gathered into one feature (a `MultiPoint`, or a `Point` when there is one), as QuPath keeps
//! counted nuclei in one points annotation per class. Reading takes a `FeatureCollection`, a
//! single `Feature` or a plain list of features (QuPath writes each of these), with `Point`,
//! `MultiPoint`, `Polygon` and `MultiPolygon` geometries; a feature without classification gets
//! the class `""`. Polygons with holes and other geometries are refused with an error.

use serde::Serialize;
use serde_json::Value;

use super::{Annotation, At, Geometry, class_colour, classes_in_order};
use crate::Result;

/// QuPath GeoJSON of `annotations` (pretty-printed).
///
/// ```
/// use histoseg_core::annotations::{Annotation, Geometry, geojson};
/// let a = [
///     Annotation::new("tumour", Geometry::Rect { x: 10.0, y: 20.0, w: 30.0, h: 40.0 }),
///     Annotation::new("nucleus", Geometry::Point { x: 1.0, y: 2.0 }),
/// ];
/// let json: serde_json::Value = serde_json::from_str(&geojson::write(&a)).unwrap();
/// assert_eq!(json["type"], "FeatureCollection");
/// let ring = &json["features"][0]["geometry"]["coordinates"][0];
/// assert_eq!(ring.to_string(), "[[10.0,20.0],[40.0,20.0],[40.0,60.0],[10.0,60.0],[10.0,20.0]]");
/// assert_eq!(json["features"][1]["properties"]["objectType"], "annotation");
/// assert_eq!(geojson::read("a.geojson", &geojson::write(&a)).unwrap(), a);
/// ```
pub fn write(annotations: &[Annotation]) -> String {
    let point_classes = classes_in_order(
        annotations
            .iter()
            .filter(|a| matches!(a.geometry, Geometry::Point { .. })),
    );
    let mut points: Vec<Vec<[f64; 2]>> = vec![Vec::new(); point_classes.len()];
    for a in annotations {
        if let Geometry::Point { x, y } = a.geometry
            && let Some(k) = point_classes.iter().position(|c| *c == a.class)
        {
            points[k].push([x, y]);
        }
    }
    let mut features = Vec::with_capacity(annotations.len());
    for a in annotations {
        let coordinates = match &a.geometry {
            Geometry::Point { .. } => {
                // A class's points go out once, as one feature, where its first point stands.
                let Some(k) = point_classes.iter().position(|c| *c == a.class) else {
                    continue;
                };
                let class_points = std::mem::take(&mut points[k]);
                match class_points[..] {
                    [] => continue,
                    [point] => Coordinates::Point(point),
                    _ => Coordinates::MultiPoint(class_points),
                }
            }
            other => {
                let mut ring: Vec<[f64; 2]> =
                    other.vertices().iter().map(|&(x, y)| [x, y]).collect();
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                Coordinates::Polygon(vec![ring])
            }
        };
        features.push(FeatureOut {
            geometry: GeometryOut {
                kind: coordinates.kind(),
                coordinates,
            },
            properties: PropertiesOut {
                classification: ClassificationOut {
                    color: class_colour(&a.class),
                    name: &a.class,
                },
                object_type: "annotation",
            },
            kind: "Feature",
        });
    }
    super::coco::to_json(&CollectionOut {
        features,
        kind: "FeatureCollection",
    })
}

// Typed output, serialised straight to text: a `serde_json::Value` tree cost about 8 KB a
// feature. Fields stand in alphabetical order, the order the `Value` maps wrote them in.
#[derive(Serialize)]
struct CollectionOut<'a> {
    features: Vec<FeatureOut<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct FeatureOut<'a> {
    geometry: GeometryOut,
    properties: PropertiesOut<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct GeometryOut {
    coordinates: Coordinates,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Coordinates {
    Point([f64; 2]),
    MultiPoint(Vec<[f64; 2]>),
    Polygon(Vec<Vec<[f64; 2]>>),
}

impl Coordinates {
    fn kind(&self) -> &'static str {
        match self {
            Self::Point(_) => "Point",
            Self::MultiPoint(_) => "MultiPoint",
            Self::Polygon(_) => "Polygon",
        }
    }
}

#[derive(Serialize)]
struct PropertiesOut<'a> {
    classification: ClassificationOut<'a>,
    #[serde(rename = "objectType")]
    object_type: &'static str,
}

#[derive(Serialize)]
struct ClassificationOut<'a> {
    color: [u8; 3],
    name: &'a str,
}

/// The annotations of a GeoJSON file; `file` names it in errors.
pub fn read(file: &str, text: &str) -> Result<Vec<Annotation>> {
    let at = At::file(file);
    let value = parse(file, text)?;
    let mut out = Vec::new();
    for (i, feature) in features(at, &value)?.iter().enumerate() {
        let which = format!("features[{i}]");
        let class = class_of(feature);
        let geometry = &feature["geometry"];
        let coordinates = &geometry["coordinates"];
        let kind = geometry["type"].as_str().unwrap_or("");
        let mut add = |g: Geometry| out.push(Annotation::new(class, g));
        match kind {
            "Point" => {
                let (x, y) = position(at, &which, coordinates)?;
                add(Geometry::Point { x, y });
            }
            "MultiPoint" => {
                for p in list(at, &which, coordinates)? {
                    let (x, y) = position(at, &which, p)?;
                    add(Geometry::Point { x, y });
                }
            }
            "Polygon" => add(polygon(at, &which, coordinates)?),
            "MultiPolygon" => {
                for p in list(at, &which, coordinates)? {
                    add(polygon(at, &which, p)?);
                }
            }
            other => {
                return Err(at.error(format!(
                    "{which}: geometry type {other:?} is not supported (Point, MultiPoint, \
                     Polygon, MultiPolygon are)"
                )));
            }
        }
    }
    Ok(out)
}

/// The JSON of a GeoJSON file, or an error naming the line.
pub(super) fn parse(file: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| At::line(file, e.line()).error(format!("not GeoJSON: {e}")))
}

/// The features of a `FeatureCollection`, a single `Feature` or a plain list of features.
pub(super) fn features<'v>(at: At<'_>, value: &'v Value) -> Result<Vec<&'v Value>> {
    match (value, value["type"].as_str()) {
        (Value::Array(list), _) => Ok(list.iter().collect()),
        (_, Some("FeatureCollection")) => Ok(value["features"]
            .as_array()
            .ok_or_else(|| at.error("the FeatureCollection has no 'features' list"))?
            .iter()
            .collect()),
        (_, Some("Feature")) => Ok(vec![value]),
        _ => Err(at.error("expected a FeatureCollection, a Feature or a list of features")),
    }
}

/// A feature's class name: QuPath's `classification` object (or a bare name); `""` without.
pub(super) fn class_of(feature: &Value) -> &str {
    match &feature["properties"]["classification"] {
        Value::Object(c) => c.get("name").and_then(Value::as_str).unwrap_or(""),
        Value::String(name) => name.as_str(),
        _ => "",
    }
}

fn list<'v>(at: At<'_>, which: &str, value: &'v Value) -> Result<&'v Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| at.error(format!("{which}: coordinates must be a list")))
}

fn position(at: At<'_>, which: &str, value: &Value) -> Result<(f64, f64)> {
    match value.as_array().map(Vec::as_slice) {
        Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(at.error(format!("{which}: a position must be [x, y] numbers"))),
        },
        _ => Err(at.error(format!("{which}: a position must be [x, y] numbers"))),
    }
}

pub(super) fn polygon(at: At<'_>, which: &str, value: &Value) -> Result<Geometry> {
    let rings = list(at, which, value)?;
    match rings.as_slice() {
        [outer] => {
            let vertices = list(at, which, outer)?
                .iter()
                .map(|p| position(at, which, p))
                .collect::<Result<Vec<_>>>()?;
            let geometry = Geometry::from_ring(vertices);
            match &geometry {
                Geometry::Polygon(v) if v.len() < 3 => Err(at.error(format!(
                    "{which}: a polygon needs at least 3 vertices, got {}",
                    v.len()
                ))),
                _ => Ok(geometry),
            }
        }
        [] => Err(at.error(format!("{which}: a polygon without rings"))),
        _ => Err(at.error(format!(
            "{which}: polygons with holes are not supported ({} rings)",
            rings.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The writer as it was, through a `serde_json::Value` tree: the typed one must give the
    /// same text.
    fn write_through_values(annotations: &[Annotation]) -> String {
        let classes = classes_in_order(
            annotations
                .iter()
                .filter(|a| matches!(a.geometry, Geometry::Point { .. })),
        );
        let mut done = vec![false; classes.len()];
        let mut features = Vec::new();
        for a in annotations {
            let geometry = match &a.geometry {
                Geometry::Point { .. } => {
                    let k = classes.iter().position(|c| *c == a.class).expect("a class");
                    if std::mem::replace(&mut done[k], true) {
                        continue;
                    }
                    let points: Vec<Value> = annotations
                        .iter()
                        .filter(|b| b.class == a.class)
                        .filter_map(|b| match b.geometry {
                            Geometry::Point { x, y } => Some(json!([x, y])),
                            _ => None,
                        })
                        .collect();
                    match <[Value; 1]>::try_from(points) {
                        Ok([point]) => json!({"type": "Point", "coordinates": point}),
                        Err(points) => json!({"type": "MultiPoint", "coordinates": points}),
                    }
                }
                other => {
                    let mut ring: Vec<Value> = other
                        .vertices()
                        .iter()
                        .map(|&(x, y)| json!([x, y]))
                        .collect();
                    ring.push(ring[0].clone());
                    json!({"type": "Polygon", "coordinates": [ring]})
                }
            };
            features.push(json!({
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "objectType": "annotation",
                    "classification": {"name": a.class, "color": class_colour(&a.class)},
                },
            }));
        }
        super::super::coco::to_json(&json!({"type": "FeatureCollection", "features": features}))
    }

    #[test]
    fn typed_output_is_the_value_trees_text() {
        let a = vec![
            Annotation::new("n", Geometry::Point { x: 1.5, y: 2.0 }),
            Annotation::new(
                "t",
                Geometry::Rect {
                    x: 3.0,
                    y: 4.0,
                    w: 5.25,
                    h: 6.0,
                },
            ),
            Annotation::new("n", Geometry::Point { x: 1e-7, y: 3e12 }),
            Annotation::new("single", Geometry::Point { x: 9.0, y: 8.0 }),
            Annotation::new(
                "T&B \"cell\"",
                Geometry::Polygon(vec![(0.0, 0.0), (10.0, 0.0), (5.0, 8.5)]),
            ),
        ];
        assert_eq!(write(&a), write_through_values(&a));
        assert_eq!(write(&[]), write_through_values(&[]));
    }

    #[test]
    fn points_of_a_class_share_one_multipoint() {
        let a = vec![
            Annotation::new("n", Geometry::Point { x: 1.0, y: 2.0 }),
            Annotation::new("t", Geometry::Point { x: 3.0, y: 4.0 }),
            Annotation::new("n", Geometry::Point { x: 5.0, y: 6.0 }),
        ];
        let v: Value = serde_json::from_str(&write(&a)).expect("json");
        let features = v["features"].as_array().expect("list");
        assert_eq!(features.len(), 2);
        assert_eq!(features[0]["geometry"]["type"], "MultiPoint");
        assert_eq!(
            features[0]["geometry"]["coordinates"],
            json!([[1.0, 2.0], [5.0, 6.0]])
        );
        assert_eq!(features[1]["geometry"]["type"], "Point");
        assert_eq!(features[1]["properties"]["classification"]["name"], "t");
        let back = read("a.geojson", &write(&a)).expect("reads");
        assert_eq!(back, vec![a[0].clone(), a[2].clone(), a[1].clone()]);
    }

    #[test]
    fn qupath_feature_lists_and_unsupported_geometry() {
        let text = r#"[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[4,0],[0,3],[0,0]]]},
            "properties":{"objectType":"annotation"}}]"#;
        let a = read("q.json", text).expect("reads");
        assert_eq!(
            a,
            vec![Annotation::new(
                "",
                Geometry::Polygon(vec![(0.0, 0.0), (4.0, 0.0), (0.0, 3.0)])
            )]
        );
        let line =
            r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}"#;
        let err = read("q.json", line).expect_err("line").to_string();
        assert!(
            err.contains("features[0]: geometry type \"LineString\""),
            "{err}"
        );
    }
}

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

use serde_json::{Value, json};

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
    let mut features = Vec::new();
    let mut points_written = vec![false; point_classes.len()];
    for a in annotations {
        let geometry = match &a.geometry {
            Geometry::Point { .. } => {
                let Some(k) = point_classes.iter().position(|c| *c == a.class) else {
                    continue;
                };
                if std::mem::replace(&mut points_written[k], true) {
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
                if let Some(first) = ring.first().cloned() {
                    ring.push(first);
                }
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
    super::coco::to_json(&json!({"type": "FeatureCollection", "features": features}))
}

/// The annotations of a GeoJSON file; `file` names it in errors.
pub fn read(file: &str, text: &str) -> Result<Vec<Annotation>> {
    let at = At::file(file);
    let value: Value = serde_json::from_str(text)
        .map_err(|e| At::line(file, e.line()).error(format!("not GeoJSON: {e}")))?;
    let features: Vec<&Value> = match (&value, value["type"].as_str()) {
        (Value::Array(list), _) => list.iter().collect(),
        (_, Some("FeatureCollection")) => value["features"]
            .as_array()
            .ok_or_else(|| at.error("the FeatureCollection has no 'features' list"))?
            .iter()
            .collect(),
        (_, Some("Feature")) => vec![&value],
        _ => {
            return Err(at.error("expected a FeatureCollection, a Feature or a list of features"));
        }
    };
    let mut out = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        let which = format!("features[{i}]");
        let class = match &feature["properties"]["classification"] {
            Value::Object(c) => c.get("name").and_then(Value::as_str).unwrap_or(""),
            Value::String(name) => name.as_str(),
            _ => "",
        };
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

fn polygon(at: At<'_>, which: &str, value: &Value) -> Result<Geometry> {
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

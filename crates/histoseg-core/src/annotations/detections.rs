//! Detections as QuPath writes them in GeoJSON (`QuPathTypeAdapters.PathObjectTypeAdapter` in
//! QuPath 0.4 and later): each a `Feature` with a UUID `id`, a `Polygon` geometry in level-0
//! pixels and `properties` holding `"objectType": "detection"`, the `classification`
//! (`{"name", "color": [r, g, b]}`) and `measurements` as one object of name to number.
//! Annotations (tissue regions, say) go in the same collection with `"objectType":
//! "annotation"`. The writer streams feature by feature, so a slide's nuclei never need to be
//! held as text; the reader gives back the detections of such a file with their measurements
//! (QuPath also reads the pre-0.4 form, a list of `{"name", "value"}`, and so do we).

use std::io::Write;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::geojson::{class_of, features, parse, polygon};
use super::{Annotation, At, Geometry, class_colour};
use crate::dataset::rng::SplitMix64;
use crate::{Error, Result};

/// A detected object: a classified outline with named measurements, in level-0 pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The class name, such as `"Nucleus"`.
    pub class: String,
    /// The outline, not closed (the first vertex is not repeated).
    pub outline: Vec<(f64, f64)>,
    /// Measurements in order, named as QuPath names them (`"Area µm^2"`, `"Circularity"`).
    pub measurements: Vec<(String, f64)>,
}

/// Writes a GeoJSON `FeatureCollection` of detections and annotations one feature at a time.
#[derive(Debug)]
pub struct GeoJsonWriter<W: Write> {
    out: W,
    written: u64,
    ids: SplitMix64,
}

impl<W: Write> GeoJsonWriter<W> {
    /// Starts the collection on `out`; `seed` makes the features' ids (UUIDs) repeatable.
    pub fn new(mut out: W, seed: u64) -> std::io::Result<Self> {
        out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
        Ok(Self {
            out,
            written: 0,
            ids: SplitMix64::new(seed),
        })
    }

    /// How many features were written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Adds one detection. Measurements that are not finite numbers are left out (JSON has
    /// no NaN, and QuPath reads measurements as numbers).
    pub fn detection(&mut self, detection: &Detection) -> std::io::Result<()> {
        self.feature(
            "detection",
            &detection.class,
            &detection.outline,
            &detection.measurements,
        )
    }

    /// Adds one annotation (points are written as `Point`s, shapes as `Polygon`s).
    pub fn annotation(&mut self, annotation: &Annotation) -> std::io::Result<()> {
        self.feature(
            "annotation",
            &annotation.class,
            &annotation.geometry.vertices(),
            &[],
        )
    }

    fn feature(
        &mut self,
        object_type: &'static str,
        class: &str,
        vertices: &[(f64, f64)],
        measurements: &[(String, f64)],
    ) -> std::io::Result<()> {
        let geometry = match vertices {
            [(x, y)] => GeometryOut::Point([*x, *y]),
            _ => {
                let mut ring: Vec<[f64; 2]> = vertices.iter().map(|&(x, y)| [x, y]).collect();
                if let Some(&first) = ring.first() {
                    ring.push(first);
                }
                GeometryOut::Polygon([ring])
            }
        };
        let feature = FeatureOut {
            kind: "Feature",
            id: self.next_id(),
            geometry,
            properties: PropertiesOut {
                object_type,
                classification: ClassificationOut {
                    name: class,
                    color: class_colour(class),
                },
                measurements: Measurements(measurements),
            },
        };
        if self.written > 0 {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, &feature)?;
        self.written += 1;
        Ok(())
    }

    /// A version-4 UUID from the writer's generator.
    fn next_id(&mut self) -> String {
        let (a, b) = (self.ids.next_u64(), self.ids.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// Closes the collection and gives back the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[derive(Serialize)]
struct FeatureOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    geometry: GeometryOut,
    properties: PropertiesOut<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", content = "coordinates")]
enum GeometryOut {
    Point([f64; 2]),
    Polygon([Vec<[f64; 2]>; 1]),
}

#[derive(Serialize)]
struct PropertiesOut<'a> {
    #[serde(rename = "objectType")]
    object_type: &'static str,
    classification: ClassificationOut<'a>,
    #[serde(skip_serializing_if = "Measurements::is_empty")]
    measurements: Measurements<'a>,
}

#[derive(Serialize)]
struct ClassificationOut<'a> {
    name: &'a str,
    color: [u8; 3],
}

/// Measurements as one JSON object, in their order.
struct Measurements<'a>(&'a [(String, f64)]);

impl Measurements<'_> {
    fn is_empty(&self) -> bool {
        !self.0.iter().any(|(_, v)| v.is_finite())
    }
}

impl Serialize for Measurements<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.iter().filter(|(_, v)| v.is_finite()) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The detections (`objectType` `"detection"` or `"cell"`) of a GeoJSON file with their
/// measurements; other features are skipped. `file` names it in errors.
///
/// ```
/// use histoseg_core::annotations::detections::{Detection, GeoJsonWriter, read};
/// let nucleus = Detection {
///     class: "Nucleus".into(),
///     outline: vec![(10.0, 10.0), (20.0, 10.0), (15.0, 18.0)],
///     measurements: vec![("Area µm^2".into(), 12.5), ("Circularity".into(), 0.8)],
/// };
/// let mut out = GeoJsonWriter::new(Vec::new(), 1).unwrap();
/// out.detection(&nucleus).unwrap();
/// let text = String::from_utf8(out.finish().unwrap()).unwrap();
/// assert_eq!(read("n.geojson", &text).unwrap(), vec![nucleus]);
/// ```
pub fn read(file: &str, text: &str) -> Result<Vec<Detection>> {
    let at = At::file(file);
    let value = parse(file, text)?;
    let mut out = Vec::new();
    for (i, feature) in features(at, &value)?.iter().enumerate() {
        let properties = &feature["properties"];
        let kind = properties["objectType"]
            .as_str()
            .or_else(|| properties["object_type"].as_str());
        if !matches!(kind, Some("detection" | "cell")) {
            continue;
        }
        let which = format!("features[{i}]");
        let geometry = &feature["geometry"];
        if geometry["type"].as_str() != Some("Polygon") {
            return Err(at.error(format!(
                "{which}: a detection's geometry must be a Polygon, got {}",
                geometry["type"]
            )));
        }
        let outline = match polygon(at, &which, &geometry["coordinates"])? {
            Geometry::Polygon(v) => v,
            other => other.vertices(),
        };
        out.push(Detection {
            class: class_of(feature).to_owned(),
            outline,
            measurements: measurements(at, &which, &properties["measurements"])?,
        });
    }
    Ok(out)
}

/// QuPath's measurement object (0.4 and later) or list of `{"name", "value"}` (before).
fn measurements(at: At<'_>, which: &str, value: &Value) -> Result<Vec<(String, f64)>> {
    let bad = || -> Error { at.error(format!("{which}: measurements must be numbers")) };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_f64().ok_or_else(bad)?)))
            .collect(),
        Value::Array(list) => list
            .iter()
            .map(|m| {
                let name = m["name"].as_str().ok_or_else(bad)?;
                Ok((name.to_owned(), m["value"].as_f64().ok_or_else(bad)?))
            })
            .collect(),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut GeoJsonWriter<Vec<u8>>)) -> Value {
        let mut w = GeoJsonWriter::new(Vec::new(), 7).expect("in memory");
        f(&mut w);
        serde_json::from_slice(&w.finish().expect("in memory")).expect("valid JSON")
    }

    /// The structure QuPath's `PathObjectTypeAdapter.write` gives a detection: `type`, `id`
    /// (a UUID), `geometry`, and `properties` with `objectType`, `classification` (`name`,
    /// `color` as three integers) and `measurements` as a name-to-number object.
    #[test]
    fn a_detection_is_written_as_qupath_writes_one() {
        let json = written(|w| {
            w.detection(&Detection {
                class: "Nucleus".into(),
                outline: vec![(1.0, 2.0), (5.0, 2.0), (3.0, 6.0)],
                measurements: vec![
                    ("Area µm^2".into(), 3.5),
                    ("Bad".into(), f64::NAN),
                    ("Circularity".into(), 0.75),
                ],
            })
            .expect("written");
            w.annotation(&Annotation::new(
                "Tissue",
                Geometry::Rect {
                    x: 0.0,
                    y: 0.0,
                    w: 10.0,
                    h: 10.0,
                },
            ))
            .expect("written");
        });
        assert_eq!(json["type"], "FeatureCollection");
        let d = &json["features"][0];
        assert_eq!(d["type"], "Feature");
        let id = d["id"].as_str().expect("an id");
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id} is not a UUID");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(d["geometry"]["type"], "Polygon");
        assert_eq!(
            d["geometry"]["coordinates"].to_string(),
            "[[[1.0,2.0],[5.0,2.0],[3.0,6.0],[1.0,2.0]]]"
        );
        assert_eq!(d["properties"]["objectType"], "detection");
        assert_eq!(d["properties"]["classification"]["name"], "Nucleus");
        assert_eq!(
            d["properties"]["classification"]["color"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        assert_eq!(
            d["properties"]["measurements"].to_string(),
            r#"{"Area µm^2":3.5,"Circularity":0.75}"#,
            "in order, the NaN left out"
        );
        let a = &json["features"][1];
        assert_eq!(a["properties"]["objectType"], "annotation");
        assert!(a["properties"].get("measurements").is_none());
        assert_ne!(a["id"], d["id"]);
    }

    #[test]
    fn detections_read_back_in_both_measurement_forms_and_annotations_are_skipped() {
        let text = r#"[
            {"type": "Feature", "geometry": {"type": "Polygon",
                "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]]]},
             "properties": {"objectType": "detection", "classification": {"name": "Tumor"},
                "measurements": [{"name": "Area µm^2", "value": 8}]}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 1]},
             "properties": {"objectType": "annotation"}}
        ]"#;
        let d = read("old.geojson", text).expect("readable");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class, "Tumor");
        assert_eq!(d[0].outline, vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)]);
        assert_eq!(d[0].measurements, vec![("Area µm^2".to_owned(), 8.0)]);
        let bad = text.replace("\"value\": 8", "\"value\": \"big\"");
        let e = read("old.geojson", &bad).expect_err("a measurement that is not a number");
        assert!(e.to_string().contains("old.geojson") && e.to_string().contains("numbers"));
    }
}

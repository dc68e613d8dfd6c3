//! Philips TIFF: the `DPUfsImport` XML in the first ImageDescription, tiled levels padded to
//! whole tiles (their true sizes follow from the pixel spacings in the XML), sparse tiles
//! (missing ones are white), and the label and macro as base64 JPEG inside the XML.

use base64::Engine;

use super::super::ifd::ImageIfd;
use super::super::pyramid::{Associated, Layout, plausible_magnification};
use super::super::{AssociatedKind, MAX_WHOLE_IMAGE_PIXELS, Vendor};
use super::xml::{Element, elements};

/// One `DPScannedImage` of the XML: its direct attributes, and the pixel spacings of its
/// pixel data representations (the levels, for the WSI image).
#[derive(Debug, Default)]
struct ScannedImage {
    attributes: Vec<(String, String)>,
    level_spacings: Vec<String>,
}

impl ScannedImage {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }
}

fn scanned_images(xml: &[Element]) -> Vec<ScannedImage> {
    let mut out = Vec::new();
    for (i, e) in xml.iter().enumerate() {
        if e.name != "DataObject" || e.attr("ObjectType") != Some("DPScannedImage") {
            continue;
        }
        let inside = xml[i + 1..].iter().take_while(|c| c.depth > e.depth);
        let mut image = ScannedImage::default();
        let mut representation_depth = None;
        for c in inside {
            if c.name == "DataObject" {
                representation_depth =
                    (c.attr("ObjectType") == Some("PixelDataRepresentation")).then_some(c.depth);
            }
            let Some(name) = c.attr("Name").filter(|_| c.name == "Attribute") else {
                continue;
            };
            if c.depth == e.depth + 1 {
                image.attributes.push((name.to_string(), c.text.clone()));
            } else if name == "DICOM_PIXEL_SPACING" && representation_depth == Some(c.depth - 1) {
                image.level_spacings.push(c.text.clone());
            }
        }
        out.push(image);
    }
    out
}

/// `"row" "column"` spacing in mm as (x, y).
fn spacing(text: &str) -> Result<(f64, f64), String> {
    let parts: Vec<f64> = text
        .split_whitespace()
        .map(|p| p.trim_matches('"').parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("Philips pixel spacing {text:?} is not two numbers"))?;
    match parts[..] {
        [row, column] if row > 0.0 && column > 0.0 && row.is_finite() && column.is_finite() => {
            Ok((column, row))
        }
        _ => Err(format!(
            "Philips pixel spacing {text:?} is not two positive numbers"
        )),
    }
}

/// The objective power from `DICOM_DERIVATION_DESCRIPTION` (`...-levels=20,...`), when its
/// first entry is a plausible one (OpenSlide's rule: 1 to 200).
fn objective_power(derivation: &str) -> Option<f64> {
    for item in derivation.split('-') {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        if key == "sourceFilename" {
            break;
        }
        if key == "levels" {
            let first: u64 = value.split(',').next()?.parse().ok()?;
            return (1..=200).contains(&first).then_some(first as f64);
        }
    }
    None
}

/// A base64 JPEG of the XML, with the size its header states (checked before it is ever
/// decoded).
fn encoded_image(base64_text: &str) -> Result<Associated, String> {
    let compact: String = base64_text.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("is not base64: {e}"))?;
    let (width, height) = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_dimensions()
        .map_err(|e| format!("is not a picture: {e}"))?;
    if u64::from(width) * u64::from(height) > MAX_WHOLE_IMAGE_PIXELS {
        return Err(format!("declares {width}x{height} px"));
    }
    Ok(Associated::Encoded {
        bytes,
        width,
        height,
    })
}

pub(super) fn layout(chain: &[ImageIfd]) -> Result<Layout, String> {
    let xml = elements(&chain[0].description)?;
    let root = xml.first().filter(|e| e.name == "DataObject");
    if root.and_then(|e| e.attr("ObjectType")) != Some("DPUfsImport") {
        return Err("Philips XML: the root is not a DPUfsImport DataObject".into());
    }
    let images = scanned_images(&xml);
    let of_type = |t: &'static str| {
        images
            .iter()
            .filter(move |i| i.attr("PIM_DP_IMAGE_TYPE") == Some(t))
    };
    let wsi: Vec<&ScannedImage> = of_type("WSI").collect();
    let [wsi] = wsi[..] else {
        return Err(format!(
            "Philips XML: expected one WSI image, found {}",
            wsi.len()
        ));
    };
    let levels: Vec<ImageIfd> = chain.iter().filter(|i| i.tiled).cloned().collect();
    for (i, pair) in levels.windows(2).enumerate() {
        if pair[1].width > pair[0].width || pair[1].height > pair[0].height {
            return Err(format!("Philips level {} is larger than level {i}", i + 1));
        }
    }
    if wsi.level_spacings.len() != levels.len() {
        return Err(format!(
            "Philips XML gives {} level spacings for {} tiled images",
            wsi.level_spacings.len(),
            levels.len()
        ));
    }
    let spacings = wsi
        .level_spacings
        .iter()
        .map(|s| spacing(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (sx0, sy0) = spacings[0];
    // Whole downsamples, as OpenSlide assumes, so float noise in the spacings cannot shift
    // the level sizes.
    let downsamples: Vec<f64> = spacings
        .iter()
        .map(|(sx, sy)| ((sx / sx0 + sy / sy0) / 2.0).round().max(1.0))
        .collect();
    let sizes = super::clipped_sizes(&levels, &downsamples, false);

    let mut associated = Vec::new();
    for img in chain.iter().filter(|i| !i.tiled) {
        if img.description.starts_with("Label") {
            associated.push((
                AssociatedKind::Label,
                Associated::Ifd(Box::new(img.clone())),
            ));
        } else if img.description.starts_with("Macro") {
            associated.push((
                AssociatedKind::Macro,
                Associated::Ifd(Box::new(img.clone())),
            ));
        }
    }
    for (kind, image_type) in [
        (AssociatedKind::Label, "LABELIMAGE"),
        (AssociatedKind::Macro, "MACROIMAGE"),
    ] {
        if associated.iter().any(|(k, _)| *k == kind) {
            continue;
        }
        // As in OpenSlide, a picture in the XML that cannot be read is left out, not fatal.
        if let Some(data) = of_type(image_type).find_map(|i| i.attr("PIM_DP_IMAGE_DATA"))
            && let Ok(picture) = encoded_image(data)
        {
            associated.push((kind, picture));
        }
    }
    let mpp = wsi
        .attr("DICOM_PIXEL_SPACING")
        .and_then(|s| spacing(s).ok())
        .map(|(x, y)| (x * 1e3, y * 1e3));
    let origins = vec![(0, 0); levels.len()];
    Ok(Layout {
        origins,
        vendor: Vendor::Philips,
        levels,
        sizes,
        downsamples: Some(downsamples),
        associated,
        mpp,
        objective_power: wsi
            .attr("DICOM_DERIVATION_DESCRIPTION")
            .and_then(objective_power)
            .filter(plausible_magnification),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacings_are_row_then_column_in_mm() {
        assert_eq!(
            spacing("\"0.00025\" \"0.0005\"").expect("two numbers"),
            (0.0005, 0.00025)
        );
        assert_eq!(
            spacing("  0.001   0.001 ").expect("two numbers"),
            (0.001, 0.001)
        );
        assert!(spacing("\"0.001\"").is_err());
        assert!(spacing("-1 0.5").is_err());
        assert!(spacing("x y").is_err());
    }

    #[test]
    fn objective_power_is_the_first_plausible_level() {
        assert_eq!(
            objective_power("tiff-useBigTIFF=1-levels=40,20,10-q80"),
            Some(40.0)
        );
        assert_eq!(objective_power("tiff-levels=10003,10002-q80"), None);
        assert_eq!(objective_power("sourceFilename=\"a-levels=20\""), None);
    }
}

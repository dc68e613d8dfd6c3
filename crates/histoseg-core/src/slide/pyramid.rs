//! Finding the pyramid in a TIFF: levels from the main IFD chain, from SubIFDs (OME-TIFF) and
//! Aperio's layout, the associated images (thumbnail, label, macro), vendor and resolution.

use std::collections::HashSet;
use std::io::{Read, Seek};

use super::ifd::{ImageIfd, parse_image};
use super::tiff_dir::TiffFile;
use super::{AssociatedKind, Vendor};

/// Most directories walked in one file (real slides have fewer than 20).
const MAX_IFDS: usize = 1024;

/// The images of a TIFF sorted into pyramid levels and associated images.
#[derive(Debug)]
pub(crate) struct Layout {
    pub vendor: Vendor,
    /// Largest first.
    pub levels: Vec<ImageIfd>,
    pub associated: Vec<(AssociatedKind, ImageIfd)>,
    /// Microns per pixel at level 0, x and y.
    pub mpp: Option<(f64, f64)>,
    /// Objective power, when the file says it.
    pub objective_power: Option<f64>,
}

/// Walks the main IFD chain, with cycle detection and a count limit.
fn main_chain<R: Read + Seek>(f: &mut TiffFile<R>) -> Result<Vec<ImageIfd>, String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut next = f.first_ifd;
    while next != 0 {
        if !seen.insert(next) {
            return Err(format!("the directory chain loops back to offset {next}"));
        }
        if out.len() >= MAX_IFDS {
            return Err(format!("more than {MAX_IFDS} image directories"));
        }
        let raw = f.read_ifd(next)?;
        let n = out.len();
        out.push(parse_image(f, &raw).map_err(|e| format!("image directory {n}: {e}"))?);
        next = raw.next;
    }
    if out.is_empty() {
        return Err("the file holds no image directory".into());
    }
    Ok(out)
}

/// Whether `c` could be a reduced copy of `base` (same aspect ratio within 2 %, smaller).
fn is_reduction(base: &ImageIfd, c: &ImageIfd) -> bool {
    if c.width > base.width
        || c.height > base.height
        || (c.width, c.height) == (base.width, base.height)
    {
        return false;
    }
    let dx = f64::from(base.width) / f64::from(c.width);
    let dy = f64::from(base.height) / f64::from(c.height);
    // Rounding of odd sizes: allow a pixel of slack on the smaller side.
    let slack = 2.0 / f64::from(c.width.min(c.height)) + 0.02;
    (dx / dy - 1.0).abs() <= slack
}

fn kind_from_description(d: &str) -> Option<AssociatedKind> {
    let d = d.to_ascii_lowercase();
    // Aperio puts it on the second line: "...\nlabel 387x463".
    let line = d.lines().nth(1).unwrap_or("");
    if line.starts_with("label") || d.starts_with("label") {
        Some(AssociatedKind::Label)
    } else if line.starts_with("macro") || d.starts_with("macro") {
        Some(AssociatedKind::Macro)
    } else if line.starts_with("thumbnail") || d.starts_with("thumbnail") {
        Some(AssociatedKind::Thumbnail)
    } else {
        None
    }
}

/// Value of `key = value` in Aperio's `|`-separated description.
fn aperio_field(desc: &str, key: &str) -> Option<f64> {
    desc.split('|').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim() == key)
            .then(|| v.trim().parse::<f64>().ok())
            .flatten()
    })
}

/// Value of an XML attribute `name="value"` in an OME description (first occurrence).
fn xml_attr(desc: &str, name: &str) -> Option<f64> {
    let pat = format!("{name}=\"");
    let start = desc.find(&pat)? + pat.len();
    let end = desc[start..].find('"')? + start;
    desc[start..end].parse().ok()
}

/// Sorts the images of an opened TIFF into a pyramid and associated images.
pub(crate) fn find_layout<R: Read + Seek>(f: &mut TiffFile<R>) -> Result<Layout, String> {
    let chain = main_chain(f)?;
    let base = &chain[0];
    let desc = base.description.clone();
    let vendor = if desc.starts_with("Aperio") {
        Vendor::Aperio
    } else if desc.contains("<OME") {
        Vendor::OmeTiff
    } else {
        Vendor::GenericTiff
    };
    let mut levels = vec![base.clone()];
    let mut associated = Vec::new();
    if !base.sub_ifds.is_empty() {
        // OME-TIFF / SubIFD pyramid: the reduced levels hang off the first image.
        for (i, &off) in base.sub_ifds.iter().enumerate().take(MAX_IFDS) {
            let raw = f.read_ifd(off).map_err(|e| format!("SubIFD {i}: {e}"))?;
            let img = parse_image(f, &raw).map_err(|e| format!("SubIFD {i}: {e}"))?;
            if is_reduction(base, &img) {
                levels.push(img);
            }
        }
        // Other main-chain images are other planes or series; keep the ones labelled.
        for img in chain.iter().skip(1) {
            if let Some(k) = kind_from_description(&img.description) {
                associated.push((k, img.clone()));
            }
        }
    } else {
        for (i, img) in chain.iter().enumerate().skip(1) {
            if let Some(k) = kind_from_description(&img.description) {
                associated.push((k, img.clone()));
                continue;
            }
            let macro_bit = img.subfile_type & 8 != 0;
            if vendor == Vendor::Aperio {
                // Aperio: the second image, striped, is the thumbnail; tiled ones are levels.
                if img.tiled && is_reduction(base, img) {
                    levels.push(img.clone());
                } else if i == 1 && !img.tiled {
                    associated.push((AssociatedKind::Thumbnail, img.clone()));
                } else if macro_bit {
                    associated.push((AssociatedKind::Macro, img.clone()));
                }
            } else if macro_bit {
                associated.push((AssociatedKind::Macro, img.clone()));
            } else if is_reduction(base, img) {
                levels.push(img.clone());
            }
        }
    }
    levels.sort_by(|a, b| b.width.cmp(&a.width).then(b.height.cmp(&a.height)));
    levels.dedup_by(|a, b| (a.width, a.height) == (b.width, b.height));

    let mut mpp = None;
    let mut objective_power = None;
    match vendor {
        Vendor::Aperio => {
            if let Some(m) = aperio_field(&desc, "MPP").filter(|m| *m > 0.0 && m.is_finite()) {
                mpp = Some((m, m));
            }
            objective_power = aperio_field(&desc, "AppMag");
        }
        Vendor::OmeTiff => {
            if let (Some(x), Some(y)) = (
                xml_attr(&desc, "PhysicalSizeX"),
                xml_attr(&desc, "PhysicalSizeY"),
            ) {
                // Micrometres is OME's default unit; other units are not converted.
                let unit_ok = !desc.contains("PhysicalSizeXUnit=\"")
                    || desc.contains("PhysicalSizeXUnit=\"µm\"");
                if unit_ok && x > 0.0 && y > 0.0 {
                    mpp = Some((x, y));
                }
            }
            objective_power = xml_attr(&desc, "NominalMagnification");
        }
        _ => {}
    }
    if mpp.is_none() {
        mpp = base.resolution_mpp();
    }
    Ok(Layout {
        vendor,
        levels,
        associated,
        mpp,
        objective_power,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aperio_fields() {
        let d = "Aperio Image Library v11\r\n46000x32914 |AppMag = 20|MPP = 0.4990|Left = 25.6";
        assert_eq!(aperio_field(d, "MPP"), Some(0.499));
        assert_eq!(aperio_field(d, "AppMag"), Some(20.0));
        assert_eq!(aperio_field(d, "Nope"), None);
    }

    #[test]
    fn reads_ome_attributes() {
        let d = r#"<OME><Pixels PhysicalSizeX="0.25" PhysicalSizeY="0.5"/></OME>"#;
        assert_eq!(xml_attr(d, "PhysicalSizeX"), Some(0.25));
        assert_eq!(xml_attr(d, "PhysicalSizeY"), Some(0.5));
    }

    #[test]
    fn names_associated_images() {
        assert_eq!(
            kind_from_description("Aperio x\nlabel 387x463"),
            Some(AssociatedKind::Label)
        );
        assert_eq!(
            kind_from_description("Aperio x\nmacro 1280x431"),
            Some(AssociatedKind::Macro)
        );
        assert_eq!(
            kind_from_description("Aperio x\n2220x2967 -> 574x768"),
            None
        );
    }
}

//! Finding the pyramid in a TIFF: levels from the main IFD chain, from SubIFDs (OME-TIFF) and
//! Aperio's layout, the associated images (thumbnail, label, macro), vendor and resolution.

use std::collections::HashSet;
use std::io::{Read, Seek};

use super::ifd::{ImageIfd, parse_image};
use super::tiff_dir::TiffFile;
use super::{AssociatedKind, Vendor};

/// Most directories walked in one file (real slides have fewer than 20).
const MAX_IFDS: usize = 1024;

/// An associated image: a TIFF image, or a picture the format keeps elsewhere (Philips puts
/// its label and macro in the XML as base64 JPEG).
#[derive(Debug, Clone)]
pub(crate) enum Associated {
    Ifd(Box<ImageIfd>),
    Encoded {
        bytes: Vec<u8>,
        width: u32,
        height: u32,
    },
}

impl Associated {
    pub fn size(&self) -> (u32, u32) {
        match self {
            Associated::Ifd(ifd) => (ifd.width, ifd.height),
            Associated::Encoded { width, height, .. } => (*width, *height),
        }
    }

    pub fn compression_name(&self) -> String {
        match self {
            Associated::Ifd(ifd) => ifd.compression_name(),
            Associated::Encoded { .. } => "JPEG (in the metadata)".into(),
        }
    }
}

/// The images of a TIFF sorted into pyramid levels and associated images.
#[derive(Debug)]
pub(crate) struct Layout {
    pub vendor: Vendor,
    /// Largest first.
    pub levels: Vec<ImageIfd>,
    /// Each level's size: its image's, or less where the format pads its images (Philips,
    /// Ventana) and states the true size elsewhere.
    pub sizes: Vec<(u32, u32)>,
    /// Where each level's image starts inside the level (Leica places its image inside a
    /// larger collection; (0, 0) elsewhere). The level outside its image is white.
    pub origins: Vec<(u32, u32)>,
    /// Each level's downsample where the format states it (Philips' whole numbers), else
    /// `None`: the mean of the size ratios to level 0.
    pub downsamples: Option<Vec<f64>>,
    pub associated: Vec<(AssociatedKind, Associated)>,
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

pub(crate) fn kind_from_description(d: &str) -> Option<AssociatedKind> {
    let d = d.to_ascii_lowercase();
    // Aperio puts it on a later line: "...\r\nlabel 387x463", sometimes after an empty one.
    let kinds = [
        ("label", AssociatedKind::Label),
        ("macro", AssociatedKind::Macro),
        ("thumbnail", AssociatedKind::Thumbnail),
    ];
    d.lines().take(3).find_map(|line| {
        let line = line.trim();
        kinds
            .iter()
            .find(|(word, _)| line.starts_with(word))
            .map(|(_, kind)| *kind)
    })
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

/// Which image of the main chain is level 0: the largest one without an associated image's
/// description or the macro bit (tiled before striped at equal size); the first image where
/// none fits.
/// A SubIFD pyramid hangs off the first image, so that one stays level 0 there.
fn base_index(chain: &[ImageIfd]) -> usize {
    if !chain[0].sub_ifds.is_empty() {
        return 0;
    }
    chain
        .iter()
        .enumerate()
        .filter(|(_, img)| {
            kind_from_description(&img.description).is_none() && img.subfile_type & 8 == 0
        })
        .max_by_key(|(i, img)| {
            let area = u64::from(img.width) * u64::from(img.height);
            (area, img.tiled, std::cmp::Reverse(*i))
        })
        .map_or(0, |(i, _)| i)
}

/// Sorts the images of an opened TIFF into a pyramid and associated images.
pub(crate) fn find_layout<R: Read + Seek>(f: &mut TiffFile<R>) -> Result<Layout, String> {
    let chain = main_chain(f)?;
    if let Some(layout) = super::vendor::layout(f, &chain)? {
        return Ok(layout);
    }
    generic_layout(f, chain)
}

/// Aperio, OME-TIFF and any other TIFF pyramid.
fn generic_layout<R: Read + Seek>(
    f: &mut TiffFile<R>,
    mut chain: Vec<ImageIfd>,
) -> Result<Layout, String> {
    // Level 0 is the largest image that is not a label, macro or thumbnail, wherever it stands
    // (files written out of order put the thumbnail first); the others keep their order.
    let base_index = base_index(&chain);
    let base_image = chain.remove(base_index);
    chain.insert(0, base_image);
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
        for img in chain.iter().skip(1) {
            if let Some(k) = kind_from_description(&img.description) {
                associated.push((k, img.clone()));
                continue;
            }
            let macro_bit = img.subfile_type & 8 != 0;
            if vendor == Vendor::Aperio {
                // Aperio: the first striped image after level 0 is the thumbnail; tiled ones
                // are levels.
                let thumbnail_known = associated
                    .iter()
                    .any(|(k, _)| *k == AssociatedKind::Thumbnail);
                if img.tiled && is_reduction(base, img) {
                    levels.push(img.clone());
                } else if !img.tiled && img.subfile_type == 1 && thumbnail_known {
                    // As OpenSlide reads Aperio: a reduced-image bit alone marks the label.
                    associated.push((AssociatedKind::Label, img.clone()));
                } else if !img.tiled && !macro_bit && !thumbnail_known {
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
            objective_power = aperio_field(&desc, "AppMag").filter(plausible_magnification);
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
            objective_power =
                xml_attr(&desc, "NominalMagnification").filter(plausible_magnification);
        }
        _ => {}
    }
    if mpp.is_none() {
        mpp = base.resolution_mpp();
    }
    Ok(Layout {
        vendor,
        sizes: levels.iter().map(|l| (l.width, l.height)).collect(),
        origins: vec![(0, 0); levels.len()],
        downsamples: None,
        levels,
        associated: associated
            .into_iter()
            .map(|(kind, ifd)| (kind, Associated::Ifd(Box::new(ifd))))
            .collect(),
        mpp,
        objective_power,
    })
}

/// An objective power a microscope can have (a file's -1 or 1e300 is no magnification at all).
pub(crate) fn plausible_magnification(power: &f64) -> bool {
    (0.1..=1000.0).contains(power)
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
    fn impossible_magnifications_are_dropped() {
        for (power, kept) in [
            (20.0, true),
            (0.5, true),
            (-1.0, false),
            (0.0, false),
            (1e300, false),
        ] {
            assert_eq!(plausible_magnification(&power), kept, "{power}");
        }
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
            kind_from_description("Aperio x\r\n\nlabel 387x463"),
            Some(AssociatedKind::Label)
        );
        assert_eq!(
            kind_from_description("Aperio x\n2220x2967 -> 574x768"),
            None
        );
    }
}

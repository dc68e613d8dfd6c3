//! The scanner formats that are TIFF underneath, each read as OpenSlide reads it: Hamamatsu
//! NDPI, Philips TIFF, Leica SCN and Ventana BIF. Each module tells its files apart by what OpenSlide
//! checks and sorts their images into a [`Layout`]; files none of them claims are read as
//! Aperio, OME or generic TIFF pyramids (`super::pyramid`).

mod leica;
mod ndpi;
mod philips;
mod ventana;
mod xml;

use std::io::{Read, Seek};

use super::ifd::ImageIfd;
use super::pyramid::Layout;
use super::tiff_dir::TiffFile;

/// The layout of a vendor's TIFF, or `None` when the file is not one of theirs.
pub(crate) fn layout<R: Read + Seek>(
    f: &mut TiffFile<R>,
    chain: &[ImageIfd],
) -> Result<Option<Layout>, String> {
    let first = &chain[0];
    if first.ndpi.is_some() {
        return ndpi::layout(f, chain).map(Some);
    }
    if first.software.starts_with("Philips") && first.description.contains("<DataObject") {
        return philips::layout(chain).map(Some);
    }
    if leica::is_scn(&first.description) {
        return leica::layout(chain).map(Some);
    }
    if first.xmp.as_deref().is_some_and(|x| x.contains("iScan")) {
        return ventana::layout(chain).map(Some);
    }
    Ok(None)
}

/// Sizes of the levels when each is level 0 divided by its downsample, padding cut off (as
/// OpenSlide does for formats that pad their reduced images to whole tiles).
fn clipped_sizes(levels: &[ImageIfd], downsamples: &[f64], round_up: bool) -> Vec<(u32, u32)> {
    let (w0, h0) = (f64::from(levels[0].width), f64::from(levels[0].height));
    levels
        .iter()
        .zip(downsamples)
        .map(|(l, &ds)| {
            let side = |s: f64, stored: u32| {
                let s = if round_up {
                    (s / ds).ceil()
                } else {
                    (s / ds).floor()
                };
                (s.max(1.0) as u32).min(stored)
            };
            (side(w0, l.width), side(h0, l.height))
        })
        .collect()
}

//! Tiling schemes: the whole image, an `n x n` grid, or square patches of a size and stride,
//! and the drop-empty filter (the paper's "zero" variants).
//!
//! A patch scheme `NpMs` places patches of `N` pixels every `M` pixels from the top-left
//! corner. When the last patch does not reach the right (bottom) edge, one more patch is set
//! flush with that edge, so every pixel is covered and every patch has the full size. On a
//! 1024x1024 image `512p256s`, `256p128s` and `128p64s` give 3, 7 and 15 positions per axis
//! (9, 49 and 225 patches) with no extra patch; `grid2` (the paper's "1/4") gives 4 quarters.

use std::fmt;
use std::str::FromStr;

use image::{GenericImageView, GrayImage, ImageBuffer, Pixel, imageops};
use serde::{Deserialize, Serialize};

use super::Buffer;
use crate::rect::Rect;
use crate::{Error, Result};

/// How an image is cut into samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scheme {
    /// The whole image is one sample.
    Original,
    /// An `n x n` grid of equal cells (the last row and column take any remainder).
    Grid(u32),
    /// Square patches of `patch` pixels every `stride` pixels.
    Patches {
        /// Side of a patch in pixels.
        patch: u32,
        /// Step between neighbouring patches in pixels.
        stride: u32,
    },
}

impl Scheme {
    /// The paper's schemes in the order of its tables.
    pub const PAPER: [Scheme; 5] = [
        Scheme::Original,
        Scheme::Grid(2),
        Scheme::Patches {
            patch: 512,
            stride: 256,
        },
        Scheme::Patches {
            patch: 256,
            stride: 128,
        },
        Scheme::Patches {
            patch: 128,
            stride: 64,
        },
    ];

    /// The rectangles of the samples of a `width x height` image, row by row.
    ///
    /// ```
    /// use histoseg_core::dataset::tiling::Scheme;
    /// use histoseg_core::rect::Rect;
    /// let s: Scheme = "512p256s".parse().unwrap();
    /// let r = s.rects(1024, 1024).unwrap();
    /// assert_eq!(r.len(), 9);
    /// assert_eq!(r[1], Rect::new(256, 0, 512, 512));
    /// // 700 is not reached by 0, 256: a last patch is set flush with the edge.
    /// let r = s.rects(700, 512).unwrap();
    /// assert_eq!(r, vec![Rect::new(0, 0, 512, 512), Rect::new(188, 0, 512, 512)]);
    /// ```
    pub fn rects(&self, width: u32, height: u32) -> Result<Vec<Rect>> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidParameter {
                name: "image size",
                problem: format!("cannot tile an empty {width}x{height} image"),
            });
        }
        match *self {
            Scheme::Original => Ok(vec![Rect::new(0, 0, width, height)]),
            Scheme::Grid(n) => {
                if n == 0 || n > width || n > height {
                    return Err(Error::InvalidParameter {
                        name: "scheme",
                        problem: format!("grid{n} does not fit a {width}x{height} image"),
                    });
                }
                let cuts = |len: u32| -> Vec<(u32, u32)> {
                    (0..n)
                        .map(|i| {
                            let a = (u64::from(len) * u64::from(i) / u64::from(n)) as u32;
                            let b = (u64::from(len) * u64::from(i + 1) / u64::from(n)) as u32;
                            (a, b - a)
                        })
                        .collect()
                };
                let (xs, ys) = (cuts(width), cuts(height));
                Ok(ys
                    .iter()
                    .flat_map(|&(y, h)| xs.iter().map(move |&(x, w)| Rect::new(x, y, w, h)))
                    .collect())
            }
            Scheme::Patches { patch, stride } => {
                if patch == 0 || stride == 0 || stride > patch {
                    return Err(Error::InvalidParameter {
                        name: "scheme",
                        problem: format!(
                            "{self}: patch and stride must be positive and the stride at most the \
                             patch, or pixels would be left out"
                        ),
                    });
                }
                if patch > width || patch > height {
                    return Err(Error::InvalidParameter {
                        name: "scheme",
                        problem: format!(
                            "{self}: a {patch} px patch does not fit {width}x{height}"
                        ),
                    });
                }
                let (xs, ys) = (starts(width, patch, stride), starts(height, patch, stride));
                Ok(ys
                    .iter()
                    .flat_map(|&y| xs.iter().map(move |&x| Rect::new(x, y, patch, patch)))
                    .collect())
            }
        }
    }
}

/// Patch starts along one axis: `0, stride, ...` while the patch fits, plus one flush with the
/// end when the last does not reach it. Requires `1 <= patch <= len`.
fn starts(len: u32, patch: u32, stride: u32) -> Vec<u32> {
    let mut out: Vec<u32> = (0..=(len - patch) / stride).map(|i| i * stride).collect();
    if out.last().is_some_and(|&s| s + patch < len) {
        out.push(len - patch);
    }
    out
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Original => f.write_str("original"),
            Scheme::Grid(n) => write!(f, "grid{n}"),
            Scheme::Patches { patch, stride } => write!(f, "{patch}p{stride}s"),
        }
    }
}

impl FromStr for Scheme {
    type Err = Error;

    /// Parses `original`, `gridN` (`grid2` is the paper's "1/4") or `NpMs`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |problem: &str| Error::InvalidParameter {
            name: "scheme",
            problem: format!(
                "'{s}' {problem}; expected original, gridN (e.g. grid2) or NpMs (e.g. 256p128s)"
            ),
        };
        let lower = s.trim().to_ascii_lowercase();
        if lower == "original" {
            return Ok(Scheme::Original);
        }
        if let Some(n) = lower.strip_prefix("grid") {
            let n: u32 = n.parse().map_err(|_| bad("has no grid size"))?;
            if n == 0 {
                return Err(bad("has a zero grid size"));
            }
            return Ok(Scheme::Grid(n));
        }
        let body = lower
            .strip_suffix('s')
            .ok_or_else(|| bad("is not a scheme"))?;
        let (p, st) = body.split_once('p').ok_or_else(|| bad("is not a scheme"))?;
        let patch: u32 = p.parse().map_err(|_| bad("has no patch size"))?;
        let stride: u32 = st.parse().map_err(|_| bad("has no stride"))?;
        if patch == 0 || stride == 0 {
            return Err(bad("has a zero patch or stride"));
        }
        if stride > patch {
            return Err(bad(
                "has a stride larger than the patch (pixels would be skipped)",
            ));
        }
        Ok(Scheme::Patches { patch, stride })
    }
}

impl TryFrom<String> for Scheme {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Scheme> for String {
    fn from(s: Scheme) -> String {
        s.to_string()
    }
}

/// One planned sample: where it lies and whether its mask is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPatch {
    /// The patch in the (squared) image.
    pub rect: Rect,
    /// Whether no mask pixel inside is labelled (non-zero).
    pub empty: bool,
}

/// Whether the mask has no non-zero pixel inside `rect` (clipped to the mask).
pub fn is_empty(mask: &GrayImage, rect: Rect) -> bool {
    let (w, h) = mask.dimensions();
    let x1 = rect.right().min(u64::from(w)) as u32;
    let y1 = rect.bottom().min(u64::from(h)) as u32;
    let raw = mask.as_raw();
    (rect.y..y1).all(|y| {
        let row = y as usize * w as usize;
        raw[row + rect.x as usize..row + x1 as usize]
            .iter()
            .all(|&v| v == 0)
    })
}

/// The samples of `scheme` on `mask`, each flagged empty or not; with `drop_empty` the empty
/// ones are left out (a patch with no labelled pixel has no labelled nucleus in it).
///
/// ```
/// use histoseg_core::dataset::tiling::{Scheme, plan};
/// use image::{GrayImage, Luma};
/// let mut mask = GrayImage::new(8, 8);
/// mask.put_pixel(1, 1, Luma([255]));
/// let all = plan(&mask, Scheme::Grid(2), false).unwrap();
/// assert_eq!(all.iter().filter(|p| p.empty).count(), 3);
/// let kept = plan(&mask, Scheme::Grid(2), true).unwrap();
/// assert_eq!(kept.len(), 1);
/// ```
pub fn plan(mask: &GrayImage, scheme: Scheme, drop_empty: bool) -> Result<Vec<PlannedPatch>> {
    let (w, h) = mask.dimensions();
    Ok(scheme
        .rects(w, h)?
        .into_iter()
        .map(|rect| PlannedPatch {
            rect,
            empty: is_empty(mask, rect),
        })
        .filter(|p| !(drop_empty && p.empty))
        .collect())
}

/// A copy of `rect` of the image (clipped to it).
pub fn crop<P: Pixel + 'static>(image: &Buffer<P>, rect: Rect) -> Buffer<P> {
    imageops::crop_imm(image, rect.x, rect.y, rect.w, rect.h).to_image()
}

/// Pastes patches back at their rectangles on a `width x height` canvas (later patches win
/// where they overlap): the inverse of cutting, for checks and for stitching predictions.
pub fn reassemble<P: Pixel + 'static>(
    patches: &[(Rect, Buffer<P>)],
    width: u32,
    height: u32,
) -> Buffer<P> {
    let mut out = ImageBuffer::new(width, height);
    for (rect, patch) in patches {
        let view = patch.view(0, 0, patch.width(), patch.height());
        imageops::replace(&mut out, &*view, i64::from(rect.x), i64::from(rect.y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};
    use proptest::prelude::*;

    #[test]
    fn paper_schemes_give_the_paper_counts_on_1024() {
        let counts: Vec<usize> = Scheme::PAPER
            .iter()
            .map(|s| s.rects(1024, 1024).map(|r| r.len()).unwrap_or(0))
            .collect();
        assert_eq!(counts, vec![1, 4, 9, 49, 225]);
    }

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for s in Scheme::PAPER {
            assert_eq!(s.to_string().parse::<Scheme>().ok(), Some(s));
        }
        assert_eq!("grid2".parse::<Scheme>().ok(), Some(Scheme::Grid(2)));
        for bad in [
            "", "grid", "grid0", "256p", "p128s", "128p256s", "0p0s", "tiles",
        ] {
            let err = bad
                .parse::<Scheme>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("scheme"), "{bad:?} -> {err:?}");
        }
    }

    #[test]
    fn too_large_patches_are_refused() {
        let s = Scheme::Patches {
            patch: 512,
            stride: 256,
        };
        assert!(s.rects(300, 1024).is_err());
        assert!(Scheme::Grid(3).rects(2, 2).is_err());
    }

    proptest! {
        #[test]
        fn patches_cover_every_pixel_and_stay_inside(
            w in 1u32..300, h in 1u32..300, patch in 1u32..120, stride_frac in 1u32..=100,
        ) {
            let patch = patch.min(w).min(h);
            let stride = (patch * stride_frac / 100).max(1);
            let rects = Scheme::Patches { patch, stride }.rects(w, h).unwrap_or_default();
            prop_assert!(!rects.is_empty());
            let mut covered = vec![false; (w * h) as usize];
            for r in &rects {
                prop_assert!(Rect::new(0, 0, w, h).contains(r));
                prop_assert_eq!((r.w, r.h), (patch, patch));
                for y in r.y..r.y + r.h {
                    for x in r.x..r.x + r.w {
                        covered[(y * w + x) as usize] = true;
                    }
                }
            }
            prop_assert!(covered.iter().all(|&c| c));
        }

        #[test]
        fn grid_cells_partition_the_image(w in 1u32..200, h in 1u32..200, n in 1u32..6) {
            prop_assume!(n <= w && n <= h);
            let rects = Scheme::Grid(n).rects(w, h).unwrap_or_default();
            prop_assert_eq!(rects.len() as u32, n * n);
            prop_assert_eq!(rects.iter().map(|r| r.area()).sum::<u64>(), u64::from(w * h));
            for (i, a) in rects.iter().enumerate() {
                for b in &rects[i + 1..] {
                    prop_assert!(!a.intersects(b));
                }
            }
        }

        #[test]
        fn cut_then_reassembled_gives_the_image_back(
            w in 8u32..90, h in 8u32..90, patch in 4u32..40, stride_frac in 20u32..=100,
        ) {
            let patch = patch.min(w).min(h);
            let stride = (patch * stride_frac / 100).max(1);
            let img = RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
            for scheme in [Scheme::Patches { patch, stride }, Scheme::Grid(2), Scheme::Original] {
                let parts: Vec<_> = scheme
                    .rects(w, h)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| (r, crop(&img, r)))
                    .collect();
                prop_assert_eq!(&reassemble(&parts, w, h), &img);
            }
        }

        #[test]
        fn emptiness_matches_a_naive_scan(
            w in 4u32..40, h in 4u32..40, dots in proptest::collection::vec((0u32..40, 0u32..40), 0..4),
        ) {
            let mut mask = GrayImage::new(w, h);
            for (x, y) in dots {
                if x < w && y < h {
                    mask.put_pixel(x, y, Luma([1]));
                }
            }
            for p in plan(&mask, Scheme::Patches { patch: 4.min(w).min(h), stride: 2 }, false)
                .unwrap_or_default()
            {
                let naive = (p.rect.y..p.rect.y + p.rect.h)
                    .all(|y| (p.rect.x..p.rect.x + p.rect.w).all(|x| mask.get_pixel(x, y)[0] == 0));
                prop_assert_eq!(p.empty, naive);
            }
        }
    }
}

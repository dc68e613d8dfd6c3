//! Whole-image inference: cut the image into overlapping tiles, run the model on batches of
//! tiles, and blend the sigmoid probabilities back with weights that fade out over the overlap.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use image::RgbImage;

use crate::error::{ModelError, Result};
use crate::segmenter::Segmenter;
use crate::weight_map::FloatMap;

/// How an image is cut for inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileParams {
    /// Tile side in pixels (the model pads smaller images).
    pub tile: u32,
    /// Overlap between neighbouring tiles, blended linearly.
    pub overlap: u32,
    /// Tiles per forward pass.
    pub batch: usize,
}

impl Default for TileParams {
    fn default() -> Self {
        Self {
            tile: 256,
            overlap: 32,
            batch: 4,
        }
    }
}

impl TileParams {
    /// Refuses tiles that cannot cover an image.
    pub fn validate(&self) -> Result<()> {
        if self.tile == 0 || self.overlap >= self.tile || self.batch == 0 {
            return Err(ModelError::Config(format!(
                "tiling needs tile >= 1, overlap < tile and batch >= 1, got tile {}, overlap {}, \
                 batch {}",
                self.tile, self.overlap, self.batch
            )));
        }
        Ok(())
    }
}

/// Tile origins along one axis of `length` pixels: step `tile - overlap`, the last tile flush
/// with the end. Every pixel is covered.
pub fn tile_origins(length: u32, tile: u32, overlap: u32) -> Vec<u32> {
    if length <= tile {
        return vec![0];
    }
    let step = (tile - overlap).max(1);
    let mut origins: Vec<u32> = (0..length - tile).step_by(step as usize).collect();
    origins.push(length - tile);
    origins
}

/// One tile: origin and size in image pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (at most the tile side).
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// All tiles covering a `width` x `height` image, row by row.
pub fn plan_tiles(width: u32, height: u32, params: &TileParams) -> Vec<Tile> {
    let xs = tile_origins(width, params.tile, params.overlap);
    let ys = tile_origins(height, params.tile, params.overlap);
    ys.iter()
        .flat_map(|&y| {
            xs.iter().map(move |&x| Tile {
                x,
                y,
                width: params.tile.min(width),
                height: params.tile.min(height),
            })
        })
        .collect()
}

/// Accumulates tile probabilities with blending weights and gives back the stitched map.
#[derive(Debug)]
pub struct Blender {
    width: u32,
    height: u32,
    overlap: u32,
    sum: Vec<f32>,
    weight: Vec<f32>,
}

impl Blender {
    /// An empty accumulator for a `width` x `height` image.
    pub fn new(width: u32, height: u32, overlap: u32) -> Self {
        let n = width as usize * height as usize;
        Self {
            width,
            height,
            overlap,
            sum: vec![0.0; n],
            weight: vec![0.0; n],
        }
    }

    /// Ramp from the tile edge: full weight beyond `overlap` pixels, and at image borders.
    fn ramp(&self, offset: u32, size: u32, origin: u32, image_size: u32) -> f32 {
        let from_start = if origin == 0 { u32::MAX } else { offset };
        let from_end = if origin + size >= image_size {
            u32::MAX
        } else {
            size - 1 - offset
        };
        let d = from_start.min(from_end);
        if d >= self.overlap {
            1.0
        } else {
            (d as f32 + 1.0) / (self.overlap as f32 + 1.0)
        }
    }

    /// Adds one tile's probabilities (row-major, `tile.width * tile.height`).
    pub fn add(&mut self, tile: Tile, probabilities: &[f32]) {
        for ty in 0..tile.height {
            let wy = self.ramp(ty, tile.height, tile.y, self.height);
            for tx in 0..tile.width {
                let w = wy * self.ramp(tx, tile.width, tile.x, self.width);
                let i = ((tile.y + ty) * self.width + tile.x + tx) as usize;
                self.sum[i] += w * probabilities[(ty * tile.width + tx) as usize];
                self.weight[i] += w;
            }
        }
    }

    /// The blended probability map.
    pub fn finish(self) -> FloatMap {
        let data = self
            .sum
            .iter()
            .zip(&self.weight)
            .map(|(s, w)| if *w > 0.0 { s / w } else { 0.0 });
        FloatMap::from_raw(self.width, self.height, data.collect())
            .unwrap_or_else(|| FloatMap::new(self.width, self.height))
    }
}

/// Planar `[3, h, w]` floats in `[0, 1]` of a region of `image`.
pub fn tile_input(image: &RgbImage, tile: Tile) -> Vec<f32> {
    let plane = (tile.width * tile.height) as usize;
    let mut out = vec![0.0; 3 * plane];
    for y in 0..tile.height {
        for x in 0..tile.width {
            let p = image.get_pixel(tile.x + x, tile.y + y);
            let i = (y * tile.width + x) as usize;
            for c in 0..3 {
                out[c * plane + i] = f32::from(p[c]) / 255.0;
            }
        }
    }
    out
}

/// Starts `model` on a batch of equal-sized tiles: the probabilities of the first class,
/// `[n, 1, h, w]`, not yet read back.
fn run_batch(model: &Segmenter, image: &RgbImage, tiles: &[Tile], device: &Device) -> Tensor<4> {
    let (w, h) = (tiles[0].width as usize, tiles[0].height as usize);
    let input: Vec<f32> = tiles.iter().flat_map(|t| tile_input(image, *t)).collect();
    let x = Tensor::<4>::from_data(TensorData::new(input, [tiles.len(), 3, h, w]), device);
    sigmoid(model.forward(x).narrow(1, 0, 1))
}

/// Blends a batch read back from the device.
fn blend_batch<E: std::fmt::Debug>(
    blender: &mut Blender,
    tiles: &[Tile],
    data: std::result::Result<TensorData, E>,
) -> Result<()> {
    let values: Vec<f32> = data
        .map_err(|e| ModelError::Input(format!("reading the model output: {e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Input(format!("reading the model output: {e:?}")))?;
    let plane = (tiles[0].width * tiles[0].height) as usize;
    for (tile, probabilities) in tiles.iter().zip(values.chunks(plane)) {
        blender.add(*tile, probabilities);
    }
    Ok(())
}

/// The tiles of `image` and an empty blender, after checking the inputs.
fn start(image: &RgbImage, params: &TileParams) -> Result<(Vec<Tile>, Blender)> {
    params.validate()?;
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 {
        return Err(ModelError::Input("the image is empty".into()));
    }
    Ok((
        plan_tiles(width, height, params),
        Blender::new(width, height, params.overlap),
    ))
}

fn cancelled() -> ModelError {
    ModelError::Input("inference cancelled".into())
}

/// Probability map of `image`, tiled per `params`. `progress(done, total)` is called after each
/// batch; returning `false` cancels the run with an error.
pub fn predict_probabilities(
    model: &Segmenter,
    image: &RgbImage,
    device: &Device,
    params: &TileParams,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<FloatMap> {
    let (tiles, mut blender) = start(image, params)?;
    for (i, batch) in tiles.chunks(params.batch).enumerate() {
        let data = run_batch(model, image, batch, device).try_into_data();
        blend_batch(&mut blender, batch, data)?;
        if !progress(
            (i * params.batch + batch.len()).min(tiles.len()),
            tiles.len(),
        ) {
            return Err(cancelled());
        }
    }
    Ok(blender.finish())
}

/// [`predict_probabilities`] for the browser, where reading from the GPU must not block.
/// `progress(done, total)` returns a future, so the caller can yield to its event loop between
/// batches (and notice a cancel request there); resolving to `false` cancels the run.
pub async fn predict_probabilities_async<F>(
    model: &Segmenter,
    image: &RgbImage,
    device: &Device,
    params: &TileParams,
    mut progress: impl FnMut(usize, usize) -> F,
) -> Result<FloatMap>
where
    F: std::future::Future<Output = bool>,
{
    let (tiles, mut blender) = start(image, params)?;
    for (i, batch) in tiles.chunks(params.batch).enumerate() {
        let data = run_batch(model, image, batch, device)
            .into_data_async()
            .await;
        blend_batch(&mut blender, batch, data)?;
        if !progress(
            (i * params.batch + batch.len()).min(tiles.len()),
            tiles.len(),
        )
        .await
        {
            return Err(cancelled());
        }
    }
    Ok(blender.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_pixel_and_blend_to_the_input() {
        for (w, h, tile, overlap) in [(300, 200, 128, 32), (64, 64, 128, 16), (257, 129, 64, 8)] {
            let params = TileParams {
                tile,
                overlap,
                batch: 2,
            };
            let mut blender = Blender::new(w, h, overlap);
            for t in plan_tiles(w, h, &params) {
                assert!(t.x + t.width <= w && t.y + t.height <= h);
                // Each tile "predicts" the x coordinate: blending must give it back exactly.
                let p: Vec<f32> = (0..t.height)
                    .flat_map(|_| (0..t.width).map(move |x| (t.x + x) as f32))
                    .collect();
                blender.add(t, &p);
            }
            let map = blender.finish();
            for (x, _, v) in map.enumerate_pixels() {
                assert!((v[0] - x as f32).abs() < 1e-3, "({w}x{h}) x={x}: {}", v[0]);
            }
        }
    }

    #[test]
    fn origins_end_flush() {
        assert_eq!(tile_origins(300, 128, 32), vec![0, 96, 172]);
        assert_eq!(tile_origins(100, 128, 32), vec![0]);
        assert_eq!(tile_origins(128, 128, 32), vec![0]);
    }
}

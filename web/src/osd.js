// An OpenSeadragon plugin: a tile source that serves a local slide through the wasm reader
// (every tile is a `readRegion` in the worker; no server, nothing uploaded), and an overlay
// that draws tissue regions and annotations (level-0 pixels) on any OpenSeadragon viewer.
// OpenSeadragon itself is passed in, so the page keeps whichever copy it already loads.
import { drawAnnotations, drawRects } from './osd-draw.js';
import { toImageData } from './index.js';

export { drawAnnotations, drawRects } from './osd-draw.js';

/** @typedef {import('./index.js').Slide} Slide */
/** @typedef {import('./index.js').Annotation} Annotation */
/** @typedef {import('./index.js').Rect} Rect */

let nextSource = 1;

/**
 * The slide level to read for a tile shown at `downsample`: the coarsest level that is still
 * at least as sharp.
 * @param {{downsample: number}[]} levels
 * @param {number} downsample
 */
export function levelFor(levels, downsample) {
  let best = 0;
  for (const [i, l] of levels.entries()) {
    if (l.downsample <= downsample * 1.001 && l.downsample > levels[best].downsample) best = i;
  }
  return best;
}

/**
 * Where tile (`level`, `x`, `y`) of an OpenSeadragon pyramid over a `width` x `height` image
 * lies: its level-0 rectangle, its downsample and its size in pixels.
 * @param {number} width @param {number} height @param {number} tileSize @param {number} maxLevel
 * @param {number} level @param {number} x @param {number} y
 */
export function tileRect(width, height, tileSize, maxLevel, level, x, y) {
  const downsample = 2 ** (maxLevel - level);
  const levelWidth = Math.ceil(width / downsample);
  const levelHeight = Math.ceil(height / downsample);
  const tw = Math.min(tileSize, levelWidth - x * tileSize);
  const th = Math.min(tileSize, levelHeight - y * tileSize);
  const x0 = x * tileSize * downsample;
  const y0 = y * tileSize * downsample;
  return {
    downsample, tileWidth: tw, tileHeight: th,
    rect: { x: x0, y: y0, w: Math.min(tw * downsample, width - x0), h: Math.min(th * downsample, height - y0) },
  };
}

/** @param {import('./index.js').Picture} picture */
function pictureCanvas(picture) {
  const canvas = document.createElement('canvas');
  canvas.width = picture.width;
  canvas.height = picture.height;
  canvas.getContext('2d').putImageData(toImageData(picture), 0, 0);
  return canvas;
}

/**
 * An OpenSeadragon tile source over an open slide. Coarse tiles are cut from one overview
 * (read once); finer ones are read from the sharpest needed pyramid level, tile by tile.
 * @param {any} OpenSeadragon the OpenSeadragon namespace
 * @param {Slide} slide
 * @param {{tileSize?: number, overviewSide?: number}} [options]
 */
export async function slideTileSource(OpenSeadragon, slide, { tileSize = 256, overviewSide = 1024 } = {}) {
  const levels = slide.info.levels;
  const { width, height } = levels[0];
  const maxLevel = Math.ceil(Math.log2(Math.max(width, height)));
  const overview = pictureCanvas(await slide.overview(overviewSide));
  const overviewDownsample = Math.max(width / overview.width, height / overview.height);
  const id = `histoseg-${nextSource++}`;

  /** Draws one tile into a new 2D context. */
  async function renderTile(level, x, y) {
    const t = tileRect(width, height, tileSize, maxLevel, level, x, y);
    const canvas = document.createElement('canvas');
    canvas.width = t.tileWidth;
    canvas.height = t.tileHeight;
    const ctx = canvas.getContext('2d');
    const { x: rx, y: ry, w: rw, h: rh } = t.rect;
    if (t.downsample >= overviewDownsample) {
      const s = 1 / overviewDownsample;
      ctx.drawImage(overview, rx * s, ry * s, rw * s, rh * s, 0, 0, rw / t.downsample, rh / t.downsample);
      return ctx;
    }
    const l = levelFor(levels, t.downsample);
    const { downsample: ld, width: lw, height: lh } = levels[l];
    const lx = Math.floor(rx / ld);
    const ly = Math.floor(ry / ld);
    const region = {
      x: lx, y: ly,
      w: Math.max(1, Math.min(lw, Math.ceil((rx + rw) / ld)) - lx),
      h: Math.max(1, Math.min(lh, Math.ceil((ry + rh) / ld)) - ly),
    };
    const piece = pictureCanvas(await slide.readRegion(l, region));
    const k = ld / t.downsample;
    ctx.drawImage(piece, (lx * ld - rx) / t.downsample, (ly * ld - ry) / t.downsample, region.w * k, region.h * k);
    return ctx;
  }

  return new OpenSeadragon.TileSource({
    width, height, tileSize, tileOverlap: 0, minLevel: 0, maxLevel,
    // Cache keys only: tiles are never fetched.
    getTileUrl: (level, x, y) => `${id}/${level}/${x}/${y}`,
    getTilePostData: (level, x, y) => ({ level, x, y }),
    downloadTileStart(job) {
      const [level, x, y] = job.src.split('/').slice(1).map(Number);
      renderTile(level, x, y).then(
        (ctx) => job.finish(ctx, null, 'context2d'),
        (e) => job.fail(`histoseg tile ${job.src}: ${e.message}`, null),
      );
    },
    downloadTileAbort() {},
  });
}

/**
 * An overlay on an OpenSeadragon viewer that draws tissue regions and annotations given in
 * level-0 slide pixels of its first image; redrawn with every viewport change. Rotation and
 * flipping of the viewport are not followed.
 * @param {any} OpenSeadragon the OpenSeadragon namespace
 * @param {any} viewer an `OpenSeadragon.Viewer`
 * @param {{colors?: Record<string, string>, regionColor?: string, pointRadius?: number}} [options]
 */
export function createOverlay(OpenSeadragon, viewer, options = {}) {
  const canvas = document.createElement('canvas');
  canvas.className = 'histoseg-overlay';
  canvas.setAttribute('aria-hidden', 'true');
  Object.assign(canvas.style, { position: 'absolute', left: '0', top: '0', width: '100%', height: '100%', pointerEvents: 'none' });
  viewer.canvas.appendChild(canvas);
  /** @type {Rect[]} */
  let regions = [];
  /** @type {Iterable<Annotation>} */
  let annotations = [];
  let colors = { ...(options.colors ?? {}) };
  const regionColor = options.regionColor ?? '#00a651';
  const colorOf = (cls) => colors[cls] ?? '#ffd400';

  function redraw() {
    const item = viewer.world.getItemAt(0);
    const ratio = window.devicePixelRatio || 1;
    const w = Math.round(canvas.clientWidth * ratio);
    const h = Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    if (!item) return;
    const o = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const e = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0));
    const t = { scale: ((e.x - o.x) / 1000) * ratio, dx: o.x * ratio, dy: o.y * ratio };
    drawRects(ctx, regions, t, regionColor, 2 * ratio);
    drawAnnotations(ctx, annotations, t, colorOf, {
      pointRadius: (options.pointRadius ?? 4) * ratio, lineWidth: 1.5 * ratio,
    });
  }

  viewer.addHandler('update-viewport', redraw);
  viewer.addHandler('resize', redraw);
  viewer.addHandler('open', redraw);

  return {
    canvas,
    /** @param {Rect[]} rects tissue regions, level-0 */
    setRegions(rects) { regions = rects; redraw(); },
    /** @param {Iterable<Annotation>} list annotations, level-0 */
    setAnnotations(list) { annotations = list; redraw(); },
    /** @param {Record<string, string>} byClass CSS colours by class name */
    setColors(byClass) { colors = { ...byClass }; redraw(); },
    redraw,
    destroy() {
      viewer.removeHandler('update-viewport', redraw);
      viewer.removeHandler('resize', redraw);
      viewer.removeHandler('open', redraw);
      canvas.remove();
    },
  };
}

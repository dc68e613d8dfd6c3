// The annotation view's annotations layer, cached in tiles. The layer is drawn in square tiles
// (ImageBitmaps) for one zoom level at a time; panning blits the tiles already drawn and draws
// only the ones that come into view. Zooming draws a new set: within a time budget, with the
// last complete set, scaled, standing in for the tiles still to draw (they follow in the next
// frames). A grid over the annotations' boxes finds what each tile shows. As in
// web/src/osd-draw.js, a view showing RASTER_FROM annotations or more stamps them into pixels
// (no antialiasing, a few milliseconds for 20,000); below that they are drawn as paths.
import { boundsOf, drawAnnotations, packColor, RASTER_FROM } from '../../web/src/osd-draw.js';

/** @typedef {import('../../web/src/osd-draw.js').Transform} Transform */
/** @typedef {import('./model.js').Item} Item */

/** Tile side in canvas (backing-store) pixels. */
const TILE = 256;
/** Grid cells along the longer side of the annotations' extent (at most). */
const GRID = 256;
/** Grid cells an annotation may span and still be kept in the grid, not in the `big` list. */
const SPAN = 4;
/** Tiles a zoom level keeps; past this, those out of view are dropped. */
const MAX_TILES = 64;

/**
 * The annotations in a form quick to query and stamp: their boxes and packed colours in typed
 * arrays, and a grid of cells holding those up to SPAN cells wide by the cell of their top-left
 * corner (the others are in `big`, looked at by every query).
 */
class Index {
  /** @param {Item[]} items (in drawing order) @param {(cls: string) => string} colorOf */
  constructor(items, colorOf) {
    const n = items.length;
    this.items = items;
    this.box = new Float64Array(4 * n);
    this.color = new Uint32Array(n);
    /** 0 point, 1 rectangle, 2 polygon */
    this.kind = new Uint8Array(n);
    /** @type {Map<string, string>} class -> colour it was indexed with */
    this.colors = new Map();
    /** @type {Map<string, number>} class -> packed colour */
    const packs = new Map();
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = items[i];
      const b = boundsOf(a);
      this.box.set(b, 4 * i);
      this.kind[i] = a.geometry.type === 'point' ? 0 : a.geometry.type === 'rect' ? 1 : 2;
      if (b[0] < x0) x0 = b[0];
      if (b[1] < y0) y0 = b[1];
      if (b[2] > x1) x1 = b[2];
      if (b[3] > y1) y1 = b[3];
      let c = packs.get(a.class);
      if (c === undefined) {
        const css = colorOf(a.class);
        this.colors.set(a.class, css);
        packs.set(a.class, (c = packColor(css)));
      }
      this.color[i] = c;
    }
    this.cell = Math.max(4, Math.max(x1 - x0, y1 - y0) / GRID);
    this.gx = n ? x0 : 0;
    this.gy = n ? y0 : 0;
    this.cols = n ? Math.floor((x1 - x0) / this.cell) + 1 : 0;
    this.rows = n ? Math.floor((y1 - y0) / this.cell) + 1 : 0;
    // Counting sort of the small items into cells; the others go to `big`.
    const cellOf = new Int32Array(n);
    this.start = new Uint32Array(this.cols * this.rows + 1);
    const big = [];
    for (let i = 0; i < n; i++) {
      const b = 4 * i;
      const bx = this.box;
      if (bx[b + 2] - bx[b] > SPAN * this.cell || bx[b + 3] - bx[b + 1] > SPAN * this.cell) {
        cellOf[i] = -1;
        big.push(i);
        continue;
      }
      const k = Math.floor((bx[b + 1] - this.gy) / this.cell) * this.cols + Math.floor((bx[b] - this.gx) / this.cell);
      cellOf[i] = k;
      this.start[k + 1]++;
    }
    for (let k = 0; k < this.cols * this.rows; k++) this.start[k + 1] += this.start[k];
    this.cells = new Uint32Array(n - big.length);
    const fill = this.start.slice(0, -1);
    for (let i = 0; i < n; i++) if (cellOf[i] >= 0) this.cells[fill[cellOf[i]]++] = i;
    this.big = Uint32Array.from(big);
    this.found = new Uint32Array(n);
  }

  /** Is this index still right for these items and colours? */
  matches(/** @type {Map<number, Item>} */ items, /** @type {(cls: string) => string} */ colorOf) {
    if (items.size !== this.items.length) return false;
    let i = 0;
    for (const a of items.values()) if (a !== this.items[i++]) return false;
    for (const [cls, c] of this.colors) if (colorOf(cls) !== c) return false;
    return true;
  }

  /** About how many items meet the level-0 rectangle (all those of the cells it meets). */
  count(x0, y0, x1, y1) {
    const { cell, cols, rows, start } = this;
    const c0 = Math.max(0, Math.floor((x0 - this.gx) / cell) - SPAN);
    const c1 = Math.min(cols - 1, Math.floor((x1 - this.gx) / cell));
    const r0 = Math.max(0, Math.floor((y0 - this.gy) / cell) - SPAN);
    const r1 = Math.min(rows - 1, Math.floor((y1 - this.gy) / cell));
    let n = this.big.length;
    for (let r = r0; r <= r1 && c0 <= c1; r++) n += start[r * cols + c1 + 1] - start[r * cols + c0];
    return n;
  }

  /**
   * The items whose boxes meet the level-0 rectangle, in drawing order: a view of a scratch
   * array, valid until the next query.
   */
  query(x0, y0, x1, y1) {
    const { box, cell, cols, rows, start, cells, found } = this;
    let n = 0;
    const c0 = Math.max(0, Math.floor((x0 - this.gx) / cell) - SPAN);
    const c1 = Math.min(cols - 1, Math.floor((x1 - this.gx) / cell));
    const r0 = Math.max(0, Math.floor((y0 - this.gy) / cell) - SPAN);
    const r1 = Math.min(rows - 1, Math.floor((y1 - this.gy) / cell));
    for (let r = r0; r <= r1; r++) {
      for (let k = r * cols + c0, end = r * cols + c1; k <= end; k++) {
        for (let j = start[k]; j < start[k + 1]; j++) {
          const i = cells[j];
          const b = 4 * i;
          if (box[b + 2] >= x0 && box[b] <= x1 && box[b + 3] >= y0 && box[b + 1] <= y1) found[n++] = i;
        }
      }
    }
    for (const i of this.big) {
      const b = 4 * i;
      if (box[b + 2] >= x0 && box[b] <= x1 && box[b + 3] >= y0 && box[b + 1] <= y1) found[n++] = i;
    }
    return found.subarray(0, n).sort();
  }
}

/**
 * One zoom level's tiles. Tile (i, j) covers layer pixels [i, i+1) * TILE by [j, j+1) * TILE,
 * where layer pixel u = scale * x + ox (level-0 x); on the canvas it sits at u + dx - ox.
 * @typedef {{key: string, scale: number, ox: number, oy: number, index: Index, raster: boolean,
 *   tiles: Map<string, ImageBitmap|null>, covered: number[]|null}} Level
 * `covered`: the level-0 rectangle of its tiles once all those in view were drawn.
 */

/** The annotations layer of an AnnotationView, drawn from cached tiles. */
export class AnnotationTiles {
  constructor() {
    /** @type {Index|null} */
    this.index = null;
    /** The frozen map the index was last checked against. @type {Map<number, Item>|null} */
    this.frozen = null;
    /** @type {Level|null} the zoom level being shown */
    this.level = null;
    /** @type {Level|null} the last level that covered the whole view: stands in while zooming */
    this.stale = null;
    this.canvas = new OffscreenCanvas(TILE, TILE);
    this.tctx = /** @type {OffscreenCanvasRenderingContext2D} */ (this.canvas.getContext('2d'));
    this.image = new ImageData(TILE, TILE);
    this.pixels = new Uint32Array(this.image.data.buffer);
  }

  /**
   * Draws the annotations over the canvas. Tiles not yet drawn are drawn until `deadline`
   * (performance.now() milliseconds) where an older level can stand in for them, always
   * otherwise. Returns false if some are left for a later frame.
   * @param {CanvasRenderingContext2D} ctx
   * @param {Map<number, Item>} items
   * @param {Transform} t level-0 to canvas pixels
   * @param {(cls: string) => string} colorOf
   * @param {{pointRadius: number, lineWidth: number, deadline: number, frozen?: boolean}} options
   *   `frozen`: `items` is never changed in place (a changed set comes as a new map)
   */
  draw(ctx, items, t, colorOf, { pointRadius, lineWidth, deadline, frozen = false }) {
    // A frozen map is never changed in place: the same map means the same items.
    const same = frozen && this.frozen === items;
    if (!same && (!this.index || !this.index.matches(items, colorOf))) {
      const old = this.index;
      this.index = new Index(Array.from(items.values()), colorOf);
      if (old) this.#carry(old, this.index, pointRadius + lineWidth + 1);
    }
    this.frozen = frozen ? items : null;
    const index = /** @type {Index} */ (this.index);
    const { width: w, height: h } = ctx.canvas;
    const m = pointRadius + lineWidth + 1; // how far a shape's marks reach beyond its box
    const raster = index.count((-m - t.dx) / t.scale, (-m - t.dy) / t.scale, (w + m - t.dx) / t.scale, (h + m - t.dy) / t.scale) >= RASTER_FROM;
    const key = `${t.scale} ${pointRadius} ${lineWidth} ${raster}`;
    let level = this.level;
    if (!level || level.key !== key || level.index !== index) {
      this.#retire();
      level = { key, scale: t.scale, ox: t.dx, oy: t.dy, index, raster, tiles: new Map(), covered: null };
      this.level = level;
    }
    // An older level stands in only for the same annotations, and not scaled too far.
    const f = this.stale ? t.scale / this.stale.scale : 0;
    const stale = this.stale?.index === index && f >= 0.5 && f <= 2 ? this.stale : null;
    const offX = Math.round(t.dx - level.ox);
    const offY = Math.round(t.dy - level.oy);
    const i0 = Math.floor(-offX / TILE);
    const i1 = Math.floor((w - 1 - offX) / TILE);
    const j0 = Math.floor(-offY / TILE);
    const j1 = Math.floor((h - 1 - offY) / TILE);
    // Tiles in view not drawn yet: those an older level can stand in for (their part in view
    // lies in what it covered) wait for the budget; the others are drawn first, whatever it costs.
    const c = stale?.covered;
    const toX = (u) => (u - level.ox) / t.scale;
    const toY = (v) => (v - level.oy) / t.scale;
    /** @type {[number, number][]} */
    const later = [];
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        if (level.tiles.has(`${i},${j}`)) continue;
        const inOld = c
          && toX(Math.max(i * TILE, -offX)) >= c[0] && toX(Math.min((i + 1) * TILE, w - offX)) <= c[2]
          && toY(Math.max(j * TILE, -offY)) >= c[1] && toY(Math.min((j + 1) * TILE, h - offY)) <= c[3];
        if (inOld) later.push([i, j]);
        else level.tiles.set(`${i},${j}`, this.#render(level, i, j, pointRadius, lineWidth, colorOf));
      }
    }
    const missing = [];
    for (const [i, j] of later) {
      if (performance.now() > deadline) missing.push([i, j]);
      else level.tiles.set(`${i},${j}`, this.#render(level, i, j, pointRadius, lineWidth, colorOf));
    }
    if (missing.length) {
      this.#standIn(ctx, /** @type {Level} */ (stale), missing, t, offX, offY);
    } else {
      level.covered = [toX(i0 * TILE), toY(j0 * TILE), toX((i1 + 1) * TILE), toY((j1 + 1) * TILE)];
    }
    for (const [k, bitmap] of level.tiles) {
      if (!bitmap) continue;
      const [i, j] = k.split(',').map(Number);
      if (i < i0 || i > i1 || j < j0 || j > j1) continue;
      ctx.drawImage(bitmap, i * TILE + offX, j * TILE + offY);
    }
    if (level.tiles.size > MAX_TILES) {
      for (const [k, bitmap] of level.tiles) {
        const [i, j] = k.split(',').map(Number);
        if (i >= i0 && i <= i1 && j >= j0 && j <= j1) continue;
        bitmap?.close();
        level.tiles.delete(k);
      }
    }
    return missing.length === 0;
  }

  /** Drops all tiles (the next draw starts afresh). */
  clear() {
    for (const l of [this.level, this.stale]) for (const b of l?.tiles.values() ?? []) b?.close();
    this.level = null;
    this.stale = null;
  }

  /**
   * After an edit: keeps the tiles of the level shown that no added, removed or changed
   * annotation touches (`m`: how far marks reach beyond a box, in canvas pixels). A changed
   * colour or a bulk edit starts the level afresh.
   * @param {Index} old @param {Index} index @param {number} m
   */
  #carry(old, index, m) {
    const level = this.level;
    if (!level || level.index !== old) return;
    for (const [cls, c] of old.colors) if (index.colors.has(cls) && index.colors.get(cls) !== c) return;
    // What differs between the common head and tail of the two lists is dirty: position by
    // position if the middles have the same length (an edit in place), else by identity.
    const A = old.items;
    const B = index.items;
    let p = 0;
    while (p < A.length && p < B.length && A[p] === B[p]) p++;
    let ea = A.length;
    let eb = B.length;
    while (ea > p && eb > p && A[ea - 1] === B[eb - 1]) { ea--; eb--; }
    if (ea - p + eb - p > 4000) return;
    const dirty = [];
    if (ea === eb) {
      for (let k = p; k < ea; k++) if (A[k] !== B[k]) dirty.push(boundsOf(A[k]), boundsOf(B[k]));
    } else {
      const was = new Set(A.slice(p, ea));
      const now = new Set(B.slice(p, eb));
      for (let k = p; k < eb; k++) if (!was.has(B[k])) dirty.push(boundsOf(B[k]));
      for (let k = p; k < ea; k++) if (!now.has(A[k])) dirty.push(boundsOf(A[k]));
    }
    const pad = (m + 1) / level.scale;
    for (const [k, bitmap] of level.tiles) {
      const [i, j] = k.split(',').map(Number);
      const x0 = (i * TILE - level.ox) / level.scale - pad;
      const y0 = (j * TILE - level.oy) / level.scale - pad;
      const x1 = ((i + 1) * TILE - level.ox) / level.scale + pad;
      const y1 = ((j + 1) * TILE - level.oy) / level.scale + pad;
      if (dirty.some((b) => b[2] >= x0 && b[0] <= x1 && b[3] >= y0 && b[1] <= y1)) {
        bitmap?.close();
        level.tiles.delete(k);
      }
    }
    level.index = index;
  }

  /** The level being left: it stands in for the next one if it covered its view. */
  #retire() {
    const old = this.level;
    if (!old) return;
    if (old.covered) {
      for (const b of this.stale?.tiles.values() ?? []) b?.close();
      this.stale = old;
    } else {
      for (const b of old.tiles.values()) b?.close();
    }
  }

  /** Draws the older level's tiles, scaled, clipped to the tiles still missing. */
  #standIn(ctx, stale, missing, t, offX, offY) {
    const level = /** @type {Level} */ (this.level);
    ctx.save();
    ctx.beginPath();
    for (const [i, j] of missing) ctx.rect(i * TILE + offX, j * TILE + offY, TILE, TILE);
    ctx.clip();
    ctx.imageSmoothingEnabled = false; // nearest pixel: a third of the cost, for a frame or two
    const f = t.scale / stale.scale;
    const side = TILE * f;
    const { width: w, height: h } = ctx.canvas;
    for (const [k, bitmap] of stale.tiles) {
      if (!bitmap) continue;
      const [i, j] = k.split(',').map(Number);
      const x = (i * TILE - stale.ox) * f + level.ox + offX;
      const y = (j * TILE - stale.oy) * f + level.oy + offY;
      if (x + side < 0 || y + side < 0 || x > w || y > h) continue;
      ctx.drawImage(bitmap, x, y, side, side);
    }
    ctx.restore();
  }

  /** Draws tile (i, j) of a level; null if it shows nothing. */
  #render(level, i, j, pointRadius, lineWidth, colorOf) {
    const { index, scale } = level;
    const dx = level.ox - i * TILE;
    const dy = level.oy - j * TILE;
    const m = pointRadius + lineWidth + 1;
    const found = index.query((-m - dx) / scale, (-m - dy) / scale, (TILE + m - dx) / scale, (TILE + m - dy) / scale);
    if (found.length === 0) return null;
    if (level.raster) {
      this.pixels.fill(0);
      stamp(this.pixels, index, found, scale, dx, dy, pointRadius, lineWidth);
      this.tctx.putImageData(this.image, 0, 0);
    } else {
      const list = Array.from(found, (k) => index.items[k]);
      drawAnnotations(/** @type {any} */ (this.tctx), list, { scale, dx, dy }, colorOf, { pointRadius, lineWidth });
    }
    return this.canvas.transferToImageBitmap();
  }
}

/**
 * Stamps shapes into a TILE x TILE pixel buffer: discs for points, `lineWidth`-wide outlines
 * for boxes and polygons, no antialiasing. Shapes wholly inside the tile take a path without
 * bounds checks.
 * @param {Uint32Array} px @param {Index} index @param {Uint32Array} found
 */
function stamp(px, index, found, scale, dx, dy, pointRadius, lineWidth) {
  const T = TILE;
  const lw = Math.max(1, Math.round(lineWidth));
  const R = Math.max(1, Math.round(pointRadius));
  const spans = Array.from({ length: 2 * R + 1 }, (_, i) => Math.floor(Math.sqrt(R * R - (i - R) ** 2)));
  /** Fills the rectangle of pixels [x0, x1] x [y0, y1], clipped to the tile. */
  const fill = (x0, y0, x1, y1, c) => {
    x0 = Math.max(0, Math.floor(x0)); y0 = Math.max(0, Math.floor(y0));
    x1 = Math.min(T - 1, Math.floor(x1)); y1 = Math.min(T - 1, Math.floor(y1));
    for (let y = y0; y <= y1; y++) for (let k = y * T + x0, end = y * T + x1; k <= end; k++) px[k] = c;
  };
  /** An outline segment: `lw` x `lw` squares a pixel apart; `inside`: no clipping needed. */
  const line = (xa, ya, xb, yb, c, inside) => {
    let u0 = 0; let u1 = 1;
    const ex = xb - xa; const ey = yb - ya;
    if (!inside) { // clip to the tile (Liang-Barsky)
      const clip = (p, q) => {
        if (p === 0) return q >= 0;
        const u = q / p;
        if (p < 0) { if (u > u1) return false; if (u > u0) u0 = u; } else { if (u < u0) return false; if (u < u1) u1 = u; }
        return true;
      };
      if (!clip(-ex, xa + lw) || !clip(ex, T - xa) || !clip(-ey, ya + lw) || !clip(ey, T - ya)) return;
    }
    const x0 = xa + u0 * ex; const y0 = ya + u0 * ey;
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(ex), Math.abs(ey)) * (u1 - u0)));
    const sx = (ex * (u1 - u0)) / n; const sy = (ey * (u1 - u0)) / n;
    for (let s = 0; s <= n; s++) {
      const x = Math.floor(x0 + sx * s);
      const y = Math.floor(y0 + sy * s);
      if (inside) {
        for (let r = 0; r < lw; r++) for (let q = (y + r) * T + x, end = q + lw; q < end; q++) px[q] = c;
      } else fill(x, y, x + lw - 1, y + lw - 1, c);
    }
  };
  const { items, color, kind, box } = index;
  for (const k of found) {
    const c = color[k];
    const b = 4 * k;
    if (kind[k] === 0) {
      const x = Math.round(scale * box[b] + dx);
      const y = Math.round(scale * box[b + 1] + dy);
      if (x >= R && y >= R && x < T - R && y < T - R) {
        for (let i = 0, q0 = (y - R) * T + x; i <= 2 * R; i++, q0 += T) {
          for (let q = q0 - spans[i], end = q0 + spans[i]; q <= end; q++) px[q] = c;
        }
        continue;
      }
      for (let i = 0; i <= 2 * R; i++) {
        const yy = y + i - R;
        if (yy < 0 || yy >= T) continue;
        const x0 = Math.max(0, x - spans[i]);
        const x1 = Math.min(T - 1, x + spans[i]);
        for (let q = yy * T + x0, end = yy * T + x1; q <= end; q++) px[q] = c;
      }
      continue;
    }
    const x0 = scale * box[b] + dx;
    const y0 = scale * box[b + 1] + dy;
    const x1 = scale * box[b + 2] + dx;
    const y1 = scale * box[b + 3] + dy;
    if (kind[k] === 1) {
      fill(x0, y0, x1, y0 + lw - 1, c);
      fill(x0, y1 - lw + 1, x1, y1, c);
      fill(x0, y0, x0 + lw - 1, y1, c);
      fill(x1 - lw + 1, y0, x1, y1, c);
      continue;
    }
    if (x1 - x0 < 2 * lw && y1 - y0 < 2 * lw) { // a polygon of a few pixels: its box, filled
      fill(x0, y0, x1 + lw - 1, y1 + lw - 1, c);
      continue;
    }
    const inside = x0 >= 0 && y0 >= 0 && x1 + lw < T && y1 + lw < T;
    const p = /** @type {{points: [number, number][]}} */ (items[k].geometry).points;
    for (let i = 0; i < p.length; i++) {
      const a = p[i];
      const e = p[i + 1 === p.length ? 0 : i + 1];
      line(scale * a[0] + dx, scale * a[1] + dy, scale * e[0] + dx, scale * e[1] + dy, c, inside);
    }
  }
}

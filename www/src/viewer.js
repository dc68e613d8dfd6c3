// The annotation view: one fragment image on a canvas with wheel zoom and drag pan, and the
// tools (select/move, point, rectangle, polygon) over the annotation model. Annotations are in
// level-0 slide pixels; the fragment maps them to its image: slide = origin + image * downsample.
// The annotations are drawn from tiles cached per zoom level (tiles.js), so a pan blits them;
// the selection, the proposals layer and the drafts are drawn over them every frame.
import { boundsOf, drawAnnotations } from '../../web/src/osd-draw.js';
import { moved } from './model.js';
import { AnnotationTiles } from './tiles.js';

/** @typedef {import('./model.js').AnnotationModel} AnnotationModel */
/** @typedef {import('./model.js').Item} Item */
/** @typedef {{source: string, x: number, y: number, w: number, h: number, downsample: number}} Fragment */

const HIT_PX = 6;
const CLICK_PX = 4;
const MIN_SCALE = 0.02;
const MAX_SCALE = 40;
/** Milliseconds into a frame after which tiles are left for the next frames while zooming. */
const TILE_BUDGET_MS = 4;

/** Is (x, y) inside the polygon? (even-odd rule) @param {[number, number][]} pts */
function insidePolygon(pts, x, y) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export class AnnotationView {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {AnnotationModel} model
   */
  constructor(canvas, model) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.model = model;
    /** @type {Fragment|null} */
    this.fragment = null;
    /** @type {ImageBitmap|null} */
    this.image = null;
    this.s = 1; // screen (CSS) pixels per image pixel
    this.tx = 0;
    this.ty = 0;
    this.tool = 'select';
    this.cls = model.classes[0].name;
    /** @type {Set<number>} */
    this.selection = new Set();
    /** @type {[number, number][]} polygon being drawn (slide px) */
    this.draft = [];
    /** @type {null | {x0: number, y0: number, x1: number, y1: number}} rectangle being drawn */
    this.rubber = null;
    this.hover = null;
    this.spaceDown = false;
    /** Milliseconds each draw took (the benchmark reads them). */
    this.drawTimes = [];
    /** Read a pixel back at the end of each draw, so the timing includes the rasterisation. */
    this.flushForTiming = false;
    /**
     * Drawn over the annotations; the select tool picks from it first (the model's proposals).
     * `pick(x, y, perPx)` gets level-0 pixels and the level-0 pixels of one CSS pixel.
     * @type {{draw: (ctx: CanvasRenderingContext2D, t: {scale: number, dx: number, dy: number}, r: number) => boolean|void, pick: (x: number, y: number, perPx: number) => boolean}|null}
     */
    this.layer = null;
    this.onStatus = (/** @type {string} */ _text) => {};
    this.onSelection = () => {};
    this.pending = false;
    /** The annotations layer, cached in tiles per zoom level. */
    this.tiles = new AnnotationTiles();
    this.#listen();
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  /** Shows a fragment (its JPEG decoded) and fits it to the canvas. */
  async show(fragment, blob) {
    this.image?.close();
    this.image = await createImageBitmap(blob);
    this.fragment = fragment;
    this.selection.clear();
    this.draft = [];
    this.fit();
  }

  /** Shows another picture of the same fragment (same size), keeping the zoom and pan. */
  async setImage(source) {
    const image = await createImageBitmap(source);
    this.image?.close();
    this.image = image;
    this.redraw();
  }

  fit() {
    if (!this.image) return;
    const { clientWidth: w, clientHeight: h } = this.canvas;
    this.s = Math.min(w / this.image.width, h / this.image.height) * 0.98;
    this.tx = (w - this.image.width * this.s) / 2;
    this.ty = (h - this.image.height * this.s) / 2;
    this.redraw();
  }

  /** Zooms by `factor` around the CSS point (cx, cy) of the canvas (default: its centre). */
  zoomBy(factor, cx = this.canvas.clientWidth / 2, cy = this.canvas.clientHeight / 2) {
    const s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.s * factor));
    const k = s / this.s;
    this.tx = cx - (cx - this.tx) * k;
    this.ty = cy - (cy - this.ty) * k;
    this.s = s;
    this.redraw();
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.redraw();
  }

  setTool(tool) {
    this.tool = tool;
    this.draft = [];
    this.rubber = null;
    this.canvas.dataset.tool = tool;
    this.redraw();
  }

  /** Pans so that level-0 (x, y) is in view (to the centre if it was out of sight). */
  reveal(x, y) {
    const f = this.fragment;
    if (!f) return;
    const cx = this.tx + ((x - f.x) / f.downsample) * this.s;
    const cy = this.ty + ((y - f.y) / f.downsample) * this.s;
    const { clientWidth: w, clientHeight: h } = this.canvas;
    if (cx >= 20 && cy >= 20 && cx <= w - 20 && cy <= h - 20) return;
    this.panBy(w / 2 - cx, h / 2 - cy);
  }

  /** Level-0 slide pixels of a CSS point of the canvas. */
  toSlide(cx, cy) {
    const f = /** @type {Fragment} */ (this.fragment);
    return [f.x + ((cx - this.tx) / this.s) * f.downsample, f.y + ((cy - this.ty) / this.s) * f.downsample];
  }

  /** The slide -> canvas transform in backing-store pixels. */
  transform() {
    const f = /** @type {Fragment} */ (this.fragment);
    const r = window.devicePixelRatio || 1;
    const k = this.s / f.downsample;
    return { scale: r * k, dx: r * (this.tx - f.x * k), dy: r * (this.ty - f.y * k) };
  }

  /** The topmost annotation under a CSS point, or null. */
  hit(cx, cy) {
    const [x, y] = this.toSlide(cx, cy);
    const tol = (HIT_PX / this.s) * /** @type {Fragment} */ (this.fragment).downsample;
    const items = Array.from(this.model.items.values());
    for (let i = items.length - 1; i >= 0; i--) {
      const a = items[i];
      const b = boundsOf(a);
      if (x < b[0] - tol || x > b[2] + tol || y < b[1] - tol || y > b[3] + tol) continue;
      const g = a.geometry;
      if (g.type === 'point' || g.type === 'rect') return a;
      if (insidePolygon(g.points, x, y)) return a;
    }
    return null;
  }

  /** Finishes the polygon being drawn (3 vertices at least). */
  closePolygon() {
    if (this.draft.length >= 3) {
      this.model.add([{ class: this.cls, geometry: { type: 'polygon', points: this.draft } }]);
    }
    this.draft = [];
    this.redraw();
  }

  cancel() {
    this.draft = [];
    this.rubber = null;
    this.selection.clear();
    this.onSelection();
    this.redraw();
  }

  deleteSelection() {
    if (this.selection.size === 0) return;
    this.model.remove(this.selection);
    this.selection.clear();
    this.onSelection();
  }

  /** Gives a click of the select tool at CSS (x, y) to the layer; true if it took it. */
  #pickLayer(x, y) {
    const perPx = /** @type {Fragment} */ (this.fragment).downsample / this.s;
    if (!this.layer?.pick(...this.toSlide(x, y), perPx)) return false;
    if (this.selection.size) {
      this.selection.clear();
      this.onSelection();
    }
    this.redraw();
    return true;
  }

  #listen() {
    const c = this.canvas;
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      this.zoomBy(Math.exp(-delta * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });

    /** @type {null | {x: number, y: number, lastX: number, lastY: number, mode: string, moved: boolean, originals?: Map<number, Item>, start?: [number, number]}} */
    let drag = null;
    const local = (e) => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };

    c.addEventListener('pointerdown', (e) => {
      if (!this.fragment) return;
      c.focus();
      c.setPointerCapture(e.pointerId);
      const [x, y] = local(e);
      let mode = this.tool;
      if (e.button === 1 || e.button === 2 || this.spaceDown) mode = 'pan';
      if (mode === 'select' && this.#pickLayer(x, y)) return;
      if (mode === 'select') {
        const a = this.hit(x, y);
        if (a) {
          if (e.shiftKey) {
            if (this.selection.has(a.id)) this.selection.delete(a.id);
            else this.selection.add(a.id);
          } else if (!this.selection.has(a.id)) {
            this.selection = new Set([a.id]);
          }
          this.onSelection();
          mode = 'move';
        } else {
          mode = 'pan-or-clear';
        }
      }
      drag = { x, y, lastX: x, lastY: y, mode, moved: false, start: this.toSlide(x, y) };
      if (mode === 'move') {
        drag.originals = new Map([...this.selection].map((id) => [id, this.model.items.get(id)]).filter(([, a]) => a));
      }
      this.redraw();
    });

    c.addEventListener('pointermove', (e) => {
      if (!this.fragment) return;
      const [x, y] = local(e);
      if (!drag) {
        this.hover = this.toSlide(x, y);
        if (this.tool === 'polygon' && this.draft.length) this.redraw();
        return;
      }
      if (Math.hypot(x - drag.x, y - drag.y) > CLICK_PX) drag.moved = true;
      const [sx, sy] = this.toSlide(x, y);
      const [x0, y0] = /** @type {[number, number]} */ (drag.start);
      if (drag.mode === 'rect') {
        this.rubber = { x0, y0, x1: sx, y1: sy };
        this.redraw();
      } else if (drag.mode === 'move' && drag.moved) {
        for (const [id, a] of /** @type {Map<number, Item>} */ (drag.originals)) {
          this.model.items.set(id, { ...a, geometry: moved(a.geometry, sx - x0, sy - y0) });
        }
        this.redraw();
      } else if (drag.moved) {
        this.panBy(x - drag.lastX, y - drag.lastY);
      }
      drag.lastX = x;
      drag.lastY = y;
    });

    const end = (e) => {
      if (!drag) return;
      const d = drag;
      drag = null;
      const [x, y] = local(e);
      const [sx, sy] = this.toSlide(x, y);
      const [x0, y0] = /** @type {[number, number]} */ (d.start);
      if (d.mode === 'move') {
        const originals = /** @type {Map<number, Item>} */ (d.originals);
        for (const [id, a] of originals) this.model.items.set(id, a);
        if (d.moved) this.model.move(originals.keys(), sx - x0, sy - y0);
        else this.redraw();
      } else if (d.mode === 'rect') {
        this.rubber = null;
        if (d.moved) {
          const geometry = {
            type: 'rect', x: Math.min(x0, sx), y: Math.min(y0, sy), w: Math.abs(sx - x0), h: Math.abs(sy - y0),
          };
          // Selected once drawn: a region to run the model on, or to change the class of.
          const [item] = this.model.add([{ class: this.cls, geometry }]);
          this.selection = new Set([item.id]);
          this.onSelection();
          this.redraw();
        } else this.redraw();
      } else if (!d.moved && d.mode === 'point') {
        this.model.add([{ class: this.cls, geometry: { type: 'point', x: sx, y: sy } }]);
      } else if (!d.moved && d.mode === 'polygon') {
        const first = this.draft[0];
        const f = /** @type {Fragment} */ (this.fragment);
        const near = first && Math.hypot(first[0] - sx, first[1] - sy) * (this.s / f.downsample) < HIT_PX + 2;
        if (near && this.draft.length >= 3) this.closePolygon();
        else {
          this.draft.push([sx, sy]);
          this.redraw();
        }
      } else if (!d.moved && d.mode === 'pan-or-clear') {
        this.selection.clear();
        this.onSelection();
        this.redraw();
      }
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('dblclick', () => {
      if (this.tool === 'polygon') {
        // The double click's two clicks added the same vertex twice: drop one.
        this.draft.pop();
        this.closePolygon();
      }
    });
    c.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  /** Asks for a draw on the next animation frame. */
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const t0 = performance.now();
    const c = this.canvas;
    const r = window.devicePixelRatio || 1;
    const w = Math.round(c.clientWidth * r);
    const h = Math.round(c.clientHeight * r);
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#2b2b2b';
    ctx.fillRect(0, 0, w, h);
    if (!this.image || !this.fragment) return;
    ctx.imageSmoothingEnabled = this.s < 2;
    ctx.setTransform(r * this.s, 0, 0, r * this.s, r * this.tx, r * this.ty);
    ctx.drawImage(this.image, 0, 0);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const t = this.transform();
    const colorOf = (cls) => this.model.colorOf(cls);
    const done = this.tiles.draw(ctx, this.model.items, t, colorOf, {
      pointRadius: 4 * r, lineWidth: 1.5 * r, deadline: t0 + TILE_BUDGET_MS,
    });
    if (this.selection.size) {
      const selected = [];
      for (const id of this.selection) {
        const a = this.model.items.get(id);
        if (a) selected.push(a);
      }
      drawAnnotations(ctx, selected, t, () => '#ffffff', { pointRadius: 6 * r, lineWidth: 3 * r });
      drawAnnotations(ctx, selected, t, colorOf, { pointRadius: 4 * r, lineWidth: 1.5 * r });
    }
    const layerDone = this.layer?.draw(ctx, t, r) !== false;
    this.#drawDrafts(ctx, t, r);
    if (!done || !layerDone) this.redraw(); // the tiles left for later
    if (this.flushForTiming) ctx.getImageData(0, 0, 1, 1);
    const ms = performance.now() - t0;
    performance.measure('histoseg-draw', { start: t0, duration: ms });
    this.drawTimes.push(ms);
    if (this.drawTimes.length > 5000) this.drawTimes.splice(0, 1000);
  }

  #drawDrafts(ctx, t, r) {
    const color = this.model.colorOf(this.cls);
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = 2 * r;
    ctx.setLineDash([6 * r, 4 * r]);
    const X = (x) => t.scale * x + t.dx;
    const Y = (y) => t.scale * y + t.dy;
    if (this.rubber) {
      const { x0, y0, x1, y1 } = this.rubber;
      ctx.strokeRect(X(Math.min(x0, x1)), Y(Math.min(y0, y1)), t.scale * Math.abs(x1 - x0), t.scale * Math.abs(y1 - y0));
    }
    if (this.draft.length) {
      ctx.beginPath();
      ctx.moveTo(X(this.draft[0][0]), Y(this.draft[0][1]));
      for (const [x, y] of this.draft.slice(1)) ctx.lineTo(X(x), Y(y));
      if (this.hover) ctx.lineTo(X(this.hover[0]), Y(this.hover[1]));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      for (const [x, y] of this.draft) ctx.fillRect(X(x) - 3 * r, Y(y) - 3 * r, 6 * r, 6 * r);
    }
    ctx.restore();
  }
}

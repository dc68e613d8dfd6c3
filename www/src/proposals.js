// Model proposals: nuclei a segmentation model found on the slide, as outlines with their
// measurements in level-0 slide pixels, waiting for the pathologist. Accepted ones become
// polygon annotations of the current class through the annotation model (so undo, redo and
// autosave apply); rejected ones disappear. A proposal whose accepted outline is undone (or
// deleted) is open again; redo accepts it again. Proposals are saved with the run that made
// them (assist.js), so a reload keeps them and their decisions.
import { visibleRect } from '../../web/src/osd-draw.js';
import { AnnotationTiles } from './tiles.js';

/** @typedef {import('./model.js').AnnotationModel} AnnotationModel */
/** @typedef {import('../../web/src/osd-draw.js').Transform} Transform */
/** @typedef {import('../../web/src/index.js').MeasuredNucleus} MeasuredNucleus */
/**
 * A nucleus proposed at level-0 (x, y) with its `outline`, `area` (level-0 px²), `perimeter`
 * (level-0 px), `circularity` and mean haematoxylin optical density `od`; `radius` is that of a
 * disc of its area. `annotation` is the accepted outline's id, 0 when it was accepted in an
 * earlier session (it stays accepted).
 * @typedef {{id: number, x: number, y: number, radius: number, outline: [number, number][],
 *   area: number, perimeter: number, circularity: number, od: number,
 *   state: 'open'|'accepted'|'rejected', annotation: number}} Proposal
 */
/** @typedef {{proposed: number, open: number, accepted: number, rejected: number, hidden: number}} Counts */

/** Smallest and largest radius of a proposal's ring, in CSS pixels. */
const RING_MIN_PX = 4;
const RING_MAX_PX = 16;
const RING_COLOR = '#00e5ff';
/** Past this many proposals in view they are drawn from cached tiles, solid, not dashed. */
const TILED_FROM = 200;
/** Milliseconds a frame may spend drawing new tiles of proposals. */
const TILE_BUDGET_MS = 8;
const SELECTED_COLOR = '#ffea00';

export class Proposals {
  /** @param {AnnotationModel} model */
  constructor(model) {
    this.model = model;
    /** @type {Proposal[]} */
    this.list = [];
    /** Id of the selected proposal, or null. @type {number|null} */
    this.selected = null;
    this.nextId = 1;
    /** Proposals smaller than this (level-0 px²) are left out of review: not drawn, not chosen. */
    this.minArea = 0;
    /** The open proposals' outlines as annotation-like items, for the tiles (null: stale). @type {Map<number, any>|null} */
    this.shapes = null;
    this.tiles = new AnnotationTiles();
    /** @type {(() => void)[]} */
    this.listeners = [];
    // A new slide drops the proposals; any other change may reopen or close some.
    model.onChange((reason) => (reason === 'reset' ? this.clear() : this.#emit()));
  }

  /** @param {() => void} f called after every change of the proposals or their states */
  onChange(f) { this.listeners.push(f); }

  #emit() {
    this.shapes = null;
    for (const f of this.listeners) f();
  }

  /** The open proposals as items the annotation tiles draw (kept while nothing changes). */
  #shapes() {
    if (!this.shapes) {
      this.shapes = new Map();
      for (const p of this.list) {
        if (!this.isShown(p)) continue;
        const geometry = p.outline?.length ? { type: 'polygon', points: p.outline } : { type: 'point', x: p.x, y: p.y };
        this.shapes.set(p.id, { id: p.id, class: 'proposal', geometry });
      }
    }
    return this.shapes;
  }

  /** Adds a window's nuclei (level-0 outlines and measurements) as open proposals. */
  add(/** @type {MeasuredNucleus[]} */ nuclei) {
    for (const n of nuclei) {
      this.list.push({
        id: this.nextId++, x: n.centroid[0], y: n.centroid[1], radius: Math.sqrt(Math.max(0, n.area) / Math.PI),
        outline: n.outline, area: n.area, perimeter: n.perimeter, circularity: n.circularity, od: n.hematoxylinOd,
        state: 'open', annotation: 0,
      });
    }
    if (nuclei.length) this.#emit();
  }

  /** Replaces the proposals by saved ones (`plain()` of an earlier session). */
  restore(/** @type {Proposal[]} */ saved) {
    this.list = saved.map((p) => ({ ...p, annotation: 0 }));
    this.nextId = 1 + this.list.reduce((m, p) => Math.max(m, p.id), 0);
    this.selected = null;
    this.#emit();
  }

  /** The proposals as saved: their decisions kept, accepted ones settled. */
  plain() { return this.list.map((p) => ({ ...p, state: this.isOpen(p) ? 'open' : p.state })); }

  clear() { this.restore([]); }

  /** Is the proposal waiting for a decision? (An accepted one whose point is gone is.) */
  isOpen(/** @type {Proposal} */ p) {
    return p.state === 'open' || (p.state === 'accepted' && p.annotation > 0 && !this.model.items.has(p.annotation));
  }

  /** The open proposals. */
  open() { return this.list.filter((p) => this.isOpen(p)); }

  /** Is the proposal open and through the review filter? */
  isShown(/** @type {Proposal} */ p) { return p.area >= this.minArea && this.isOpen(p); }

  /** The open proposals the review filter lets through. */
  shown() { return this.list.filter((p) => this.isShown(p)); }

  /** Sets the smallest area reviewed (level-0 px²). */
  setMinArea(/** @type {number} */ area) {
    this.minArea = Math.max(0, area) || 0;
    this.#emit();
  }

  /** @returns {Counts} (`hidden`: open ones the review filter leaves out) */
  counts() {
    const c = { proposed: this.list.length, open: 0, accepted: 0, rejected: 0, hidden: 0 };
    for (const p of this.list) {
      if (this.isOpen(p)) {
        c.open++;
        if (!this.isShown(p)) c.hidden++;
      }
      else if (p.state === 'accepted') c.accepted++;
      else c.rejected++;
    }
    return c;
  }

  /** The selected proposal if it is still open. */
  current() {
    const p = this.list.find((q) => q.id === this.selected);
    return p && this.isShown(p) ? p : null;
  }

  /** Selects a proposal (null: none). */
  select(/** @type {number|null} */ id) {
    if (this.selected === id) return;
    this.selected = id;
    this.#emit();
  }

  /** Selects the open proposal after the selected one (in list order, wrapping); returns it. */
  selectNext() {
    const open = this.shown();
    if (!open.length) return null;
    const next = open.find((p) => p.id > (this.selected ?? 0)) ?? open[0];
    this.select(next.id);
    return next;
  }

  /**
   * Accepts open proposals as outlines of class `cls`, in one undo step; returns how many.
   * @param {Iterable<number>} ids @param {string} cls
   */
  accept(ids, cls) {
    const wanted = new Set(ids);
    const chosen = this.list.filter((p) => wanted.has(p.id) && this.isOpen(p));
    if (!chosen.length) return 0;
    const outlines = chosen.map((p) => ({ class: cls, geometry: { type: 'polygon', points: p.outline } }));
    const items = this.model.add(/** @type {any} */ (outlines), 'accept');
    chosen.forEach((p, i) => {
      p.state = 'accepted';
      p.annotation = items[i].id;
    });
    this.#emit();
    return chosen.length;
  }

  /** Rejects open proposals; returns how many. @param {Iterable<number>} ids */
  reject(ids) {
    const wanted = new Set(ids);
    const chosen = this.list.filter((p) => wanted.has(p.id) && this.isOpen(p));
    for (const p of chosen) p.state = 'rejected';
    if (chosen.length) this.#emit();
    return chosen.length;
  }

  /** Accepts (`cls` given) or rejects the selected proposal, then selects the nearest open one. */
  decide(/** @type {string|null} */ cls) {
    const p = this.current();
    if (!p) return false;
    if (cls === null) this.reject([p.id]);
    else this.accept([p.id], cls);
    this.select(this.nearest(p.x, p.y)?.id ?? null);
    return true;
  }

  /**
   * The open proposal nearest to (x, y); with `perPx` (level-0 pixels a CSS pixel), only one
   * whose ring (widened by 3 CSS pixels) holds the point.
   */
  nearest(x, y, perPx = 0) {
    let best = null;
    let bestD = Infinity;
    for (const p of this.list) {
      const d = Math.hypot(p.x - x, p.y - y);
      if (perPx && d > (ringPx(p, perPx) + 3) * perPx) continue;
      if (d <= bestD && this.isShown(p)) {
        best = p;
        bestD = d;
      }
    }
    return best;
  }

  /**
   * The view's hook: selects the open proposal under level-0 (x, y), `perPx` level-0 pixels
   * a CSS pixel; returns whether there was one.
   */
  pick(x, y, perPx) {
    const p = this.nearest(x, y, perPx);
    if (p) this.select(p.id);
    return Boolean(p);
  }

  /**
   * The view's hook: draws the open proposals' outlines, dashed, over the annotations (the
   * selected one thicker and yellow); nuclei smaller than a few CSS pixels get a ring of the
   * smallest size instead, so they stay visible when zoomed out. Returns false when some are
   * left for the next frame (many in view: see `#drawTiled`).
   * @param {CanvasRenderingContext2D} ctx @param {Transform} t @param {number} r device pixel ratio
   */
  draw(ctx, t, r) {
    const perPx = r / t.scale;
    const [x0, y0, x1, y1] = visibleRect(t, ctx.canvas.width, ctx.canvas.height, 2 * RING_MAX_PX * r);
    if (this.#inView(x0, y0, x1, y1) > TILED_FROM) return this.#drawTiled(ctx, t, r);
    const shapes = new Path2D();
    let selected = null;
    let selectedRadius = 0;
    for (const p of this.list) {
      if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1 || !this.isShown(p)) continue;
      const cx = t.scale * p.x + t.dx;
      const cy = t.scale * p.y + t.dy;
      if (p.id === this.selected) [selected, selectedRadius] = [p, ringPx(p, perPx) * r];
      if (p.radius / perPx < RING_MIN_PX || !p.outline?.length) {
        shapes.moveTo(cx + RING_MIN_PX * r, cy);
        shapes.arc(cx, cy, RING_MIN_PX * r, 0, 2 * Math.PI);
        continue;
      }
      const [[ux, uy], ...rest] = p.outline;
      shapes.moveTo(t.scale * ux + t.dx, t.scale * uy + t.dy);
      for (const [vx, vy] of rest) shapes.lineTo(t.scale * vx + t.dx, t.scale * vy + t.dy);
      shapes.closePath();
    }
    ctx.save();
    ctx.lineWidth = 3.5 * r;
    ctx.strokeStyle = '#000000b0';
    ctx.stroke(shapes);
    ctx.lineWidth = 2 * r;
    ctx.setLineDash([4 * r, 3 * r]);
    ctx.strokeStyle = RING_COLOR;
    ctx.stroke(shapes);
    if (selected) drawSelected(ctx, t.scale * selected.x + t.dx, t.scale * selected.y + t.dy, selectedRadius, r);
    ctx.restore();
    return true;
  }

  /** About how many shown proposals meet the level-0 rectangle (the tiles' grid, once built). */
  #inView(x0, y0, x1, y1) {
    const shapes = this.#shapes();
    if (this.tiles.frozen === shapes && this.tiles.index) return this.tiles.index.count(x0, y0, x1, y1);
    let n = 0;
    for (const p of this.list) if (p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1) n++;
    return n;
  }

  /**
   * Many proposals in view: their outlines from tiles cached per zoom level (as the
   * annotations are), so a frame blits them; the selected one is drawn over them. Returns
   * false when tiles are left for the next frames.
   */
  #drawTiled(ctx, t, r) {
    const done = this.tiles.draw(ctx, this.#shapes(), t, () => RING_COLOR, {
      pointRadius: RING_MIN_PX * r, lineWidth: 1.5 * r, deadline: performance.now() + TILE_BUDGET_MS, frozen: true,
    });
    const p = this.current();
    if (p) drawSelected(ctx, t.scale * p.x + t.dx, t.scale * p.y + t.dy, ringPx(p, r / t.scale) * r, r);
    return done;
  }
}

/** The ring's radius in CSS pixels: just around the nucleus, within the limits. */
function ringPx(/** @type {Proposal} */ p, /** @type {number} */ perPx) {
  return Math.min(RING_MAX_PX, Math.max(RING_MIN_PX, p.radius / perPx + 2));
}

/** The selected proposal: a thick yellow dashed ring on a dark halo, a dot in the middle. */
function drawSelected(ctx, cx, cy, radius, r) {
  ctx.beginPath();
  ctx.arc(cx, cy, radius + 3 * r, 0, 2 * Math.PI);
  ctx.setLineDash([]);
  ctx.lineWidth = 5 * r;
  ctx.strokeStyle = '#000000c0';
  ctx.stroke();
  ctx.setLineDash([5 * r, 3 * r]);
  ctx.lineWidth = 3 * r;
  ctx.strokeStyle = SELECTED_COLOR;
  ctx.stroke();
  ctx.fillStyle = SELECTED_COLOR;
  ctx.fillRect(cx - 1.5 * r, cy - 1.5 * r, 3 * r, 3 * r);
}

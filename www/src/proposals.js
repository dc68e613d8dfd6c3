// Model proposals: nuclei a segmentation model found on a fragment, in level-0 slide pixels,
// waiting for the pathologist. Accepted ones become point annotations of the current class
// through the annotation model (so undo, redo and autosave apply); rejected ones disappear.
// A proposal whose accepted point is undone (or deleted) is open again; redo accepts it again.
import { visibleRect } from '../../web/src/osd-draw.js';

/** @typedef {import('./model.js').AnnotationModel} AnnotationModel */
/** @typedef {import('../../web/src/osd-draw.js').Transform} Transform */
/**
 * A nucleus proposed at level-0 (x, y), `radius` level-0 pixels (of a disc of its area).
 * @typedef {{id: number, x: number, y: number, radius: number,
 *   state: 'open'|'accepted'|'rejected', annotation: number}} Proposal
 */
/** @typedef {{proposed: number, open: number, accepted: number, rejected: number}} Counts */

/** Smallest and largest radius of a proposal's ring, in CSS pixels. */
const RING_MIN_PX = 4;
const RING_MAX_PX = 16;
const RING_COLOR = '#00e5ff';
const SELECTED_COLOR = '#ffea00';

export class Proposals {
  /** @param {AnnotationModel} model */
  constructor(model) {
    this.model = model;
    /** @type {Proposal[]} */
    this.list = [];
    /** Id of the selected proposal, or null. @type {number|null} */
    this.selected = null;
    /** Name of the fragment the proposals were made on. */
    this.source = '';
    /** @type {(() => void)[]} */
    this.listeners = [];
    // A new slide drops the proposals; any other change may reopen or close some.
    model.onChange((reason) => (reason === 'reset' ? this.clear() : this.#emit()));
  }

  /** @param {() => void} f called after every change of the proposals or their states */
  onChange(f) { this.listeners.push(f); }

  #emit() { for (const f of this.listeners) f(); }

  /**
   * Replaces every proposal by the nuclei of one run (their level-0 `slideX`, `slideY`; their
   * area in the image's pixels, `downsample` level-0 pixels each).
   * @param {{slideX: number|null, slideY: number|null, area: number}[]} nuclei
   * @param {string} source the fragment's name
   */
  set(nuclei, source, downsample = 1) {
    this.list = nuclei
      .filter((n) => Number.isFinite(n.slideX) && Number.isFinite(n.slideY))
      .map((n, i) => ({
        id: i + 1, x: /** @type {number} */ (n.slideX), y: /** @type {number} */ (n.slideY),
        radius: Math.sqrt(Math.max(0, n.area) / Math.PI) * downsample, state: 'open', annotation: 0,
      }));
    this.selected = null;
    this.source = source;
    this.#emit();
  }

  clear() { this.set([], ''); }

  /** Is the proposal waiting for a decision? (An accepted one whose point is gone is.) */
  isOpen(/** @type {Proposal} */ p) {
    return p.state === 'open' || (p.state === 'accepted' && !this.model.items.has(p.annotation));
  }

  /** The open proposals. */
  open() { return this.list.filter((p) => this.isOpen(p)); }

  /** @returns {Counts} */
  counts() {
    const c = { proposed: this.list.length, open: 0, accepted: 0, rejected: 0 };
    for (const p of this.list) {
      if (this.isOpen(p)) c.open++;
      else if (p.state === 'accepted') c.accepted++;
      else c.rejected++;
    }
    return c;
  }

  /** The selected proposal if it is still open. */
  current() {
    const p = this.list.find((q) => q.id === this.selected);
    return p && this.isOpen(p) ? p : null;
  }

  /** Selects a proposal (null: none). */
  select(/** @type {number|null} */ id) {
    if (this.selected === id) return;
    this.selected = id;
    this.#emit();
  }

  /** Selects the open proposal after the selected one (in list order, wrapping); returns it. */
  selectNext() {
    const open = this.open();
    if (!open.length) return null;
    const next = open.find((p) => p.id > (this.selected ?? 0)) ?? open[0];
    this.select(next.id);
    return next;
  }

  /**
   * Accepts open proposals as points of class `cls`, in one undo step; returns how many.
   * @param {Iterable<number>} ids @param {string} cls
   */
  accept(ids, cls) {
    const wanted = new Set(ids);
    const chosen = this.list.filter((p) => wanted.has(p.id) && this.isOpen(p));
    if (!chosen.length) return 0;
    const points = chosen.map((p) => ({ class: cls, geometry: { type: 'point', x: p.x, y: p.y } }));
    const items = this.model.add(/** @type {any} */ (points), 'accept');
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
      if (d <= bestD && this.isOpen(p)) {
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
   * The view's hook: draws the open proposals as dashed rings around the nuclei, over the
   * annotations (the selected one thicker and yellow).
   * @param {CanvasRenderingContext2D} ctx @param {Transform} t @param {number} r device pixel ratio
   */
  draw(ctx, t, r) {
    const perPx = r / t.scale;
    const [x0, y0, x1, y1] = visibleRect(t, ctx.canvas.width, ctx.canvas.height, 2 * RING_MAX_PX * r);
    const rings = new Path2D();
    let selected = null;
    let selectedRadius = 0;
    for (const p of this.list) {
      if (p.x < x0 || p.x > x1 || p.y < y0 || p.y > y1 || !this.isOpen(p)) continue;
      const radius = ringPx(p, perPx) * r;
      const cx = t.scale * p.x + t.dx;
      const cy = t.scale * p.y + t.dy;
      if (p.id === this.selected) [selected, selectedRadius] = [p, radius];
      rings.moveTo(cx + radius, cy);
      rings.arc(cx, cy, radius, 0, 2 * Math.PI);
    }
    ctx.save();
    ctx.lineWidth = 3.5 * r;
    ctx.strokeStyle = '#000000b0';
    ctx.stroke(rings);
    ctx.lineWidth = 2 * r;
    ctx.setLineDash([4 * r, 3 * r]);
    ctx.strokeStyle = RING_COLOR;
    ctx.stroke(rings);
    if (selected) drawSelected(ctx, t.scale * selected.x + t.dx, t.scale * selected.y + t.dy, selectedRadius, r);
    ctx.restore();
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

// The annotations of one slide (level-0 pixels) with undo and redo, and the classes with their
// colours. Annotations are immutable objects `{id, class, geometry}`: an edit replaces one, so
// caches keyed by the object (bounding boxes) stay right.

/** @typedef {{type: 'point', x: number, y: number} | {type: 'rect', x: number, y: number, w: number, h: number} | {type: 'polygon', points: [number, number][]}} Geometry */
/** @typedef {{id: number, class: string, geometry: Geometry}} Item */
/** @typedef {{id: number, before: Item|null, after: Item|null}[]} Change */

export const DEFAULT_CLASSES = [
  { name: 'tumour nucleus', color: '#e6194b' },
  { name: 'non-tumour nucleus', color: '#1e9e3a' },
  { name: 'mitosis', color: '#f58231' },
  { name: 'apoptosis', color: '#911eb4' },
  { name: 'tubule', color: '#2f55d4' },
  { name: 'non-tubule', color: '#0fa5b8' },
];

const SPARE_COLORS = ['#d4a000', '#f032e6', '#7a4b00', '#008080', '#800000', '#4b0082', '#556b2f'];

/** Moves a geometry by (dx, dy). @param {Geometry} g @returns {Geometry} */
export function moved(g, dx, dy) {
  if (g.type === 'point') return { type: 'point', x: g.x + dx, y: g.y + dy };
  if (g.type === 'rect') return { ...g, x: g.x + dx, y: g.y + dy };
  return { type: 'polygon', points: g.points.map(([x, y]) => [x + dx, y + dy]) };
}

export class AnnotationModel {
  constructor() {
    /** @type {Map<number, Item>} */
    this.items = new Map();
    /** @type {{name: string, color: string}[]} */
    this.classes = DEFAULT_CLASSES.map((c) => ({ ...c }));
    /** @type {Change[]} */
    this.undoStack = [];
    /** @type {Change[]} */
    this.redoStack = [];
    this.nextId = 1;
    /** @type {((reason: string) => void)[]} */
    this.listeners = [];
  }

  /** @param {(reason: string) => void} f called after every change */
  onChange(f) { this.listeners.push(f); }

  #emit(reason) { for (const f of this.listeners) f(reason); }

  /** Replaces everything (no undo): a slide's saved or empty state. */
  reset(annotations = [], classes = null) {
    this.items.clear();
    this.nextId = 1;
    for (const a of annotations) this.#put({ id: this.nextId++, class: a.class, geometry: a.geometry });
    this.classes = classes ? classes.map((c) => ({ ...c })) : DEFAULT_CLASSES.map((c) => ({ ...c }));
    for (const a of annotations) this.ensureClass(a.class, false);
    this.undoStack = [];
    this.redoStack = [];
    this.#emit('reset');
  }

  #put(item) { this.items.set(item.id, item); }

  /** @param {Change} change @param {boolean} forward */
  #apply(change, forward) {
    for (const c of change) {
      const next = forward ? c.after : c.before;
      if (next) this.#put(next);
      else this.items.delete(c.id);
    }
  }

  /** Records and applies a change. @param {Change} change */
  commit(change, reason = 'edit') {
    if (change.length === 0) return;
    this.#apply(change, true);
    this.undoStack.push(change);
    this.redoStack = [];
    this.#emit(reason);
  }

  /**
   * Adds annotations (one undo step); returns the new items.
   * @param {{class: string, geometry: Geometry}[]} list
   */
  add(list, reason = 'add') {
    const items = list.map((a) => ({ id: this.nextId++, class: a.class, geometry: a.geometry }));
    for (const a of items) this.ensureClass(a.class, false);
    this.commit(items.map((a) => ({ id: a.id, before: null, after: a })), reason);
    return items;
  }

  /** @param {Iterable<number>} ids */
  remove(ids) {
    const change = [];
    for (const id of ids) {
      const before = this.items.get(id);
      if (before) change.push({ id, before, after: null });
    }
    this.commit(change, 'remove');
  }

  /** Moves items by (dx, dy) level-0 pixels. @param {Iterable<number>} ids */
  move(ids, dx, dy) {
    const change = [];
    for (const id of ids) {
      const before = this.items.get(id);
      if (before) change.push({ id, before, after: { ...before, geometry: moved(before.geometry, dx, dy) } });
    }
    this.commit(change, 'move');
  }

  /** Gives items another class. @param {Iterable<number>} ids @param {string} cls */
  setClass(ids, cls) {
    const change = [];
    for (const id of ids) {
      const before = this.items.get(id);
      if (before && before.class !== cls) change.push({ id, before, after: { ...before, class: cls } });
    }
    this.commit(change, 'class');
  }

  undo() {
    const change = this.undoStack.pop();
    if (!change) return false;
    this.#apply(change, false);
    this.redoStack.push(change);
    this.#emit('undo');
    return true;
  }

  redo() {
    const change = this.redoStack.pop();
    if (!change) return false;
    this.#apply(change, true);
    this.undoStack.push(change);
    this.#emit('redo');
    return true;
  }

  /** Adds a class if it is new; returns it. */
  ensureClass(name, emit = true, color = undefined) {
    let c = this.classes.find((k) => k.name === name);
    if (!c) {
      const used = new Set(this.classes.map((k) => k.color));
      c = { name, color: color ?? SPARE_COLORS.find((k) => !used.has(k)) ?? '#333333' };
      this.classes.push(c);
      if (emit) this.#emit('classes');
    }
    return c;
  }

  colorOf(name) { return this.classes.find((c) => c.name === name)?.color ?? '#333333'; }

  /** Annotations as the web package takes them: `{class, geometry}`. */
  plain() { return Array.from(this.items.values(), (a) => ({ class: a.class, geometry: a.geometry })); }

  /** Counts by class, of all items or of those `inside(item)` says. */
  counts(inside = undefined) {
    const out = new Map(this.classes.map((c) => [c.name, 0]));
    for (const a of this.items.values()) {
      if (!inside || inside(a)) out.set(a.class, (out.get(a.class) ?? 0) + 1);
    }
    return out;
  }
}

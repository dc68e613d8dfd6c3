// Fast canvas drawing of annotations and regions in level-0 slide pixels, shared by the
// OpenSeadragon overlay and the annotation page: shapes outside the visible rectangle are
// skipped, and every class is drawn as one batched path (one fill for its points, one stroke
// for its boxes and polygons), so tens of thousands of annotations draw within a frame.

/**
 * Level-0 slide pixels to canvas pixels: `cx = scale * x + dx`, `cy = scale * y + dy`.
 * @typedef {{scale: number, dx: number, dy: number}} Transform
 */

/** @typedef {import('./index.js').Annotation} Annotation */

/** Bounding boxes of annotations, computed once per (immutable) annotation object. */
const boxes = new WeakMap();

/**
 * The bounding box `[x0, y0, x1, y1]` of an annotation's geometry (level-0 pixels).
 * @param {Annotation} a
 * @returns {[number, number, number, number]}
 */
export function boundsOf(a) {
  let b = boxes.get(a);
  if (b) return b;
  const g = a.geometry;
  if (g.type === 'point') {
    b = [g.x, g.y, g.x, g.y];
  } else if (g.type === 'rect') {
    b = [g.x, g.y, g.x + g.w, g.y + g.h];
  } else {
    b = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of g.points) {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  boxes.set(a, b);
  return b;
}

/**
 * The level-0 rectangle `[x0, y0, x1, y1]` a canvas of `width` x `height` shows, widened by
 * `margin` canvas pixels (so point markers on the border still draw).
 * @param {Transform} t @param {number} width @param {number} height @param {number} [margin]
 * @returns {[number, number, number, number]}
 */
export function visibleRect(t, width, height, margin = 8) {
  return [
    (-margin - t.dx) / t.scale, (-margin - t.dy) / t.scale,
    (width + margin - t.dx) / t.scale, (height + margin - t.dy) / t.scale,
  ];
}

/**
 * Draws annotations batched per class, culled to the canvas. Returns how many were drawn.
 * @param {CanvasRenderingContext2D} ctx
 * @param {Iterable<Annotation>} annotations
 * @param {Transform} t
 * @param {(cls: string) => string} colorOf CSS colour of a class
 * @param {{pointRadius?: number, lineWidth?: number, hidden?: Set<string>}} [options]
 */
export function drawAnnotations(ctx, annotations, t, colorOf, options = {}) {
  const { pointRadius = 4, lineWidth = 1.5, hidden } = options;
  const [vx0, vy0, vx1, vy1] = visibleRect(t, ctx.canvas.width, ctx.canvas.height, pointRadius + lineWidth);
  /** @type {Map<string, {points: Path2D, shapes: Path2D}>} */
  const paths = new Map();
  const { scale, dx, dy } = t;
  const r = pointRadius;
  let drawn = 0;
  for (const a of annotations) {
    if (hidden?.has(a.class)) continue;
    const b = boundsOf(a);
    if (b[2] < vx0 || b[0] > vx1 || b[3] < vy0 || b[1] > vy1) continue;
    let p = paths.get(a.class);
    if (!p) {
      p = { points: new Path2D(), shapes: new Path2D() };
      paths.set(a.class, p);
    }
    const g = a.geometry;
    drawn++;
    if (g.type === 'point') {
      const x = scale * g.x + dx;
      const y = scale * g.y + dy;
      p.points.moveTo(x + r, y);
      p.points.arc(x, y, r, 0, 2 * Math.PI);
    } else if (g.type === 'rect') {
      p.shapes.rect(scale * g.x + dx, scale * g.y + dy, scale * g.w, scale * g.h);
    } else if (g.points.length > 0) {
      const [x0, y0] = g.points[0];
      p.shapes.moveTo(scale * x0 + dx, scale * y0 + dy);
      for (let i = 1; i < g.points.length; i++) {
        const [x, y] = g.points[i];
        p.shapes.lineTo(scale * x + dx, scale * y + dy);
      }
      p.shapes.closePath();
    }
  }
  ctx.save();
  ctx.lineWidth = lineWidth;
  for (const [cls, p] of paths) {
    const color = colorOf(cls);
    ctx.fillStyle = color;
    ctx.strokeStyle = color;
    ctx.stroke(p.shapes);
    ctx.fill(p.points);
  }
  ctx.restore();
  return drawn;
}

/**
 * Strokes rectangles given in level-0 pixels (tissue regions).
 * @param {CanvasRenderingContext2D} ctx
 * @param {{x: number, y: number, w: number, h: number}[]} rects
 * @param {Transform} t
 * @param {string} color
 * @param {number} [lineWidth]
 */
export function drawRects(ctx, rects, t, color, lineWidth = 2) {
  const path = new Path2D();
  for (const r of rects) path.rect(t.scale * r.x + t.dx, t.scale * r.y + t.dy, t.scale * r.w, t.scale * r.h);
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = lineWidth;
  ctx.stroke(path);
  ctx.restore();
}

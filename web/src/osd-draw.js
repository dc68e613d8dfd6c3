// Fast canvas drawing of annotations and regions in level-0 slide pixels, shared by the
// OpenSeadragon overlay and the annotation page: shapes outside the visible rectangle are
// skipped; up to RASTER_FROM visible shapes, every class is drawn as one batched path (one
// fill for its points, one stroke for its boxes and polygons, antialiased); beyond that the
// shapes are stamped into a pixel buffer in JavaScript and drawn as one image, because
// filling tens of thousands of subpaths costs 30-80 ms in Chromium's software rasteriser
// while stamping them costs a few.

/** Visible shapes from which the pixel-buffer path is taken. */
export const RASTER_FROM = 2000;

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
  const visible = [];
  for (const a of annotations) {
    if (hidden?.has(a.class)) continue;
    const b = boundsOf(a);
    if (b[2] < vx0 || b[0] > vx1 || b[3] < vy0 || b[1] > vy1) continue;
    visible.push(a);
  }
  if (visible.length >= RASTER_FROM) {
    rasterize(ctx, visible, t, colorOf, pointRadius, lineWidth);
    return visible.length;
  }
  /** @type {Map<string, {points: Path2D, shapes: Path2D}>} */
  const paths = new Map();
  const { scale, dx, dy } = t;
  const r = pointRadius;
  let drawn = 0;
  for (const a of visible) {
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

/** @type {WeakMap<HTMLCanvasElement|OffscreenCanvas, {canvas: OffscreenCanvas, image: ImageData, pixels: Uint32Array}>} */
const layers = new WeakMap();
/** @type {Map<string, number>} CSS colour -> RGBA packed as the platform's Uint32 */
const packed = new Map();

/** A CSS colour as one pixel of a Uint32Array over ImageData (cached). */
export function packColor(color) {
  let v = packed.get(color);
  if (v === undefined) {
    const c = new OffscreenCanvas(1, 1).getContext('2d');
    c.fillStyle = color;
    c.fillRect(0, 0, 1, 1);
    v = new Uint32Array(c.getImageData(0, 0, 1, 1).data.buffer)[0];
    packed.set(color, v);
  }
  return v;
}

/**
 * Stamps shapes into a pixel buffer (discs for points, `lineWidth`-wide outlines for boxes
 * and polygons, no antialiasing) and draws it over the canvas as one image.
 */
function rasterize(ctx, visible, t, colorOf, pointRadius, lineWidth) {
  const { width: w, height: h } = ctx.canvas;
  let layer = layers.get(ctx.canvas);
  if (!layer || layer.image.width !== w || layer.image.height !== h) {
    const image = new ImageData(w, h);
    layer = { canvas: new OffscreenCanvas(w, h), image, pixels: new Uint32Array(image.data.buffer) };
    layers.set(ctx.canvas, layer);
  }
  const px = layer.pixels;
  px.fill(0);
  const { scale, dx, dy } = t;
  const lw = Math.max(1, Math.round(lineWidth));
  const R = Math.max(1, Math.round(pointRadius));
  const spans = Array.from({ length: 2 * R + 1 }, (_, i) => Math.floor(Math.sqrt(R * R - (i - R) ** 2)));
  const fill = (x0, y0, x1, y1, c) => {
    x0 = Math.max(0, x0 | 0); y0 = Math.max(0, y0 | 0);
    x1 = Math.min(w - 1, x1 | 0); y1 = Math.min(h - 1, y1 | 0);
    for (let y = y0; y <= y1; y++) px.fill(c, y * w + x0, y * w + x1 + 1);
  };
  const line = (xa, ya, xb, yb, c) => {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(xb - xa), Math.abs(yb - ya))));
    if (n > 4 * (w + h)) return; // a huge zoom: skip rather than walk far off-canvas
    const sx = (xb - xa) / n;
    const sy = (yb - ya) / n;
    for (let i = 0; i <= n; i++) {
      const x = (xa + sx * i) | 0;
      const y = (ya + sy * i) | 0;
      if (x >= -lw && y >= -lw && x < w && y < h) fill(x, y, x + lw - 1, y + lw - 1, c);
    }
  };
  for (const a of visible) {
    const c = packColor(colorOf(a.class));
    const g = a.geometry;
    if (g.type === 'point') {
      const x = Math.round(scale * g.x + dx);
      const y = Math.round(scale * g.y + dy);
      for (let i = 0; i <= 2 * R; i++) {
        const yy = y + i - R;
        if (yy < 0 || yy >= h) continue;
        const x0 = Math.max(0, x - spans[i]);
        const x1 = Math.min(w - 1, x + spans[i]);
        if (x0 <= x1) px.fill(c, yy * w + x0, yy * w + x1 + 1);
      }
    } else if (g.type === 'rect') {
      const x0 = scale * g.x + dx;
      const y0 = scale * g.y + dy;
      const x1 = x0 + scale * g.w;
      const y1 = y0 + scale * g.h;
      fill(x0, y0, x1, y0 + lw - 1, c);
      fill(x0, y1 - lw + 1, x1, y1, c);
      fill(x0, y0, x0 + lw - 1, y1, c);
      fill(x1 - lw + 1, y0, x1, y1, c);
    } else {
      const p = g.points;
      for (let i = 0; i < p.length; i++) {
        const [xa, ya] = p[i];
        const [xb, yb] = p[(i + 1) % p.length];
        line(scale * xa + dx, scale * ya + dy, scale * xb + dx, scale * yb + dy, c);
      }
    }
  }
  const lctx = /** @type {OffscreenCanvasRenderingContext2D} */ (layer.canvas.getContext('2d'));
  lctx.putImageData(layer.image, 0, 0);
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(layer.canvas, 0, 0);
  ctx.restore();
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

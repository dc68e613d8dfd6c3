// The overview of a slide with its detected regions and, on demand, the stages of the
// detection: the binary tissue mask, the first boxes (components) and the merged boxes.
import { toImageData } from '../../web/src/index.js';

/** @typedef {import('../../web/src/index.js').Detection} Detection */
/** @typedef {import('../../web/src/index.js').Picture} Picture */

export const STAGE_COLORS = { components: '#ffd400', merged: '#ff6a00', regions: '#00c853', mask: 'rgba(0, 120, 255, 0.45)' };

export class OverviewView {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    /** @type {HTMLCanvasElement|null} */
    this.picture = null;
    /** @type {HTMLCanvasElement|null} */
    this.mask = null;
    /** @type {Detection|null} */
    this.detection = null;
    this.show = { mask: false, components: false, merged: false };
    /** @type {{x: number, y: number, w: number, h: number}[]} fragment rectangles, level-0 */
    this.fragments = [];
    this.level0 = { width: 1, height: 1 };
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /** @param {Picture} picture @param {{width: number, height: number}} level0 */
  setPicture(picture, level0) {
    const c = document.createElement('canvas');
    c.width = picture.width;
    c.height = picture.height;
    c.getContext('2d').putImageData(toImageData(picture), 0, 0);
    this.picture = c;
    this.level0 = level0;
    this.detection = null;
    this.mask = null;
    this.fragments = [];
    this.draw();
  }

  /** @param {Detection} d */
  setDetection(d) {
    this.detection = d;
    const c = document.createElement('canvas');
    c.width = d.width;
    c.height = d.height;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(d.width, d.height);
    for (let i = 0; i < d.mask.length; i++) {
      if (d.mask[i]) {
        img.data[4 * i + 2] = 255;
        img.data[4 * i + 1] = 120;
        img.data[4 * i + 3] = 115;
      }
    }
    ctx.putImageData(img, 0, 0);
    this.mask = c;
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * ratio);
    c.height = Math.round(c.clientHeight * ratio);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#f4f4f4';
    ctx.fillRect(0, 0, c.width, c.height);
    if (!this.picture) return;
    const p = this.picture;
    const s = Math.min(c.width / p.width, c.height / p.height);
    const ox = (c.width - p.width * s) / 2;
    const oy = (c.height - p.height * s) / 2;
    ctx.drawImage(p, ox, oy, p.width * s, p.height * s);
    const d = this.detection;
    if (!d) return;
    if (this.show.mask && this.mask) ctx.drawImage(this.mask, ox, oy, p.width * s, p.height * s);
    // Detection boxes are in detection pixels; fragments in level-0 pixels.
    const k = (p.width * s) / d.width;
    const box = (rects, color, width, scale = k, dash = []) => {
      ctx.save();
      ctx.strokeStyle = color;
      ctx.lineWidth = width * ratio;
      ctx.setLineDash(dash);
      for (const r of rects) ctx.strokeRect(ox + r.x * scale, oy + r.y * scale, r.w * scale, r.h * scale);
      ctx.restore();
    };
    if (this.show.components) box(d.components, STAGE_COLORS.components, 1);
    if (this.show.merged) box(d.merged, STAGE_COLORS.merged, 1.5);
    box(d.regions, STAGE_COLORS.regions, 2.5);
    box(this.fragments, '#ffffff', 1, (p.width * s) / this.level0.width, [4 * ratio, 3 * ratio]);
  }
}

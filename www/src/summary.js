// The Measurements panel: over the regions of the last run, the nuclei per class (accepted
// outlines and points of each class, and the proposals not reviewed yet), the tissue area
// (found on the overview as `histoseg predict` finds it), densities per mm² of tissue, and the
// proposals' mean area, circularity and haematoxylin optical density. Exported as the CLI's
// `summary.csv`. A slide without a pixel size is measured in pixels, and says so.
import { download } from './exports.js';

/** @typedef {import('./model.js').AnnotationModel} AnnotationModel */
/** @typedef {import('./proposals.js').Proposals} Proposals */
/** @typedef {{x: number, y: number, w: number, h: number}} Rect */

/** The row of proposals nobody has accepted or rejected yet. */
export const OPEN_CLASS = 'Proposed (not reviewed)';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** Does one of `regions` hold (x, y)? */
const inside = (regions, x, y) => regions.some((r) => x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h);

/** Where an annotation counts: a point, or a polygon's centre of its vertices; rectangles do not. */
function placeOf(/** @type {any} */ g) {
  if (g.type === 'point') return [g.x, g.y];
  if (g.type !== 'polygon' || !g.points.length) return null;
  const n = g.points.length;
  return g.points.reduce(([sx, sy], [x, y]) => [sx + x / n, sy + y / n], [0, 0]);
}

export class SummaryPanel {
  /**
   * @param {{model: AnnotationModel, proposals: Proposals, regions: () => Rect[]|null,
   *   slide: () => any, histoseg: () => any}} deps
   */
  constructor({ model, proposals, regions, slide, histoseg }) {
    Object.assign(this, { model, proposals, regions, slide, histoseg });
    /** Tissue areas by their regions, per slide. @type {Map<string, Promise<number>>} */
    this.tissue = new Map();
    this.timer = 0;
    const soon = () => { clearTimeout(this.timer); this.timer = setTimeout(() => this.refresh(), 150); };
    model.onChange(soon);
    proposals.onChange(soon);
    $('summary-csv').addEventListener('click', () => this.exportCsv());
  }

  /** Forgets the tissue areas (a new slide). */
  reset() { this.tissue.clear(); }

  /** The slide's µm per pixel (x, y), or null. */
  mpp() {
    const info = this.slide()?.info;
    return info?.mpp_x ? [info.mpp_x, info.mpp_y ?? info.mpp_x] : null;
  }

  /** Tissue in `regions`, level-0 px² (asked once per set of regions). */
  tissueIn(/** @type {Rect[]} */ regions) {
    const key = JSON.stringify(regions);
    if (!this.tissue.has(key)) this.tissue.set(key, this.slide().tissueArea(regions));
    return /** @type {Promise<number>} */ (this.tissue.get(key));
  }

  /** The counts per class inside `regions`, in the order classes are listed, then the open proposals. */
  counts(/** @type {Rect[]} */ regions) {
    const byClass = new Map(this.model.classes.map((c) => [c.name, 0]));
    for (const a of this.model.items.values()) {
      const at = placeOf(a.geometry);
      if (at && inside(regions, at[0], at[1])) byClass.set(a.class, (byClass.get(a.class) ?? 0) + 1);
    }
    const open = this.proposals.open().length;
    const rows = [...byClass].filter(([, n]) => n > 0);
    if (open) rows.push([OPEN_CLASS, open]);
    return rows;
  }

  /** The summary of the run's regions as the core's `Summary` (null without a run). */
  async summary() {
    const regions = this.regions();
    const slide = this.slide();
    if (!regions?.length || !slide) return null;
    return { slide: slide.info.file, counts: this.counts(regions), tissuePixels: await this.tissueIn(regions), mpp: this.mpp() };
  }

  /** Redraws the panel. */
  async refresh() {
    let s;
    try {
      s = await this.summary();
    } catch (e) {
      $('summary-note').textContent = `Tissue could not be measured: ${e?.message ?? e}`;
      return;
    }
    $('summary-csv').disabled = !s;
    if (!s) {
      $('summary-rows').replaceChildren();
      $('summary-note').textContent = 'Run the model to measure its regions.';
      return;
    }
    const mpp = s.mpp;
    // Per mm² of tissue, or per megapixel without a pixel size.
    const unitArea = mpp ? (1000 * 1000) / (mpp[0] * mpp[1]) : 1e6;
    const tissue = s.tissuePixels / unitArea;
    $('summary-rows').replaceChildren(...s.counts.map(([cls, n]) => {
      const tr = document.createElement('tr');
      for (const [v, numeric] of [[cls, false], [String(n), true], [tissue > 0 ? (n / tissue).toFixed(1) : '–', true]]) {
        const td = document.createElement('td');
        if (numeric) td.className = 'n';
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
    $('summary-density').textContent = mpp ? 'per mm²' : 'per MP';
    const kept = this.proposals.list.filter((p) => p.state !== 'rejected');
    const mean = (f) => kept.reduce((t, p) => t + f(p), 0) / Math.max(1, kept.length);
    const area = mean((p) => p.area) * (mpp ? mpp[0] * mpp[1] : 1);
    const lines = [mpp
      ? `Tissue: ${tissue.toFixed(4)} mm² in ${this.regions()?.length} region(s).`
      : `This slide states no pixel size: tissue ${tissue.toFixed(3)} megapixels, areas in pixels.`];
    if (kept.length) {
      lines.push(`Proposed nuclei (not rejected): mean area ${area.toFixed(1)} ${mpp ? 'µm²' : 'px²'}, `
        + `circularity ${mean((p) => p.circularity).toFixed(2)}, haematoxylin OD ${mean((p) => p.od).toFixed(3)}.`);
    }
    $('summary-note').textContent = lines.join(' ');
  }

  /** Saves the summary as `<stem>.summary.csv`, as `histoseg predict` writes it. */
  async exportCsv() {
    const s = await this.summary();
    if (!s) return;
    const csv = await this.histoseg().summaryCsv([s]);
    download(new Blob([csv], { type: 'text/csv' }), `${this.slide().stem}.summary.csv`);
  }
}

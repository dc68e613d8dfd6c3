// Exports and imports through the web package's conversions: QuPath GeoJSON, COCO and CSV of
// the whole slide, Makesense.AI files of the fragments, the fragments themselves as a zip, and
// Makesense exports read back onto the slide. Files are made in the page and saved locally.
import { strToU8, zipSync } from '../node_modules/fflate/esm/browser.js';

/** @typedef {import('../../web/src/index.js').Histoseg} Histoseg */
/** @typedef {import('../../web/src/index.js').ExtractedFragment} ExtractedFragment */
/** @typedef {import('../../web/src/index.js').Annotation} Annotation */

/** Saves a Blob as a file through a download link (no network). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A store-only zip (JPEGs gain nothing from deflate) of named byte arrays. */
export function zip(/** @type {Record<string, Uint8Array>} */ files) {
  return new Blob([zipSync(files, { level: 0 })], { type: 'application/zip' });
}

export const SLIDE_FORMATS = {
  geojson: { ext: 'geojson', type: 'application/geo+json' },
  coco: { ext: 'coco.json', type: 'application/json' },
  csv: { ext: 'csv', type: 'text/csv' },
};

/**
 * A slide-level file of every annotation.
 * @param {Histoseg} h @param {'geojson'|'coco'|'csv'} format @param {Annotation[]} annotations
 * @param {{stem: string, name: string, width: number, height: number}} slide
 */
export async function slideFile(h, format, annotations, slide) {
  const text = await h.writeAnnotations(format, annotations, { slide: slide.name, width: slide.width, height: slide.height });
  const f = SLIDE_FORMATS[format];
  return { name: `${slide.stem}.${f.ext}`, blob: new Blob([text], { type: f.type }) };
}

/** The shapes each Makesense format carries (the core refuses the others). */
export const MAKESENSE_SHAPES = {
  yolo: ['rect'], voc: ['rect'], 'csv-rects': ['rect'], 'csv-points': ['point'],
  coco: ['rect', 'polygon'], vgg: ['rect', 'polygon'],
};

/**
 * Makesense files for the fragments (each annotation on the first fragment that holds it
 * whole); one file as it is, several zipped. Shapes the format cannot carry are left out; says
 * how many were, and how many annotations no fragment holds.
 * @param {Histoseg} h @param {string} format @param {Annotation[]} annotations
 * @param {ExtractedFragment[]} fragments @param {string[]} labels @param {string} stem
 */
export async function makesenseFile(h, format, annotations, fragments, labels, stem) {
  const names = fragments.map((f) => f.name);
  const shapes = MAKESENSE_SHAPES[format] ?? [];
  const carried = annotations.filter((a) => shapes.includes(a.geometry.type));
  const skipped = annotations.length - carried.length;
  const { placed, left } = await h.assignToFragments(carried, names);
  const items = names.map((name) => ({ name, annotations: placed[name] ?? [] }));
  const files = await h.exportMakesense(format, items, { labels });
  if (files.length === 1) {
    const [f] = files;
    return { name: `${stem}-makesense-${format}-${f.name}`, blob: new Blob([f.text], { type: 'text/plain' }), left: left.length, skipped };
  }
  const entries = Object.fromEntries(files.map((f) => [f.name, strToU8(f.text)]));
  return { name: `${stem}-makesense-${format}.zip`, blob: zip(entries), left: left.length, skipped };
}

/**
 * The fragment images (and the class names, `labels.txt`) zipped for Makesense.AI.
 * @param {ExtractedFragment[]} fragments @param {string[]} labels @param {string} stem
 */
export async function fragmentsZip(fragments, labels, stem) {
  /** @type {Record<string, Uint8Array>} */
  const files = { 'labels.txt': strToU8(labels.join('\n') + '\n') };
  for (const f of fragments) files[f.name] = new Uint8Array(await f.blob.arrayBuffer());
  return { name: `${stem}-fragments.zip`, blob: zip(files) };
}

/**
 * Makesense exports (one or more text files) back onto this slide.
 * @param {Histoseg} h @param {string} format @param {File[]} files
 * @param {ExtractedFragment[]} fragments @param {string[]} labels @param {string} stem
 */
export async function importMakesense(h, format, files, fragments, labels, stem) {
  const texts = await Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() })));
  const hasLabels = texts.some((f) => f.name === 'labels.txt');
  const out = await h.importMakesense(format, texts, fragments.map((f) => f.name), {
    labels: format === 'yolo' && !hasLabels ? labels : undefined,
  });
  const mine = out.slides[stem] ?? [];
  const others = Object.keys(out.slides).filter((s) => s !== stem);
  return { annotations: mine, warnings: out.warnings, others };
}

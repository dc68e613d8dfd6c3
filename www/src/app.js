// The annotation page: open a local slide, detect tissue regions live, cut fragments, annotate
// them (by hand or by reviewing a model's proposals), autosave to IndexedDB, export and import.
// Everything runs in this tab; the slide is read in the histoseg worker piece by piece and never
// leaves the machine; a model runs in its own worker.
import { Histoseg, toImageData } from '../../web/src/index.js';
import { AnnotationModel } from './model.js';
import { AnnotationView } from './viewer.js';
import { Proposals } from './proposals.js';
import { ModelPanel } from './assist.js';
import { SummaryPanel } from './summary.js';
import { OverviewView } from './overview.js';
import { Autosaver, list as savedSlides, load as loadSaved, slideKey } from './store.js';
import { download, fragmentsZip, importMakesense, makesenseFile, slideFile } from './exports.js';

/** @typedef {import('../../web/src/index.js').Slide} Slide */
/** @typedef {import('../../web/src/index.js').ExtractedFragment} ExtractedFragment */

const $ = (/** @type {string} */ sel) => /** @type {any} */ (document.querySelector(sel));
const OVERVIEW_SIDE = 2048;
const MAX_FRAGMENT = 2048;
const DEBOUNCE_MS = 250;

const model = new AnnotationModel();
const view = new AnnotationView($('#view'), model);
const overview = new OverviewView($('#overview'));
const saver = new Autosaver();
const proposals = new Proposals(model);
view.layer = proposals;

/** One worker for the page's life. */
const library = Histoseg.create();

const state = {
  /** @type {Histoseg|null} */ histoseg: null,
  /** @type {Slide|null} */ slide: null,
  /** @type {{key: string, name: string, size: number, hash: string}|null} */ id: null,
  /** @type {ExtractedFragment[]} */ fragments: [],
  /** Level-0 tissue regions of the last detection. @type {{x: number, y: number, w: number, h: number}[]} */ regions: [],
  /** @type {string[]} */ thumbs: [],
  current: -1,
  seq: 0,
  saves: 0,
};

function status(text, error = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', error);
  if (!error && text) setTimeout(() => { if (s.textContent === text) s.textContent = ''; }, 4000);
}

function fail(e) {
  console.error(e);
  status(e instanceof Error ? e.message : String(e), true);
}

// ---- opening a slide ----------------------------------------------------------------------

/**
 * Opens one slide file, or the files of one slide kept as several (DICOM), picked or dropped
 * together.
 * @param {File[]} files
 */
async function openFile(files) {
  const single = files.length === 1 ? files[0] : null;
  const name = single?.name ?? (files[0].webkitRelativePath?.split('/')[0] || files[0].name);
  const file = { name };
  try {
    status(`Opening ${file.name}…`);
    const h = await library;
    await saver.idle;
    await assist.reset();
    summary.reset();
    if (state.slide) await state.slide.close();
    state.slide = null;
    // Several files are saved under their first by name, and how many they are.
    const first = [...files].sort((a, b) => a.name.localeCompare(b.name))[0];
    const id = await slideKey(first);
    if (!single) Object.assign(id, { key: `${id.key}|${files.length} files`, name });
    const slide = await h.openSlide(single ?? files, name);
    state.slide = slide;
    state.id = id;
    const saved = await loadSaved(id.key);
    model.reset(saved?.annotations ?? [], saved?.classes ?? null);
    await assist.restore(id.key);
    const level0 = slide.info.levels[0];
    $('#slide-name').textContent = `${file.name} — ${level0.width} × ${level0.height} px, ${slide.info.levels.length} level(s)`;
    $('#slide-name').classList.remove('muted');
    selectTab('overview');
    $('#tab-annotate').disabled = true;
    overview.setPicture(await slide.overview(OVERVIEW_SIDE), level0);
    status(saved ? `Restored ${saved.annotations.length} annotations of ${file.name}` : `Opened ${file.name}`);
    await detect();
  } catch (e) {
    fail(e);
  }
}

$('#file').addEventListener('change', (e) => {
  const files = [...(e.target.files ?? [])];
  if (files.length) openFile(files);
});

let dragDepth = 0;
window.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  dragDepth++;
  $('#drop').hidden = false;
});
window.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) { dragDepth = 0; $('#drop').hidden = true; }
});
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  $('#drop').hidden = true;
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length) openFile(files);
});

// ---- tissue regions and fragments ---------------------------------------------------------

function detectOptions() {
  const fixed = $('#threshold-mode').value === 'fixed';
  return {
    maxSide: OVERVIEW_SIDE,
    threshold: fixed ? Number($('#threshold').value) : 'otsu',
    gap: Number($('#gap').value),
    minArea: Math.max(0, Math.round(Number($('#min-area').value) || 0)),
  };
}

/** Runs detection then extraction; results of an older run are dropped. */
async function detect() {
  const slide = state.slide;
  if (!slide) return;
  const seq = ++state.seq;
  document.body.dataset.busy = 'true';
  const options = detectOptions();
  const t0 = performance.now();
  $('#detect-state').textContent = 'Detecting…';
  try {
    const d = await slide.detectRegions(options);
    if (seq !== state.seq) return;
    overview.setDetection(d);
    state.regions = d.regions_level0;
    $('#detect-state').textContent = `threshold ${d.threshold}: ${d.components.length} first boxes, `
      + `${d.merged.length} merged, ${d.regions.length} regions (${Math.round(performance.now() - t0)} ms). Cutting fragments…`;
    const ds = $('#downsample').value;
    const extractOptions = { ...options, maxFragment: MAX_FRAGMENT, ...(ds === 'overview' ? {} : { downsample: Number(ds) }) };
    const out = await slide.extractFragments(extractOptions);
    if (seq !== state.seq) return;
    setFragments(out.fragments);
    $('#detect-state').textContent = `threshold ${d.threshold}: ${d.components.length} first boxes, `
      + `${d.merged.length} merged, ${d.regions.length} regions, ${out.fragments.length} fragments.`;
  } catch (e) {
    if (seq === state.seq) {
      $('#detect-state').textContent = '';
      fail(e);
    }
  } finally {
    if (seq === state.seq) delete document.body.dataset.busy;
  }
}

let timer = 0;
function detectSoon() {
  clearTimeout(timer);
  document.body.dataset.busy = 'true';
  timer = setTimeout(detect, DEBOUNCE_MS);
}

$('#threshold-mode').addEventListener('change', () => {
  $('#threshold').disabled = $('#threshold-mode').value !== 'fixed';
  detectSoon();
});
for (const [input, out] of [['#threshold', '#threshold-out'], ['#gap', '#gap-out']]) {
  $(input).addEventListener('input', () => {
    $(out).textContent = $(input).value;
    detectSoon();
  });
}
$('#min-area').addEventListener('input', detectSoon);
$('#downsample').addEventListener('change', detectSoon);
for (const stage of ['mask', 'components', 'merged']) {
  $(`#show-${stage}`).addEventListener('change', (e) => {
    overview.show[stage] = e.target.checked;
    overview.draw();
  });
}

/** @param {ExtractedFragment} f */
const fragmentRect = (f) => f.fragment;

/** Is the annotation's first vertex (or point) inside the fragment? */
function inFragment(a, f) {
  const g = a.geometry;
  const [x, y] = g.type === 'polygon' ? g.points[0] ?? [NaN, NaN] : [g.x, g.y];
  return x >= f.x && y >= f.y && x < f.x + f.w && y < f.y + f.h;
}

/** @param {ExtractedFragment[]} fragments */
function setFragments(fragments) {
  for (const url of state.thumbs) URL.revokeObjectURL(url);
  const previous = state.fragments[state.current]?.name;
  state.fragments = fragments;
  state.thumbs = fragments.map((f) => URL.createObjectURL(f.blob));
  overview.fragments = fragments.map(fragmentRect);
  overview.draw();
  const list = $('#gallery');
  list.replaceChildren(...fragments.map((f, i) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.index = String(i);
    const r = f.fragment;
    b.setAttribute('aria-label', `Fragment ${i + 1}: x ${r.x}, y ${r.y}, ${r.w} by ${r.h} pixels`);
    b.title = f.name;
    const img = document.createElement('img');
    img.src = state.thumbs[i];
    img.alt = '';
    const label = document.createElement('span');
    label.textContent = `${i + 1}`;
    b.append(img, label);
    b.addEventListener('click', () => openFragment(i));
    li.append(b);
    return li;
  }));
  $('#tab-annotate').disabled = fragments.length === 0;
  const again = fragments.findIndex((f) => f.name === previous);
  state.current = -1;
  if (again >= 0) openFragment(again, false);
  else if (!$('#pane-annotate').hidden) selectTab('overview');
  updateGalleryCounts();
  assist.update();
}

function updateGalleryCounts() {
  const buttons = $('#gallery').querySelectorAll('button');
  const items = Array.from(model.items.values());
  state.fragments.forEach((f, i) => {
    const n = items.reduce((k, a) => k + (inFragment(a, f.fragment) ? 1 : 0), 0);
    const b = buttons[i];
    if (!b) return;
    b.lastChild.textContent = n ? `${i + 1} · ${n}` : `${i + 1}`;
    b.setAttribute('aria-current', String(i === state.current));
  });
}

/** Opens fragment `i` in the annotation view. */
async function openFragment(i, switchTab = true) {
  const f = state.fragments[i];
  if (!f) return;
  state.current = i;
  await view.show(f.fragment, await fragmentPicture(f));
  const r = f.fragment;
  $('#fragment-label').textContent = `Fragment ${i + 1}/${state.fragments.length}: x ${r.x}, y ${r.y}, ${r.w} × ${r.h} px (level 0), 1/${r.downsample.toFixed(2)} scale`;
  if (switchTab) selectTab('annotate');
  updateCounts();
  updateGalleryCounts();
  assist.update();
}

/**
 * The fragment's picture as the view shows it: as scanned, or with the haematoxylin view on,
 * its haematoxylin alone (colour deconvolution in the worker).
 * @param {ExtractedFragment} f
 */
async function fragmentPicture(f) {
  if (!$('#show-hematoxylin').checked || !state.histoseg) return f.blob;
  const bitmap = await createImageBitmap(f.blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const pixels = await state.histoseg.singleStain(data, width, height, 'he', 0);
  return toImageData({ width, height, pixels });
}

/** Switches the view between the fragment as scanned and its haematoxylin. */
async function showHematoxylin() {
  const f = state.fragments[state.current];
  try {
    if (f) await view.setImage(await fragmentPicture(f));
    $('#view').dataset.picture = $('#show-hematoxylin').checked ? 'hematoxylin' : 'scanned';
  } catch (e) {
    fail(e);
  }
}
$('#show-hematoxylin').addEventListener('change', showHematoxylin);

function selectTab(which) {
  for (const name of ['overview', 'annotate']) {
    const on = name === which;
    $(`#tab-${name}`).setAttribute('aria-selected', String(on));
    $(`#pane-${name}`).hidden = !on;
  }
  if (which === 'annotate') {
    view.fit();
    $('#view').focus();
  } else overview.draw();
}
$('#tab-overview').addEventListener('click', () => selectTab('overview'));
$('#tab-annotate').addEventListener('click', () => {
  if (state.current < 0) openFragment(0);
  else selectTab('annotate');
});

// ---- tools, classes, counts ---------------------------------------------------------------

function setTool(tool) {
  view.setTool(tool);
  for (const b of document.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool));
}
for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));

function setClass(name) {
  view.cls = name;
  if (view.selection.size) model.setClass(view.selection, name);
  updateCounts();
}

function updateCounts() {
  const f = state.fragments[state.current]?.fragment;
  const here = f ? model.counts((a) => inFragment(a, f)) : new Map();
  const all = model.counts();
  const rows = model.classes.map((c, i) => {
    const tr = document.createElement('tr');
    const key = i < 10 ? String((i + 1) % 10) : '';
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('aria-pressed', String(c.name === view.cls));
    b.dataset.class = c.name;
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.setProperty('--c', c.color);
    b.append(dot, c.name);
    b.addEventListener('click', () => setClass(c.name));
    const cells = [key, b, String(here.get(c.name) ?? 0), String(all.get(c.name) ?? 0)].map((v, j) => {
      const td = document.createElement('td');
      if (j >= 2) td.className = 'n';
      td.append(v);
      return td;
    });
    tr.append(...cells);
    return tr;
  });
  $('#class-list').replaceChildren(...rows);
  $('#undo').disabled = model.undoStack.length === 0;
  $('#redo').disabled = model.redoStack.length === 0;
  $('#delete').disabled = view.selection.size === 0;
}

$('#class-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('#class-name').value.trim();
  if (!name) return;
  model.ensureClass(name, true, $('#class-color').value);
  $('#class-name').value = '';
  setClass(name);
});

$('#undo').addEventListener('click', () => model.undo());
$('#redo').addEventListener('click', () => model.redo());
$('#delete').addEventListener('click', () => view.deleteSelection());
$('#fit').addEventListener('click', () => view.fit());
view.onSelection = () => {
  if (view.selection.size) proposals.select(null);
  updateCounts();
  assist.update();
};

// ---- model proposals ----------------------------------------------------------------------

const assist = new ModelPanel({
  proposals,
  current: () => (state.current >= 0 ? { index: state.current, fragment: state.fragments[state.current] } : null),
  currentClass: () => view.cls,
  slide: () => state.slide,
  slideKey: () => state.id?.key ?? null,
  tissue: () => state.regions,
  selection: selectedRects,
});

const summary = new SummaryPanel({
  model, proposals, regions: () => assist.job?.regions ?? null, slide: () => state.slide, histoseg: () => state.histoseg,
});

/** The selected rectangle annotations, in level-0 pixels (whole pixels, at least one). */
function selectedRects() {
  return [...view.selection].map((id) => model.items.get(id)?.geometry)
    .filter((g) => g?.type === 'rect')
    .map((g) => {
      const x = Math.max(0, Math.floor(g.x));
      const y = Math.max(0, Math.floor(g.y));
      return { x, y, w: Math.max(1, Math.ceil(g.x + g.w) - x), h: Math.max(1, Math.ceil(g.y + g.h) - y) };
    });
}
proposals.onChange(() => view.redraw());

/** The proposal keys (`N` next, `A` accept, `X`/`Delete` reject); true if `key` was one. */
function proposalKey(key) {
  if (key === 'n') {
    const p = proposals.selectNext();
    if (p) {
      view.selection.clear();
      updateCounts();
      showProposal(p);
    }
    return Boolean(p);
  }
  if (!proposals.current()) return false;
  if (key === 'a') return proposals.decide(view.cls);
  if (key === 'x' || key === 'delete' || key === 'backspace') return proposals.decide(null);
  return false;
}

/** Shows proposal `p`: on the fragment holding it when the open one does not. */
async function showProposal(p) {
  const holds = (f) => p.x >= f.x && p.y >= f.y && p.x < f.x + f.w && p.y < f.y + f.h;
  if (!holds(view.fragment ?? { x: 0, y: 0, w: 0, h: 0 })) {
    const i = state.fragments.findIndex((f) => holds(f.fragment));
    if (i >= 0) await openFragment(i, false);
  }
  view.reveal(p.x, p.y);
}

model.onChange((reason) => {
  for (const id of [...view.selection]) if (!model.items.has(id)) view.selection.delete(id);
  view.redraw();
  updateCounts();
  updateGalleryCounts();
  if (reason !== 'reset') autosave();
});

function autosave() {
  const id = state.id;
  if (!id) return;
  $('#save-state').textContent = 'Saving…';
  saver.save({ ...id, annotations: model.plain(), classes: model.classes, updated: Date.now() });
}
saver.onSaved = (r) => {
  state.saves++;
  $('#save-state').textContent = `Saved ${r.annotations.length} annotations`;
  renderSaved();
};
saver.onError = (e) => fail(new Error(`Autosave failed: ${e?.message ?? e}`));

async function renderSaved() {
  try {
    const items = await savedSlides();
    $('#saved-list').replaceChildren(...items.map((s) => {
      const li = document.createElement('li');
      li.textContent = `${s.name} — ${s.count} annotations, ${new Date(s.updated).toLocaleString()}`;
      return li;
    }));
    $('#saved-panel').hidden = items.length === 0;
  } catch (e) {
    fail(e);
  }
}

// ---- keyboard -----------------------------------------------------------------------------

const TOOL_KEYS = { v: 'select', p: 'point', r: 'rect', g: 'polygon' };

function toggleHelp(open = $('#help').hidden) {
  $('#help').hidden = !open;
  $('#help-button').setAttribute('aria-expanded', String(open));
  if (open) $('#help-close').focus();
}
$('#help-button').addEventListener('click', () => toggleHelp());
$('#help-close').addEventListener('click', () => toggleHelp(false));

window.addEventListener('keydown', (e) => {
  const target = /** @type {HTMLElement} */ (e.target);
  if (target.matches('input:not([type=checkbox]):not([type=range]), select, textarea')) return;
  const key = e.key.toLowerCase();
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && key === 'z') { e.preventDefault(); if (e.shiftKey) model.redo(); else model.undo(); return; }
  if (ctrl && key === 'y') { e.preventDefault(); model.redo(); return; }
  if (ctrl || e.altKey) return;
  if (e.key === '?') { toggleHelp(); return; }
  if (e.key === 'Escape') { toggleHelp(false); view.cancel(); proposals.select(null); return; }
  if (key === 'o') { selectTab('overview'); return; }
  if ($('#pane-annotate').hidden) return;
  if (proposalKey(key)) { e.preventDefault(); return; }
  if (TOOL_KEYS[key]) { setTool(TOOL_KEYS[key]); return; }
  if (key === 'h') {
    $('#show-hematoxylin').checked = !$('#show-hematoxylin').checked;
    showHematoxylin();
    return;
  }
  if (/^[0-9]$/.test(key)) {
    const c = model.classes[(Number(key) + 9) % 10];
    if (c) setClass(c.name);
    return;
  }
  const step = 60;
  const actions = {
    delete: () => view.deleteSelection(), backspace: () => view.deleteSelection(),
    enter: () => view.closePolygon(), f: () => view.fit(),
    '+': () => view.zoomBy(1.25), '=': () => view.zoomBy(1.25), '-': () => view.zoomBy(0.8),
    arrowleft: () => view.panBy(step, 0), arrowright: () => view.panBy(-step, 0),
    arrowup: () => view.panBy(0, step), arrowdown: () => view.panBy(0, -step),
    '[': () => openFragment(Math.max(0, state.current - 1)),
    ']': () => openFragment(Math.min(state.fragments.length - 1, state.current + 1)),
    ' ': () => { view.spaceDown = true; },
  };
  const act = actions[key];
  if (act) { e.preventDefault(); act(); }
});
window.addEventListener('keyup', (e) => { if (e.key === ' ') view.spaceDown = false; });

// ---- export and import --------------------------------------------------------------------

function slideMeta() {
  const s = /** @type {Slide} */ (state.slide);
  const l0 = s.info.levels[0];
  return { stem: s.stem, name: s.info.file, width: l0.width, height: l0.height };
}

async function guarded(what, f) {
  if (!state.slide || !state.histoseg) { status('Open a slide first', true); return; }
  try {
    $('#export-state').textContent = `${what}…`;
    $('#export-state').textContent = (await f(state.histoseg)) ?? `${what}: done`;
  } catch (e) {
    $('#export-state').textContent = '';
    fail(e);
  }
}

for (const b of document.querySelectorAll('[data-export]')) {
  b.addEventListener('click', () => guarded(`Export ${b.dataset.export}`, async (h) => {
    const f = await slideFile(h, b.dataset.export, model.plain(), slideMeta());
    download(f.blob, f.name);
    return `Saved ${f.name} (${model.items.size} annotations)`;
  }));
}

const classNames = () => model.classes.map((c) => c.name);

$('#export-makesense').addEventListener('click', () => guarded('Export Makesense', async (h) => {
  const format = $('#makesense-format').value;
  const f = await makesenseFile(h, format, model.plain(), state.fragments, classNames(), slideMeta().stem);
  download(f.blob, f.name);
  const notes = [];
  if (f.skipped) notes.push(`${f.skipped} annotations of other shapes left out`);
  if (f.left) notes.push(`${f.left} lie on no fragment`);
  return `Saved ${f.name}` + (notes.length ? ` (${notes.join('; ')})` : '');
}));

$('#export-fragments').addEventListener('click', () => guarded('Zip fragments', async () => {
  const f = await fragmentsZip(state.fragments, classNames(), slideMeta().stem);
  download(f.blob, f.name);
  return `Saved ${f.name} (${state.fragments.length} fragments)`;
}));

$('#import-makesense').addEventListener('change', (e) => {
  const files = Array.from(e.target.files ?? []);
  e.target.value = '';
  if (!files.length) return;
  guarded('Import Makesense', async (h) => {
    const format = $('#makesense-format').value;
    const out = await importMakesense(h, format, files, state.fragments, classNames(), slideMeta().stem);
    if (out.annotations.length) model.add(out.annotations, 'import');
    const notes = [...out.warnings];
    if (out.others.length) notes.push(`skipped other slides: ${out.others.join(', ')}`);
    return `Imported ${out.annotations.length} annotations${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
});

$('#import-geojson').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  e.target.value = '';
  if (!file) return;
  guarded('Import GeoJSON', async (h) => {
    const list = await h.readAnnotations('geojson', file.name, await file.text());
    model.add(list, 'import');
    return `Imported ${list.length} annotations`;
  });
});

// ---- start --------------------------------------------------------------------------------

updateCounts();
renderSaved();
library.then((h) => {
  state.histoseg = h;
  document.body.dataset.ready = 'true';
}, fail);

/** For the end-to-end tests and the benchmark. */
window.histosegApp = { model, view, overview, state, openFragment, saver, proposals, assist, summary };

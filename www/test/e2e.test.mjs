// End-to-end tests of the annotation page and the OpenSeadragon demo: the repository served on
// 127.0.0.1, a real slide opened through the file input in headless Chromium, annotations
// placed with the mouse and keyboard, restored after a reload, exported and checked in
// level-0 coordinates; a small real model (trained by the native CLI) proposes nuclei that are
// reviewed with the mouse and keyboard. Screenshots of every step go to target/screenshots/
// for a human look.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { launch, serve } from '../../web/test/harness.mjs';
import { trainSmallModel } from '../../web/test/model-fixture.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const data = process.env.HISTOSEG_DATA ?? resolve(root, '../shared/data');
const SVS = join(data, 'slides/cmu-1-small-region.svs');
const shots = join(root, 'target/screenshots');
mkdirSync(shots, { recursive: true });
const cli = process.env.HISTOSEG_CLI
  ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/histoseg/target'), 'debug/histoseg');
const scratch = mkdtempSync(join(tmpdir(), 'histoseg-www-'));

let server;
let browser;
/** @type {import('playwright-core').Page} */
let page;
const errors = [];

const shot = (name, p = page) => p.screenshot({ path: join(shots, `${name}.png`) });

/** Opens the annotation page in a fresh 1280x800 context (own IndexedDB). */
async function openApp(context) {
  const p = await context.newPage();
  p.on('pageerror', (e) => errors.push(e));
  p.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  await p.goto(`${server.url}/www/index.html`);
  await p.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return p;
}

/** Opens the test slide through the file input; waits for the regions and fragments. */
async function openSlide(p = page) {
  await p.setInputFiles('#file', SVS);
  await settled(p);
}

/** Waits until detection and extraction are done (no debounce pending). */
async function settled(p = page) {
  await p.waitForFunction(() => !document.body.dataset.busy
    && /fragments\.$/.test(document.querySelector('#detect-state').textContent), null, { timeout: 60_000 });
}

/** Clicks the canvas at CSS offset (x, y); returns where that is in level-0 slide pixels. */
async function clickView(x, y, options = {}) {
  const box = await page.locator('#view').boundingBox();
  await page.mouse.click(box.x + x, box.y + y, options);
  return page.evaluate(([cx, cy]) => {
    const v = window.histosegApp.view;
    const f = v.fragment;
    return [f.x + ((cx - v.tx) / v.s) * f.downsample, f.y + ((cy - v.ty) / v.s) * f.downsample];
  }, [x, y]);
}

const annotations = () => page.evaluate(() => window.histosegApp.model.plain());
const close = (a, b) => Math.abs(a - b) < 1e-6;

before(async () => {
  server = await serve(root);
  browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await openApp(context);
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('opening the slide shows the overview, the regions and the fragments', async () => {
  await openSlide();
  const got = await page.evaluate(() => {
    const { overview, state } = window.histosegApp;
    return {
      regions: overview.detection.regions.length,
      components: overview.detection.components.length,
      fragments: state.fragments.length,
      gallery: document.querySelectorAll('#gallery button').length,
      name: document.querySelector('#slide-name').textContent,
    };
  });
  assert.ok(got.regions > 0, 'regions found');
  assert.ok(got.components >= got.regions);
  assert.equal(got.gallery, got.fragments);
  assert.ok(got.fragments >= got.regions);
  assert.match(got.name, /cmu-1-small-region\.svs — 2220 × 2967 px/);
  await shot('01-overview');
  for (const stage of ['mask', 'components', 'merged']) await page.check(`#show-${stage}`);
  await shot('02-stages');
  for (const stage of ['mask', 'components', 'merged']) await page.uncheck(`#show-${stage}`);
});

test('threshold and gap re-run the detection live', async () => {
  await page.selectOption('#threshold-mode', 'fixed');
  await page.locator('#threshold').fill('180');
  await settled();
  assert.match(await page.locator('#detect-state').textContent(), /^threshold 180:/);
  const fixed = await page.evaluate(() => window.histosegApp.overview.detection.threshold);
  assert.equal(fixed, 180);
  await page.selectOption('#threshold-mode', 'otsu');
  await page.locator('#gap').fill('200');
  await settled();
  const wide = await page.evaluate(() => window.histosegApp.overview.detection);
  assert.notEqual(wide.threshold, 180);
  await page.locator('#gap').fill('16');
  await settled();
  const narrow = await page.evaluate(() => window.histosegApp.overview.detection);
  assert.ok(narrow.merged.length >= wide.merged.length, 'a wider gap merges more');
});

test('the haematoxylin view (H) shows the haematoxylin alone, then the fragment as scanned again', async () => {
  await page.click('#gallery li:first-child button');
  await page.waitForSelector('#pane-annotate:not([hidden])');
  await page.waitForTimeout(300);
  const before = await annotations();
  /** The view's pixels in a 60 x 60 CSS-pixel square at its centre. */
  const patch = () => page.evaluate(() => {
    const c = document.querySelector('#view');
    return Array.from(c.getContext('2d').getImageData(c.width / 2 - 30, c.height / 2 - 30, 60, 60).data);
  });
  /** Pixels that are clearly pink (red over blue by 20 or more). */
  const pink = (d) => { let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 2] + 20) n++; return n; };
  const scanned = await patch();
  await page.keyboard.press('h');
  await page.waitForSelector('#view[data-picture="hematoxylin"]', { timeout: 30_000 });
  await page.waitForTimeout(100);
  const hematoxylin = await patch();
  assert.notDeepEqual(hematoxylin, scanned);
  assert.ok(pink(scanned) > 100, `${pink(scanned)} pink (eosin) pixels as scanned`);
  assert.equal(pink(hematoxylin), 0, 'the haematoxylin alone has no eosin pink');
  await shot('03b-hematoxylin');
  await page.click('#show-hematoxylin');
  await page.waitForSelector('#view[data-picture="scanned"]', { timeout: 30_000 });
  await page.waitForTimeout(100);
  assert.deepEqual(await patch(), scanned, 'as scanned again');
  assert.deepEqual(await annotations(), before);
});

test('points and a polygon placed on a fragment land in level-0 coordinates', async () => {
  await page.click('#gallery li:first-child button');
  await page.waitForSelector('#pane-annotate:not([hidden])');
  await page.waitForTimeout(200);
  const f = await page.evaluate(() => window.histosegApp.view.fragment);
  await page.keyboard.press('p');
  const points = [];
  for (const [x, y] of [[200, 200], [260, 240], [320, 300]]) points.push(await clickView(x, y));
  await page.keyboard.press('2'); // non-tumour nucleus
  await page.keyboard.press('g');
  const vertices = [];
  for (const [x, y] of [[400, 150], [500, 160], [520, 260], [420, 280]]) vertices.push(await clickView(x, y));
  await page.keyboard.press('Enter');
  const got = await annotations();
  assert.equal(got.length, 4);
  for (const [i, [x, y]] of points.entries()) {
    assert.equal(got[i].class, 'tumour nucleus');
    assert.equal(got[i].geometry.type, 'point');
    assert.ok(close(got[i].geometry.x, x) && close(got[i].geometry.y, y), `point ${i}`);
    assert.ok(x >= f.x && x < f.x + f.w && y >= f.y && y < f.y + f.h, 'inside the fragment');
  }
  assert.deepEqual(got[3], { class: 'non-tumour nucleus', geometry: { type: 'polygon', points: vertices } });
  await shot('03-annotated');

  // Undo, redo, select and delete (then undo the delete).
  await page.keyboard.press('Control+z');
  assert.equal((await annotations()).length, 3);
  await page.keyboard.press('Control+Shift+z');
  assert.equal((await annotations()).length, 4);
  await page.keyboard.press('v');
  await clickView(200, 200);
  await page.keyboard.press('Delete');
  assert.equal((await annotations()).length, 3);
  await page.keyboard.press('Control+z');
  const sorted = (list) => list.map((a) => JSON.stringify(a)).sort();
  assert.deepEqual(sorted(await annotations()), sorted(got));
  const counts = await page.locator('#class-list tr:first-child td.n').allTextContents();
  assert.deepEqual(counts, ['3', '3']);
});

test('after a reload, reopening the slide restores the annotations from IndexedDB', async () => {
  const before = await annotations();
  await page.evaluate(() => window.histosegApp.saver.idle);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await page.locator('#saved-list').textContent(), /cmu-1-small-region\.svs — 4 annotations/);
  await openSlide();
  assert.deepEqual(await annotations(), before);
  await page.click('#gallery li:first-child button');
  await page.waitForTimeout(200);
  await shot('04-restored');
});

/** Clicks an export button; returns the downloaded file's name and bytes. */
async function exported(selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

test('GeoJSON export carries the level-0 coordinates, inside the fragment rectangle', async () => {
  const f = await page.evaluate(() => window.histosegApp.view.fragment);
  const mine = await annotations();
  const { name, bytes } = await exported('[data-export="geojson"]');
  assert.equal(name, 'cmu-1-small-region.geojson');
  const geojson = JSON.parse(bytes.toString('utf8'));
  const features = geojson.features ?? geojson;
  // QuPath keeps the points of a class in one MultiPoint feature.
  assert.equal(features.length, 2);
  const inside = ([x, y]) => x >= f.x && x <= f.x + f.w && y >= f.y && y <= f.y + f.h;
  const multi = features.find((g) => g.geometry.type === 'MultiPoint');
  assert.equal(multi.properties.classification.name, 'tumour nucleus');
  const pts = multi.geometry.coordinates;
  const minePoints = mine.filter((a) => a.geometry.type === 'point').map((a) => a.geometry);
  assert.equal(pts.length, 3);
  for (const [i, p] of pts.entries()) {
    assert.ok(inside(p), `point ${p} inside ${JSON.stringify(f)}`);
    assert.ok(close(p[0], minePoints[i].x) && close(p[1], minePoints[i].y));
  }
  const polygon = features.find((g) => g.geometry.type === 'Polygon');
  assert.equal(polygon.properties.classification.name, 'non-tumour nucleus');
  const poly = polygon.geometry.coordinates[0];
  assert.ok(poly.every(inside));
  const minePolygon = mine.find((a) => a.geometry.type === 'polygon');
  for (const [i, [x, y]] of minePolygon.geometry.points.entries()) {
    assert.ok(close(poly[i][0], x) && close(poly[i][1], y), `vertex ${i}`);
  }
  for (const format of ['coco', 'csv']) {
    const out = await exported(`[data-export="${format}"]`);
    assert.ok(out.bytes.length > 0, format);
  }
});

test('Makesense export of the fragments imports back onto the slide; fragments zip', async () => {
  await page.selectOption('#makesense-format', 'csv-points');
  const ms = await exported('#export-makesense');
  const text = ms.bytes.toString('utf8');
  assert.equal(text.trim().split('\n').length, 3, text);
  assert.match(await page.locator('#export-state').textContent(), /1 annotations of other shapes left out/);
  const zip = await exported('#export-fragments');
  const entries = unzipSync(new Uint8Array(zip.bytes));
  const n = await page.evaluate(() => window.histosegApp.state.fragments.length);
  assert.equal(Object.keys(entries).length, n + 1);
  assert.match(new TextDecoder().decode(entries['labels.txt']), /^tumour nucleus\nnon-tumour nucleus\n/);
  const jpeg = Object.entries(entries).find(([k]) => k.endsWith('.jpg'))[1];
  assert.deepEqual([...jpeg.slice(0, 2)], [0xff, 0xd8]);

  const before = await annotations();
  await page.setInputFiles('#import-makesense', { name: 'annotations.csv', mimeType: 'text/csv', buffer: ms.bytes });
  await page.waitForFunction(() => /^Imported/.test(document.querySelector('#export-state').textContent));
  const after = await annotations();
  assert.equal(after.length, before.length + 3);
  const points = before.filter((a) => a.geometry.type === 'point');
  for (let i = 0; i < 3; i++) {
    const [a, b] = [after[before.length + i].geometry, points[i].geometry];
    assert.ok(Math.abs(a.x - b.x) <= 1 && Math.abs(a.y - b.y) <= 1, `${JSON.stringify(a)} ~ ${JSON.stringify(b)}`);
  }
  await page.keyboard.press('Control+z');
  assert.equal((await annotations()).length, before.length);
});

test('the OpenSeadragon demo shows the same slide, tiles from the wasm reader', async () => {
  await page.evaluate(() => window.histosegApp.saver.idle);
  const osd = await page.context().newPage();
  osd.on('pageerror', (e) => errors.push(e));
  await osd.goto(`${server.url}/www/osd.html`);
  await osd.waitForFunction(() => window.demo);
  await osd.setInputFiles('#file', SVS);
  await osd.waitForFunction(() => /saved annotations/.test(document.querySelector('#state').textContent), null, { timeout: 60_000 });
  await osd.waitForFunction(() => window.demo.viewer.world.getItemAt(0)?.getFullyLoaded(), null, { timeout: 60_000 });
  assert.match(await osd.locator('#state').textContent(), /4 saved annotations/);
  await shot('05-osd', osd);
  // Zoom into the annotated fragment: finer tiles come from the level-0 reader.
  const f = await page.evaluate(() => window.histosegApp.view.fragment);
  await osd.evaluate(({ x, y, w, h }) => {
    const { viewer } = window.demo;
    const item = viewer.world.getItemAt(0);
    viewer.viewport.fitBounds(item.imageToViewportRectangle(x, y, w / 2, h / 2), true);
  }, f);
  await osd.waitForFunction(() => window.demo.viewer.world.getItemAt(0).getFullyLoaded(), null, { timeout: 60_000 });
  const pixel = await osd.evaluate(() => {
    const c = document.querySelector('#viewer canvas');
    const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
    return Array.from(d);
  });
  assert.ok(pixel[3] > 0 && pixel.slice(0, 3).some((v) => v < 250), `tissue drawn: ${pixel}`);
  await shot('06-osd-zoomed', osd);
  await osd.close();
});

// ---- model assistance ---------------------------------------------------------------------

let trained = '';
/** The small real model, trained once by the native CLI (about a minute on the CPU). */
function smallModel() {
  assert.ok(existsSync(join(root, 'web/pkg-inference/histoseg_inference_bg.wasm')),
    'run scripts/build-web.sh first (the inference bundle)');
  assert.ok(existsSync(cli), `native CLI missing at ${cli} (set HISTOSEG_CLI)`);
  trained ||= trainSmallModel(cli, data, scratch);
  return trained;
}

/** The page of the model tests: its own context, so its own IndexedDB. */
/** @type {import('playwright-core').Page} */
let ai;
/** The level-0 rectangle of the fragment the model runs on. */
let rect;

const aiAnnotations = () => ai.evaluate(() => window.histosegApp.model.plain());

/** The proposals' counts, the open ones and the selected one. */
const proposalState = () => ai.evaluate(() => {
  const p = window.histosegApp.proposals;
  const open = p.open().map(({ id, x, y, outline }) => ({ id, x, y, outline }));
  return { counts: p.counts(), open, selected: p.current()?.id ?? null };
});

/** Waits until `selector`'s text matches `re`; returns the text. */
async function textMatching(selector, re, timeout = 120_000) {
  await ai.waitForFunction(([sel, src]) => new RegExp(src).test(document.querySelector(sel).textContent),
    [selector, re.source], { timeout });
  return ai.locator(selector).textContent();
}

/**
 * Draws a rectangle with the rectangle tool over level-0 `region` of the open fragment; it is
 * selected once drawn. The region spans two of the model's windows (1024 px cells).
 */
async function drawRegion(region) {
  // Keys go to the view, not to a select chosen before; the whole fragment in sight.
  await ai.locator('#view').focus();
  await ai.keyboard.press('f');
  await ai.keyboard.press('r');
  const box = await ai.locator('#view').boundingBox();
  const [x0, y0] = await cssOf(region);
  const [x1, y1] = await cssOf({ x: region.x + region.w, y: region.y + region.h });
  await ai.mouse.move(box.x + x0, box.y + y0);
  await ai.mouse.down();
  await ai.mouse.move(box.x + (x0 + x1) / 2, box.y + (y0 + y1) / 2, { steps: 4 });
  await ai.mouse.move(box.x + x1, box.y + y1, { steps: 4 });
  await ai.mouse.up();
  await ai.keyboard.press('v');
}

/** A wide strip inside the fragment, `dy` below its top: two windows, the second half the first. */
const stripOf = (f, dy = 300) => ({ x: f.x + 60, y: f.y + dy, w: 1536, h: 160 });

/** The level-0 pixels the last drawn rectangle covers, as the page rounds them. */
const drawnRect = () => ai.evaluate(() => {
  const g = window.histosegApp.model.plain().at(-1).geometry;
  return { x: Math.floor(g.x), y: Math.floor(g.y), w: Math.ceil(g.x + g.w) - Math.floor(g.x), h: Math.ceil(g.y + g.h) - Math.floor(g.y) };
});

/** Chooses a backend; with a model file chosen, that reloads it. */
const chooseBackend = (backend) => ai.selectOption('#model-backend', backend);

/** CSS position in the view of a level-0 point. */
const cssOf = ({ x, y }) => ai.evaluate(([px, py]) => {
  const v = window.histosegApp.view;
  const f = v.fragment;
  return [v.tx + ((px - f.x) / f.downsample) * v.s, v.ty + ((py - f.y) / f.downsample) * v.s];
}, [x, y]);

test('model panel: a bad file and WebGPU without an adapter say so and keep the annotations; auto falls back to the CPU', async () => {
  const model = smallModel();
  ai = await openApp(await browser.newContext({ viewport: { width: 1280, height: 800 } }));
  await openSlide(ai);
  assert.equal(await ai.locator('#downsample').inputValue(), '1', 'fragments at full resolution');
  // The largest fragment: the most tissue to find nuclei in.
  const index = await ai.evaluate(() => {
    const areas = window.histosegApp.state.fragments.map((f) => f.width * f.height);
    return areas.indexOf(Math.max(...areas));
  });
  await ai.click(`#gallery li:nth-child(${index + 1}) button`);
  await ai.waitForSelector('#pane-annotate:not([hidden])');
  rect = await ai.evaluate(() => window.histosegApp.view.fragment);
  // A point by hand: nothing below may lose it.
  await ai.keyboard.press('p');
  const box = await ai.locator('#view').boundingBox();
  await ai.mouse.click(box.x + 120, box.y + 120);
  await ai.keyboard.press('v');
  const mine = await aiAnnotations();
  assert.equal(mine.length, 1);
  // No model loaded yet: "Propose nuclei" is ready all the same, with the default model.
  assert.equal(await ai.locator('#model-run').isDisabled(), false, 'the default model needs no loading by hand');
  assert.match(await ai.locator('#run-note').textContent(), /runs the default model/);

  await ai.setInputFiles('#model-file', { name: 'bad.hsm', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model at all') });
  const bad = await textMatching('#model-note', /Could not load bad\.hsm/);
  assert.match(bad, /HSM1/, 'says what a model file should be');
  assert.ok(await ai.locator('#model-note.error').isVisible());
  assert.equal(await ai.locator('#model-info').textContent(), '', 'no model is loaded');
  await shot('07-model-bad-file', ai);

  // This browser runs with --disable-gpu: navigator.gpu gives no adapter.
  await chooseBackend('webgpu');
  await ai.setInputFiles('#model-file', model);
  const refused = await textMatching('#model-note', /Could not load model\.hsm/);
  assert.match(refused, /WebGPU is not available.*Choose “auto” or “CPU”/);
  assert.equal(await ai.locator('#model-info').textContent(), '', 'no model is loaded');
  await shot('08-model-webgpu-unavailable', ai);

  await chooseBackend('auto');
  const info = await textMatching('#model-info', /Backend: /);
  assert.match(info, /^model\.hsm: unet, \d+ px tiles, threshold [\d.]+\. Backend: cpu: .+\. WebGPU was not used \(.+\); running on the CPU\.$/);
  await textMatching('#model-note', /^Ready: model\.hsm is loaded\.$/);
  assert.match(await ai.locator('#run-note').textContent(), /runs model\.hsm \(cpu: /);
  assert.equal(await ai.locator('#model-run').isDisabled(), false);
  assert.deepEqual(await aiAnnotations(), mine);
  await shot('09-model-auto-fallback', ai);
});

test('"Propose nuclei" on the CPU over a drawn rectangle: dashed outlines in level-0 coordinates inside it', async () => {
  await chooseBackend('cpu');
  const info = await textMatching('#model-info', /Backend: cpu: /);
  assert.doesNotMatch(info, /WebGPU was not used/);
  await textMatching('#model-note', /^Ready/);
  assert.equal(await ai.locator('#model-run').isDisabled(), false);
  assert.ok(rect.w >= 1600 && rect.h >= 500, `the fragment ${JSON.stringify(rect)} holds the strip`);
  await drawRegion(stripOf(rect));
  const strip = await drawnRect();
  await ai.selectOption('#model-scope', 'selection');
  const t0 = Date.now();
  await ai.click('#model-run');
  assert.equal(await ai.locator('#model-run').isDisabled(), true, 'one run at a time');
  await textMatching('#model-progress-text', /windows/);
  await shot('10-model-running', ai);
  const done = await textMatching('#run-note', /nuclei proposed|failed/, 300_000);
  const { counts, open } = await proposalState();
  console.log(`# ${done} (${Date.now() - t0} ms in the test)`);
  assert.match(done, new RegExp(`^${counts.proposed} nuclei proposed on the selection \\(1 rectangle\\) in [\\d.]+ s \\(cpu: .+\\)\\.$`));
  assert.ok(counts.proposed > 0, 'the model proposes nuclei in the rectangle');
  assert.equal(open.length, counts.proposed);
  for (const p of open) {
    assert.ok(p.x >= strip.x && p.x <= strip.x + strip.w && p.y >= strip.y && p.y <= strip.y + strip.h,
      `proposal (${p.x}, ${p.y}) inside ${JSON.stringify(strip)}`);
    assert.ok(p.outline.length >= 3, 'an outline');
  }
  assert.equal(await ai.locator('#proposal-counts').textContent(),
    `${counts.proposed} proposed · ${counts.proposed} left · 0 accepted · 0 rejected`);
  assert.equal((await aiAnnotations()).length, 2, 'the point and the rectangle: proposals are not annotations');
  // The rings are drawn: cyan pixels around the first proposal.
  const [cx, cy] = await cssOf(open[0]);
  await ai.waitForTimeout(100);
  const cyan = await ai.evaluate(([x, y]) => {
    const c = document.querySelector('#view');
    const r = window.devicePixelRatio || 1;
    const d = c.getContext('2d').getImageData(Math.round((x - 12) * r), Math.round((y - 12) * r), 24 * r, 24 * r).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 90 && d[i + 1] > 190 && d[i + 2] > 200) n++;
    return n;
  }, [cx, cy]);
  assert.ok(cyan > 5, `${cyan} outline pixels around the first proposal`);
  await shot('11-proposals', ai);
});

test('a clicked proposal is accepted with A, the next rejected with X, another with Delete', async () => {
  const start = await proposalState();
  assert.ok(start.counts.proposed >= 3, `${start.counts.proposed} proposals: too few to review one by one`);
  const target = start.open[0];
  // Zoom in around it (its screen position stays), then click it with the select tool.
  const [cx, cy] = await cssOf(target);
  await ai.evaluate(([x, y]) => window.histosegApp.view.zoomBy(4, x, y), [cx, cy]);
  const box = await ai.locator('#view').boundingBox();
  await ai.mouse.click(box.x + cx, box.y + cy);
  assert.equal((await proposalState()).selected, target.id);
  await shot('12-proposal-selected', ai);

  const before = await aiAnnotations();
  const cls = await ai.evaluate(() => window.histosegApp.view.cls);
  await ai.keyboard.press('a');
  const accepted = await aiAnnotations();
  assert.equal(accepted.length, before.length + 1);
  assert.deepEqual(accepted.at(-1), { class: cls, geometry: { type: 'polygon', points: target.outline } });
  let now = await proposalState();
  assert.deepEqual(now.counts, { proposed: start.counts.proposed, open: start.counts.proposed - 1, accepted: 1, rejected: 0, hidden: 0 });
  assert.ok(now.selected !== null && now.selected !== target.id, 'the nearest open proposal is selected next');

  await ai.keyboard.press('x');
  now = await proposalState();
  assert.deepEqual(now.counts, { proposed: start.counts.proposed, open: start.counts.proposed - 2, accepted: 1, rejected: 1, hidden: 0 });
  assert.equal((await aiAnnotations()).length, accepted.length);
  if (now.counts.open > 1) {
    await ai.keyboard.press('n');
    assert.notEqual((await proposalState()).selected, null);
    await ai.keyboard.press('Delete');
    now = await proposalState();
    assert.equal(now.counts.rejected, 2);
    assert.deepEqual(await aiAnnotations(), accepted, 'Delete rejected the proposal, deleted no annotation');
  }
  assert.equal(await ai.locator('#proposal-counts').textContent(),
    `${now.counts.proposed} proposed · ${now.counts.open} left · 1 accepted · ${now.counts.rejected} rejected`);
  await shot('13-proposals-reviewed', ai);
});

test('a cancelled run asks before replacing the proposals, then drops its own; annotations stay', async () => {
  const annotationsBefore = await aiAnnotations();
  const { counts } = await proposalState();
  await ai.selectOption('#model-scope', 'fragment');
  // Declined: nothing starts, nothing changes.
  ai.once('dialog', (d) => d.dismiss());
  await ai.click('#model-run');
  await ai.waitForTimeout(300);
  assert.equal(await ai.locator('#model-progress-row').isHidden(), true, 'declined: no run');
  assert.deepEqual((await proposalState()).counts, counts);
  let asked = '';
  ai.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await ai.click('#model-run');
  assert.equal(asked, `Replace the ${counts.proposed} proposals of the last run? Accepted ones stay annotations.`);
  assert.match(await ai.locator('#run-note').textContent(), /^Running on fragment \d+ \(cpu: .+\)…$/);
  await textMatching('#model-tiles', /tiles/);
  await ai.click('#model-cancel');
  const said = await textMatching('#run-note', /Cancelled|nuclei proposed|failed/, 60_000);
  assert.match(said, /^Cancelled: the run was stopped and its proposals dropped; annotations are unchanged\.$/);
  assert.equal((await proposalState()).counts.proposed, 0);
  assert.deepEqual(await aiAnnotations(), annotationsBefore);
  assert.equal(await ai.locator('#model-run').isDisabled(), false, 'can run again');
  assert.equal(await ai.locator('#model-resume').isHidden(), true, 'a cancelled run is not resumed');
  assert.equal(await ai.locator('#model-progress-row').isHidden(), true);
  await shot('14-model-cancelled', ai);
});

test('a paused run resumes after a reload without redoing its finished window', async () => {
  // Below the first strip: a press on a rectangle would move it instead of drawing.
  await drawRegion(stripOf(rect, 700));
  await ai.selectOption('#model-scope', 'selection');
  await ai.click('#model-run');
  await textMatching('#model-progress-text', /^1 \/ 2 windows/, 300_000);
  await ai.click('#model-pause');
  const paused = await textMatching('#run-note', /Paused|nuclei proposed|failed/, 120_000);
  assert.match(paused, /^Paused after 1 of 2 windows: “Resume” continues, also after a reload\.$/);
  const first = (await proposalState()).open;
  assert.ok(first.length > 0, 'the first window proposed nuclei');
  const annotationsBefore = await aiAnnotations();
  await ai.evaluate(() => Promise.all([window.histosegApp.saver.idle, window.histosegApp.assist.saver.idle]));

  await ai.reload();
  await ai.waitForSelector('body[data-ready="true"]');
  await openSlide(ai);
  assert.match(await ai.locator('#run-note').textContent(), /^A run on the selection \(1 rectangle\) stopped after 1 of 2 windows: “Resume” continues it\.$/);
  assert.deepEqual((await proposalState()).open, first, 'the proposals came back');
  assert.deepEqual(await aiAnnotations(), annotationsBefore);
  // The run was made with model.hsm: the default model may not finish it.
  await ai.click('#gallery li:first-child button');
  await ai.waitForSelector('#pane-annotate:not([hidden])');
  await ai.click('#model-resume');
  await textMatching('#run-note', /^This run was made with model\.hsm; load it to resume/);
  await ai.setInputFiles('#model-file', smallModel());
  await textMatching('#model-note', /^Ready: model\.hsm is loaded\.$/);
  assert.equal(await ai.locator('#model-resume').textContent(), 'Resume (1 / 2 windows)');
  await ai.click('#model-resume');
  const done = await textMatching('#run-note', /nuclei proposed|failed/, 300_000);
  const now = (await proposalState()).open;
  assert.match(done, new RegExp(`^${now.length} nuclei proposed on the selection \\(1 rectangle\\) in [\\d.]+ s`));
  assert.deepEqual(now.slice(0, first.length), first, 'the first window was not run again');
  assert.ok(now.length > first.length, 'the second window added its nuclei');
  assert.equal(await ai.locator('#model-resume').isHidden(), true);
  // Back on the model's fragment for the next test.
  const index = await ai.evaluate((r) => window.histosegApp.state.fragments.findIndex((f) => f.fragment.x === r.x && f.fragment.y === r.y), rect);
  await ai.click(`#gallery li:nth-child(${index + 1}) button`);
  await ai.waitForSelector('#pane-annotate:not([hidden])');
});

test('"Accept all" is one undo step; redo; after a reload the accepted outlines and the decisions come back', async () => {
  const before = await aiAnnotations();
  const { counts, open } = await proposalState();
  assert.ok(counts.open > 0);
  // The review filter: proposals under the smallest area are left out, and counted.
  await ai.fill('#proposals-min-area', '100000');
  assert.match(await ai.locator('#proposal-counts').textContent(), new RegExp(`· ${counts.open} left \\(${counts.open} under the smallest area\\) ·`));
  assert.equal(await ai.locator('#proposals-accept-all').isDisabled(), true);
  assert.equal(await ai.evaluate(() => window.histosegApp.proposals.selectNext()), null);
  await ai.fill('#proposals-min-area', '0');
  assert.equal(await ai.locator('#proposals-accept-all').isDisabled(), false);
  const cls = await ai.evaluate(() => window.histosegApp.view.cls);
  await ai.click('#proposals-accept-all');
  const all = await aiAnnotations();
  assert.equal(all.length, before.length + counts.open);
  assert.deepEqual(all.slice(before.length), open.map(({ outline }) => ({ class: cls, geometry: { type: 'polygon', points: outline } })));
  assert.equal((await proposalState()).counts.open, 0);
  assert.equal(await ai.locator('#proposals-accept-all').isDisabled(), true);
  await shot('15-accepted-all', ai);

  await ai.keyboard.press('Control+z');
  assert.deepEqual(await aiAnnotations(), before, 'one undo reverts the whole "accept all"');
  assert.equal((await proposalState()).counts.open, counts.open, 'the proposals are open again');
  await shot('16-accept-all-undone', ai);
  await ai.keyboard.press('Control+Shift+z');
  assert.deepEqual(await aiAnnotations(), all);

  await ai.evaluate(() => Promise.all([window.histosegApp.saver.idle, window.histosegApp.assist.saver.idle]));
  await ai.reload();
  await ai.waitForSelector('body[data-ready="true"]');
  await openSlide(ai);
  assert.deepEqual(await aiAnnotations(), all);
  assert.equal(await ai.locator('#proposal-counts').textContent(),
    `${counts.proposed} proposed · 0 left · ${counts.proposed} accepted · 0 rejected`, 'the decisions came back');
  const index = await ai.evaluate((name) => window.histosegApp.state.fragments.findIndex((f) => f.fragment.x === name.x && f.fragment.y === name.y), rect);
  await ai.click(`#gallery li:nth-child(${index + 1}) button`);
  await ai.waitForTimeout(200);
  await shot('17-accepted-restored', ai);
  await ai.context().close();
});

test('with WebGPU (SwiftShader), auto runs the model there and says so', async () => {
  const gpu = await launch({ webgpu: true });
  try {
    ai = await openApp(await gpu.newContext({ viewport: { width: 1280, height: 800 } }));
    await openSlide(ai);
    // The smallest fragment: SwiftShader is a GPU in software, slow on big images.
    const index = await ai.evaluate(() => {
      const areas = window.histosegApp.state.fragments.map((f) => f.width * f.height);
      return areas.indexOf(Math.min(...areas));
    });
    await ai.click(`#gallery li:nth-child(${index + 1}) button`);
    await ai.waitForSelector('#pane-annotate:not([hidden])');
    const small = await ai.evaluate(() => window.histosegApp.view.fragment);
    // No model chosen: the first run loads the shipped default model, here on WebGPU.
    await ai.click('#model-run');
    const info = await textMatching('#model-info', /Backend: /);
    assert.match(info, /^nuclei-default\.hsm: unet, .*Backend: wgpu: .+\.$/);
    assert.doesNotMatch(info, /WebGPU was not used/);
    const done = await textMatching('#run-note', /nuclei proposed|failed/, 300_000);
    console.log(`# WebGPU: ${done}`);
    assert.match(done, /^\d+ nuclei proposed on fragment \d+ in [\d.]+ s \(wgpu: .+\)\.$/);
    const { open } = await proposalState();
    for (const p of open) {
      assert.ok(p.x >= small.x && p.x <= small.x + small.w && p.y >= small.y && p.y <= small.y + small.h,
        `proposal (${p.x}, ${p.y}) inside ${JSON.stringify(small)}`);
    }
    await shot('18-model-webgpu', ai);
  } finally {
    await gpu.close();
  }
});

test('the default model: "Propose nuclei" with no model loaded fetches it from the page\'s origin and runs it on the CPU', async () => {
  ai = await openApp(await browser.newContext({ viewport: { width: 1280, height: 800 } }));
  const fetched = [];
  ai.on('request', (r) => { if (r.url().endsWith('.hsm')) fetched.push(r.url()); });
  await openSlide(ai);
  const index = await ai.evaluate(() => {
    const areas = window.histosegApp.state.fragments.map((f) => f.width * f.height);
    return areas.indexOf(Math.max(...areas));
  });
  await ai.click(`#gallery li:nth-child(${index + 1}) button`);
  await ai.waitForSelector('#pane-annotate:not([hidden])');
  const frag = await ai.evaluate(() => window.histosegApp.view.fragment);
  assert.deepEqual(fetched, [], 'nothing is fetched before proposals are asked for');
  await chooseBackend('cpu');
  // A cellular 512 x 512 region of the dermis, read at level 0 and twice its size.
  const region = { x: 800, y: 1600, w: 512, h: 512 };
  assert.ok(region.x >= frag.x && region.y >= frag.y && region.x + region.w <= frag.x + frag.w
    && region.y + region.h <= frag.y + frag.h, `${JSON.stringify(frag)} holds the region`);
  await drawRegion(region);
  Object.assign(region, await drawnRect());
  await ai.selectOption('#model-scope', 'selection');
  await ai.click('#model-run');
  const done = await textMatching('#run-note', /nuclei proposed|failed|Could not/, 300_000);
  console.log(`# default model: ${done}`);
  assert.match(done, /^\d+ nuclei proposed on the selection \(1 rectangle\) in [\d.]+ s \(cpu: .+\)\.$/);
  assert.deepEqual(fetched, [`${server.url}/models/nuclei-default.hsm`]);
  assert.match(await ai.locator('#model-info').textContent(), /^nuclei-default\.hsm: unet, /);
  const { counts, open } = await proposalState();
  // The shipped model finds the many nuclei of the region, not a handful.
  assert.ok(counts.proposed >= 100, `${counts.proposed} proposals`);
  for (const p of open) {
    assert.ok(p.x >= region.x && p.x <= region.x + region.w && p.y >= region.y && p.y <= region.y + region.h);
  }
  await shot('19-default-model', ai);

  // The measurements of the run's region: the open proposals and their density per mm² of
  // tissue, the tissue measured as the native CLI measures it (its summary.csv, same region).
  await ai.waitForFunction((n) => document.querySelector('#summary-rows').textContent.includes(String(n)), counts.proposed);
  const cells = await ai.locator('#summary-rows td').allTextContents();
  assert.deepEqual(cells.slice(0, 2), ['Proposed (not reviewed)', String(counts.proposed)]);
  const note = await ai.locator('#summary-note').textContent();
  const [, mm2] = note.match(/^Tissue: ([\d.]+) mm² in 1 region\(s\)\. Proposed nuclei \(not rejected\): mean area [\d.]+ µm², circularity 0\.\d\d, haematoxylin OD [\d.]+\.$/) ?? [];
  assert.ok(Number(mm2) > 0, note);
  assert.ok(Math.abs(Number(cells[2]) - counts.proposed / Number(mm2)) <= 0.05 * Number(cells[2]) + 1, `density ${cells[2]}`);
  const [dl] = await Promise.all([ai.waitForEvent('download'), ai.click('#summary-csv')]);
  assert.equal(dl.suggestedFilename(), 'cmu-1-small-region.summary.csv');
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
  const out = join(scratch, 'summary');
  execFileSync(cli, ['predict', '--device', 'cpu', '--quiet', '--region', `${region.x},${region.y},${region.w},${region.h}`, SVS, '-o', out]);
  const native = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(csv[0], native[0], 'the CLI\'s columns');
  assert.deepEqual(csv[1].slice(0, 3), ['cmu-1-small-region.svs', 'Proposed (not reviewed)', String(counts.proposed)]);
  assert.deepEqual(csv.at(-1).slice(1, 5), ['All', String(counts.proposed), native.at(-1)[3], 'mm^2'],
    'the same tissue area as the native CLI');

  // With a rectangle selected, "Accept all" decides only inside it.
  const half = { x: region.x, y: region.y, w: Math.round(region.w / 2), h: region.h };
  await drawRegion(half);
  const drawn = await drawnRect();
  assert.equal(await ai.locator('#proposals-accept-all').textContent(), 'Accept all in selection');
  const inside = open.filter((p) => p.x >= drawn.x && p.y >= drawn.y && p.x < drawn.x + drawn.w && p.y < drawn.y + drawn.h);
  assert.ok(inside.length > 0 && inside.length < open.length, `${inside.length} of ${open.length} inside`);
  await ai.click('#proposals-accept-all');
  const decided = await proposalState();
  assert.equal(decided.counts.accepted, inside.length);
  assert.equal(decided.counts.open, open.length - inside.length);
  await ai.context().close();
});

test('no page errors', () => {
  assert.deepEqual(errors.map(String), []);
});

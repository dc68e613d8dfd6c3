// End-to-end tests of the annotation page and the OpenSeadragon demo: the repository served on
// 127.0.0.1, a real slide opened through the file input in headless Chromium, annotations
// placed with the mouse and keyboard, restored after a reload, exported and checked in
// level-0 coordinates. Screenshots of every step go to target/screenshots/ for a human look.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { launch, serve } from '../../web/test/harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const data = process.env.HISTOSEG_DATA ?? resolve(root, '../shared/data');
const SVS = join(data, 'slides/cmu-1-small-region.svs');
const shots = join(root, 'target/screenshots');
mkdirSync(shots, { recursive: true });

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

test('no page errors', () => {
  assert.deepEqual(errors.map(String), []);
});

// Browser tests of the inference bundle: the shipped default model (models/nuclei-default.hsm),
// loaded in headless Chromium from a file input and run on WebGPU (Chromium's software adapter,
// SwiftShader) and on burn's CPU backend. Both must give the probabilities of the native CLI
// (run without --model, so on the model built into it) within 1e-3 and the same nuclei, in
// level-0 coordinates.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage, serve } from './harness.mjs';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = process.env.HISTOSEG_DATA ?? resolve(web, '../../shared/data');
const cli = process.env.HISTOSEG_CLI
  ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/histoseg/target'), 'debug/histoseg');
// A TNBC image under a fragment name: the nuclei must land in this level-0 rectangle.
const FRAGMENT = 'slide [d=2,x=1000,y=3000,w=1024,h=1024].png';
const RECT = { x: 1000, y: 3000, w: 1024, h: 1024 };

const scratch = mkdtempSync(join(tmpdir(), 'histoseg-inference-'));
const model = resolve(web, '../models/nuclei-default.hsm');
const image = join(scratch, FRAGMENT);
let native;
let server;
let gpuBrowser;
let gpuPage;
const errors = [];

const run = (...args) => execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A float32 .npy map as written by `histoseg predict --probabilities`. */
function readNpy(path) {
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 6).toString('latin1'), '\x93NUMPY');
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const [, h, w] = header.match(/'shape': \((\d+), (\d+)\)/);
  const body = bytes.subarray(10 + headerLength);
  const values = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  return { width: Number(w), height: Number(h), values };
}

/** The points of a GeoJSON written by the CLI (one MultiPoint per class, or Points). */
function geojsonPoints(path) {
  const points = [];
  for (const f of JSON.parse(readFileSync(path, 'utf8')).features) {
    if (f.geometry.type === 'Point') points.push(f.geometry.coordinates);
    else points.push(...f.geometry.coordinates);
  }
  return points;
}

before(async () => {
  assert.ok(existsSync(join(web, 'pkg-inference/histoseg_inference_bg.wasm')),
    'run scripts/build-web.sh first (the inference bundle)');
  assert.ok(existsSync(cli), `native CLI missing at ${cli}`);
  copyFileSync(join(data, 'tnbc/Slide_07/07_1.png'), image);
  const out = join(scratch, 'native');
  run('predict', '--device', 'cpu', '--quiet', '--probabilities', image, '-o', out);
  const stem = FRAGMENT.replace(/\.png$/, '');
  native = {
    probabilities: readNpy(join(out, `${stem}.probabilities.npy`)),
    points: geojsonPoints(join(out, `${stem}.nuclei.geojson`)),
  };
  server = await serve(web);
  gpuBrowser = await launch({ webgpu: true });
  gpuPage = await openPage(gpuBrowser, server.url, errors);
  await gpuPage.setInputFiles('#model', model);
  await gpuPage.setInputFiles('#image', image);
});

after(async () => {
  await gpuBrowser?.close();
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Loads the model on `backend` in `page` and predicts on the fragment image. */
function predictIn(page, backend) {
  return page.evaluate(async (backend) => {
    const [modelFile] = document.querySelector('#model').files;
    const [imageFile] = document.querySelector('#image').files;
    const model = await window.Model.load(modelFile, { backend });
    const progress = [];
    const p = await model.predict(imageFile, {
      fragment: imageFile.name,
      onProgress: (done, total) => progress.push([done, total]),
    });
    model.dispose();
    return {
      info: model.info,
      progress,
      width: p.width,
      height: p.height,
      probabilities: Array.from(p.probabilities),
      mask: Array.from(p.mask),
      nuclei: p.nuclei,
      backend: p.backend,
    };
  }, backend);
}

/** The browser's prediction against the native CLI's. */
function assertLikeNative(got) {
  const { width, height, values } = native.probabilities;
  assert.deepEqual([got.width, got.height], [width, height]);
  assert.equal(got.probabilities.length, values.length);
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(got.probabilities[i] - values[i]));
  assert.ok(worst < 1e-3, `probabilities differ from the native CLI by up to ${worst}`);
  // The mask is the model's threshold applied to the map: equal wherever the map is not
  // within the tolerance of the threshold.
  const threshold = got.info.spec.threshold;
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i] - threshold) > 1e-3) assert.equal(got.mask[i] === 255, values[i] >= threshold, `pixel ${i}`);
  }
  // Progress ends with every tile done.
  const [done, total] = got.progress.at(-1);
  assert.ok(total > 1 && done === total, `progress ${JSON.stringify(got.progress)}`);
  // Same nuclei as the CLI, in level-0 coordinates inside the fragment.
  assert.ok(native.points.length > 20, `the shipped model finds ${native.points.length} nuclei`);
  assert.ok(Math.abs(got.nuclei.length - native.points.length) <= 2,
    `${got.nuclei.length} nuclei in the browser, ${native.points.length} natively`);
  for (const n of got.nuclei) {
    assert.ok(n.slideX >= RECT.x && n.slideX <= RECT.x + RECT.w, `slideX ${n.slideX}`);
    assert.ok(n.slideY >= RECT.y && n.slideY <= RECT.y + RECT.h, `slideY ${n.slideY}`);
    assert.equal(n.slideX, RECT.x + n.x * 2);
  }
  let matched = 0;
  for (const [x, y] of native.points) {
    if (got.nuclei.some((n) => Math.hypot(n.slideX - x, n.slideY - y) <= 2)) matched++;
  }
  assert.ok(matched >= native.points.length - 2, `${matched} of ${native.points.length} native nuclei found`);
}

test('WebGPU (SwiftShader): the native CLI\'s probabilities within 1e-3, same nuclei', async () => {
  const got = await predictIn(gpuPage, 'webgpu');
  assert.match(got.info.backend, /^wgpu: /);
  assert.equal(got.info.fallbackReason, undefined);
  assert.equal(got.info.model, 'unet');
  assert.equal(got.backend, got.info.backend);
  assertLikeNative(got);
  assert.deepEqual(errors, []);
});

test('CPU backend: the native CLI\'s probabilities within 1e-3, same nuclei', async () => {
  const got = await predictIn(gpuPage, 'cpu');
  assert.match(got.info.backend, /^cpu: /);
  assertLikeNative(got);
});

/** The mean vertex of an outline `[[x, y], ...]`. */
const middle = (outline) => outline.reduce(([sx, sy], [x, y]) => [sx + x / outline.length, sy + y / outline.length], [0, 0]);

test('a slide region window by window: the native CLI\'s outlines; a resumed run keeps the same nuclei', async () => {
  // Two windows (1024 px cells) on CMU-1 (0.499 µm a pixel: read at twice the size).
  const region = { x: 700, y: 1300, w: 1100, h: 160 };
  const out = join(scratch, 'slide');
  const svs = join(data, 'slides/cmu-1-small-region.svs');
  run('predict', '--device', 'cpu', '--quiet', '--region', `${region.x},${region.y},${region.w},${region.h}`, svs, '-o', out);
  const nativeOutlines = JSON.parse(readFileSync(join(out, 'cmu-1-small-region.nuclei.geojson'), 'utf8')).features
    .filter((f) => f.properties.objectType === 'detection')
    .map((f) => f.geometry.coordinates[0].slice(0, -1));
  await gpuPage.setInputFiles('#file', svs);
  const got = await gpuPage.evaluate(async (region) => {
    const [modelFile] = document.querySelector('#model').files;
    const [slideFile] = document.querySelector('#file').files;
    const model = await window.Model.load(modelFile, { backend: 'cpu' });
    const slide = await window.histoseg.openSlide(slideFile);
    const windows = [];
    const byWindow = {};
    const t1 = performance.now();
    const full = await model.predictSlide(slide, [region], {
      onWindow: (index, nuclei, done, total) => { windows.push([index, done, total]); byWindow[index] = nuclei; },
    });
    const oneMs = performance.now() - t1;
    const aborted = await model.predictSlide(slide, [region], { signal: AbortSignal.abort() })
      .then(() => 'finished', (e) => e.name);
    // Stopped after the first window, and resumed by a new run told of what it kept.
    const [first] = windows[0];
    const resumed = {};
    const again = await model.predictSlide(slide, [region], {
      skip: [first],
      known: byWindow[first].map(({ centroid, area }) => ({ centroid, area })),
      onWindow: async (index, nuclei) => { resumed[index] = nuclei; },
    });
    model.dispose();
    // The same run with the windows predicted in two workers at once.
    const two = await window.Model.load(modelFile, { backend: 'cpu', workers: 2 });
    const inTwo = {};
    const t0 = performance.now();
    await two.predictSlide(slide, [region], { onWindow: (index, nuclei) => { inTwo[index] = nuclei; } });
    const twoMs = performance.now() - t0;
    const workers = two.clients.length;
    two.dispose();
    await slide.close();
    return { full, windows, byWindow, aborted, resumed, again, inTwo, workers, twoMs, oneMs };
  }, region);
  assert.equal(got.workers, 2);
  assert.deepEqual(got.inTwo, got.byWindow, 'two workers keep the same nuclei as one');
  console.log(`# one worker: ${got.oneMs.toFixed(0)} ms, two workers: ${got.twoMs.toFixed(0)} ms`);
  assert.deepEqual(got.windows, [[0, 1, 2], [1, 2, 2]]);
  const nuclei = Object.values(got.byWindow).flat();
  assert.equal(got.full.nuclei, nuclei.length);
  assert.ok(nativeOutlines.length > 20, `${nativeOutlines.length} nuclei natively`);
  assert.ok(Math.abs(nuclei.length - nativeOutlines.length) <= 2,
    `${nuclei.length} nuclei in the browser, ${nativeOutlines.length} natively`);
  let matched = 0;
  for (const outline of nativeOutlines) {
    const [x, y] = middle(outline);
    if (nuclei.some((n) => Math.hypot(middle(n.outline)[0] - x, middle(n.outline)[1] - y) <= 1)) matched++;
  }
  assert.ok(matched >= nativeOutlines.length - 2, `${matched} of ${nativeOutlines.length} native outlines found`);
  for (const n of nuclei) {
    const [x, y] = n.centroid;
    assert.ok(x >= region.x && x < region.x + region.w && y >= region.y && y < region.y + region.h, `(${x}, ${y})`);
    assert.ok(n.outline.length >= 3 && n.area > 0 && n.circularity > 0 && n.circularity <= 1, JSON.stringify(n));
  }
  assert.equal(got.aborted, 'AbortError');
  assert.deepEqual(got.again, { windows: 1, nuclei: got.byWindow[1].length });
  assert.deepEqual(got.resumed, { 1: got.byWindow[1] }, 'the resumed window keeps what it kept in one run');
});

test('a run can be cancelled, the main thread keeps running, the model still works', async () => {
  const got = await gpuPage.evaluate(async () => {
    const [modelFile] = document.querySelector('#model').files;
    const [imageFile] = document.querySelector('#image').files;
    const model = await window.Model.load(modelFile, { backend: 'cpu' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const controller = new AbortController();
    const progress = [];
    let error;
    try {
      await model.predict(imageFile, {
        signal: controller.signal,
        onProgress: (done, total) => { progress.push([done, total]); controller.abort(); },
      });
    } catch (e) {
      error = { name: e.name, message: e.message };
    }
    const ticksDuringRun = ticks;
    const again = await model.predict(imageFile);
    clearInterval(timer);
    model.dispose();
    return { error, progress, ticksDuringRun, nuclei: again.nuclei.length, total: progress[0]?.[1] };
  });
  assert.equal(got.error?.name, 'AbortError', JSON.stringify(got.error));
  assert.ok(got.progress.length >= 1 && got.progress.at(-1)[0] < got.total,
    `stopped after ${JSON.stringify(got.progress)}`);
  assert.ok(got.ticksDuringRun > 0, 'the main thread was blocked');
  assert.ok(got.nuclei > 5, `${got.nuclei} nuclei after a cancelled run`);
});

test('bad model files reject with an Error naming the file', async () => {
  const bytes = readFileSync(model);
  const got = await gpuPage.evaluate(async (truncated) => {
    const attempt = async (source, name) => {
      try {
        await window.Model.load(source, { name, backend: 'cpu' });
        return null;
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    };
    return {
      junk: await attempt(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'junk.hsm'),
      truncated: await attempt(new Uint8Array(truncated), 'truncated.hsm'),
      backend: await window.Model.load(new Uint8Array(8), { backend: 'tpu' }).then(() => null, (e) => e.message),
      missing: await attempt(`${location.origin}/no-such-model.hsm`),
    };
  }, Array.from(bytes.subarray(0, Math.floor(bytes.length / 2))));
  assert.match(got.junk.message, /junk\.hsm.*HSM1/);
  assert.match(got.truncated.message, /truncated\.hsm/);
  assert.match(got.backend, /backend must be 'auto', 'webgpu' or 'cpu', got 'tpu'/);
  assert.match(got.missing.message, /no-such-model\.hsm: HTTP 404/);
});

test('without WebGPU, auto falls back to the CPU and says why; webgpu refuses', async () => {
  const browser = await launch();
  try {
    const page = await openPage(browser, server.url);
    await page.setInputFiles('#model', model);
    await page.setInputFiles('#image', image);
    const got = await predictIn(page, 'auto');
    assert.match(got.info.backend, /^cpu: /);
    assert.ok(got.info.fallbackReason?.length > 0, 'no reason given for the fallback');
    assertLikeNative(got);
    const refused = await page.evaluate(async () => {
      const [modelFile] = document.querySelector('#model').files;
      return window.Model.load(modelFile, { backend: 'webgpu' }).then(() => null, (e) => e.message);
    });
    assert.match(refused, /WebGPU is not available/);
  } finally {
    await browser.close();
  }
});

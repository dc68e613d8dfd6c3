// Browser tests: the package served on 127.0.0.1, driven in headless Chromium, slides opened
// through a real file input, results compared with the native CLI on the same files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage, serve } from './harness.mjs';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = process.env.HISTOSEG_DATA ?? resolve(web, '../../shared/data');
const slides = join(data, 'slides');
const cli = process.env.HISTOSEG_CLI
  ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/histoseg/target'), 'debug/histoseg');
const SVS = join(slides, 'cmu-1-small-region.svs');
const MAX_FRAGMENT = 700;

let server;
let browser;
let page;
const errors = [];
const scratch = mkdtempSync(join(tmpdir(), 'histoseg-web-'));

before(async () => {
  assert.ok(existsSync(join(web, 'pkg/histoseg_wasm_bg.wasm')), 'run scripts/build-web.sh first');
  assert.ok(existsSync(cli), `native CLI missing at ${cli} (cargo build -p histoseg-cli)`);
  server = await serve(web);
  browser = await launch();
  page = await openPage(browser, server.url, errors);
  await page.setInputFiles('#file', SVS);
  await page.evaluate(async () => {
    window.slide = await window.histoseg.openSlide(document.querySelector('#file').files[0]);
    window.openedBytes = await window.slide.bytesRead();
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The native CLI's extraction of the test slide: manifest and output folder. */
const native = (() => {
  let cached;
  return () => {
    if (!cached) {
      const out = join(scratch, 'native');
      execFileSync(cli, ['extract', SVS, '-o', out, '--quiet', '--max-fragment', String(MAX_FRAGMENT)]);
      cached = { out, manifest: JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).slides[0] };
    }
    return cached;
  };
})();

test('info equals `histoseg info --json`', async () => {
  const info = await page.evaluate(() => window.slide.info);
  const expected = JSON.parse(execFileSync(cli, ['info', '--json', SVS], { encoding: 'utf8' }));
  assert.equal(info.file, 'cmu-1-small-region.svs');
  assert.deepEqual({ ...info, file: SVS }, expected);
});

test('overview and every stage of the regions; final regions equal the CLI', async () => {
  const got = await page.evaluate(async () => {
    const o = await window.slide.overview(2048);
    const d = await window.slide.detectRegions({ maxSide: 2048 });
    window.toImageData(o); // the canvas helper accepts the picture
    return {
      overview: [o.width, o.height, o.pixels.length],
      mask: [d.width, d.height, d.mask.length, d.mask.filter((v) => v === 255).length],
      stages: [d.components.length, d.merged.length, d.filtered.length, d.regions.length],
      regions_level0: d.regions_level0,
    };
  });
  const info = await page.evaluate(() => window.slide.info);
  const [w, h] = [info.levels[0].width, info.levels[0].height];
  const scale = 2048 / Math.max(w, h);
  assert.deepEqual(got.overview.slice(0, 2), [Math.round(w * scale), Math.round(h * scale)]);
  assert.equal(got.overview[2], got.overview[0] * got.overview[1] * 3);
  assert.deepEqual(got.mask.slice(0, 3), [got.overview[0], got.overview[1], got.overview[0] * got.overview[1]]);
  assert.ok(got.mask[3] > 0, 'the mask holds tissue');
  assert.ok(got.stages[0] >= got.stages[1] && got.stages[3] > 0, `stages ${got.stages}`);
  assert.deepEqual(got.regions_level0, native().manifest.regions);
});

test('fragments: names decode to their rectangles, JPEG bytes equal the CLI files', async () => {
  const progress = [];
  await page.exposeFunction('reportProgress', (done, total) => progress.push([done, total]));
  const got = await page.evaluate(async (maxFragment) => {
    const out = await window.slide.extractFragments({ maxFragment }, {
      onProgress: (done, total) => window.reportProgress(done, total),
    });
    const fragments = [];
    for (const f of out.fragments) {
      const bytes = await f.blob.arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const parsed = await window.histoseg.parseFragmentName(f.name);
      fragments.push({
        name: f.name, fragment: f.fragment, parsed, type: f.blob.type, size: [f.width, f.height],
        sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
      });
    }
    return { regions_level0: out.regions_level0, fragments };
  }, MAX_FRAGMENT);
  const { out, manifest } = native();
  assert.deepEqual(got.regions_level0, manifest.regions);
  assert.ok(got.fragments.length > manifest.regions.length, 'the size limit splits regions');
  assert.deepEqual(got.fragments.map((f) => f.name), manifest.fragments.map((f) => f.file));
  for (const [i, f] of got.fragments.entries()) {
    const { file, ...expected } = manifest.fragments[i];
    assert.deepEqual(f.fragment, expected);
    assert.deepEqual(f.parsed, f.fragment, `${f.name} decodes`);
    assert.equal(f.type, 'image/jpeg');
    const sha = createHash('sha256').update(readFileSync(join(out, file))).digest('hex');
    assert.equal(f.sha256, sha, `${file}: same JPEG bytes as the CLI`);
  }
  assert.equal(progress.length, got.fragments.length);
  assert.deepEqual(progress.at(-1), [got.fragments.length, got.fragments.length]);
});

test('regions equal the CLI on other layouts: JPEG 2000 SVS, OME-TIFF pyramid', async () => {
  for (const name of ['tcga-cr-7395-01a-01-ts1.svs', 'cmu1_pyramid_subifds.ome.tif']) {
    const path = join(slides, name);
    const out = join(scratch, `native-${name}`);
    execFileSync(cli, ['extract', path, '-o', out, '--quiet']);
    const expected = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).slides[0].regions;
    await page.setInputFiles('#file', path);
    const got = await page.evaluate(async () => {
      const s = await window.histoseg.openSlide(document.querySelector('#file').files[0]);
      const d = await s.detectRegions();
      await s.close();
      return d.regions_level0;
    });
    assert.ok(expected.length > 0, `${name}: the CLI finds tissue`);
    assert.deepEqual(got, expected, name);
  }
});

test('vendor slides open as natively: NDPI, Philips TIFF, Ventana BIF, Leica SCN (info and regions equal the CLI)', async () => {
  const vendors = join(slides, 'vendors');
  for (const [rel, vendor, tissue] of [
    ['ndpi/hamamatsu-test3-dapi.ndpi', 'hamamatsu', false],
    ['philips/cmu-1-small-region-philips.tiff', 'philips', true],
    ['ventana/cmu-1-small-region-ventana.bif', 'ventana', true],
    ['leica/cmu-1-small-region-leica.scn', 'leica', true],
  ]) {
    const path = join(vendors, rel);
    const out = join(scratch, `native-${vendor}`);
    execFileSync(cli, ['extract', path, '-o', out, '--quiet']);
    const expectedRegions = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).slides[0].regions;
    const expectedInfo = JSON.parse(execFileSync(cli, ['info', '--json', path], { encoding: 'utf8' }));
    await page.setInputFiles('#file', path);
    const got = await page.evaluate(async () => {
      const s = await window.histoseg.openSlide(document.querySelector('#file').files[0]);
      const d = await s.detectRegions();
      const info = s.info;
      await s.close();
      return { info, regions: d.regions_level0 };
    });
    assert.equal(got.info.vendor, vendor, rel);
    // A missing value crosses from wasm as undefined and from the CLI's JSON as null.
    const info = { ...got.info, file: path, objective_power: got.info.objective_power ?? null };
    assert.deepEqual(info, expectedInfo, rel);
    if (tissue) assert.ok(expectedRegions.length > 0, `${rel}: the CLI finds tissue`);
    assert.deepEqual(got.regions, expectedRegions, rel);
  }
});

test('a DICOM slide of several files opens as natively (info and tissue regions equal the CLI)', async () => {
  const folder = join(slides, 'vendors/dicom/cmu-1-small-region-wsidicomizer');
  const files = readdirSync(folder).sort().map((f) => join(folder, f));
  const out = join(scratch, 'native-dicom');
  execFileSync(cli, ['extract', folder, '-o', out, '--quiet']);
  const expectedRegions = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).slides[0].regions;
  const expectedInfo = JSON.parse(execFileSync(cli, ['info', '--json', folder], { encoding: 'utf8' }));
  // In the page's order the files are picked; the reader sorts them out.
  await page.setInputFiles('#file', [...files].reverse());
  const got = await page.evaluate(async () => {
    const s = await window.histoseg.openSlide(document.querySelector('#file').files, 'wsidicomizer');
    const d = await s.detectRegions();
    const info = s.info;
    await s.close();
    return { info, regions: d.regions_level0 };
  });
  const info = { ...got.info, file: folder, objective_power: got.info.objective_power ?? null };
  assert.equal(got.info.file, 'wsidicomizer');
  assert.deepEqual(info, expectedInfo);
  assert.ok(expectedRegions.length > 0, 'the CLI finds tissue');
  assert.deepEqual(got.regions, expectedRegions);
});

test('overviews made in shares by helper workers equal the overview made alone', async () => {
  await page.setInputFiles('#file', SVS);
  const runs = await page.evaluate(async () => {
    const file = document.querySelector('#file').files[0];
    const digest = async (bytes) => Array.from(
      new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)),
      (b) => b.toString(16).padStart(2, '0'),
    ).join('');
    const out = [];
    for (const helpers of [0, 1, 3]) {
      const h = await window.Histoseg.create({ helpers });
      try {
        const s = await h.openSlide(file);
        const o = await s.overview(2048);
        const d = await s.detectRegions({ maxSide: 1000 });
        out.push({
          helpers: h.helpers.length,
          overview: [o.width, o.height, await digest(o.pixels)],
          mask: await digest(d.mask),
          regions: d.regions_level0,
          read: await s.bytesRead(),
        });
        await s.close();
      } finally {
        h.terminate();
      }
    }
    return out;
  });
  assert.deepEqual(runs.map((r) => r.helpers), [0, 1, 3]);
  const [alone, ...shared] = runs;
  for (const r of shared) {
    assert.deepEqual(r.overview, alone.overview, `${r.helpers} helpers: the same overview`);
    assert.equal(r.mask, alone.mask, `${r.helpers} helpers: the same mask`);
    assert.deepEqual(r.regions, alone.regions, `${r.helpers} helpers: the same regions`);
    // bytesRead counts every worker's reads: the slide's own worker reads only its share of
    // the tiles (a half, a quarter), so without the helpers' reads the total would fall far
    // below the bytes one worker reads alone.
    assert.ok(r.read > alone.read * 0.75, `${r.helpers} helpers read ${r.read} bytes, alone ${alone.read}`);
  }
});

test('opening a slide and its overview read only a small share of the file', async (t) => {
  const pyramid = join(slides, 'cmu1_generic_tiled_pyramid_jpeg.tif');
  await page.setInputFiles('#file', pyramid);
  const got = await page.evaluate(async () => {
    const s = await window.histoseg.openSlide(document.querySelector('#file').files[0]);
    const opened = await s.bytesRead();
    const o = await s.overview(400);
    const read = await s.bytesRead();
    await s.close();
    return { opened, read, size: s.fileSize, overview: [o.width, o.height] };
  });
  assert.equal(got.size, statSync(pyramid).size);
  assert.equal(Math.max(...got.overview), 400);
  assert.ok(got.opened < got.size * 0.1, `opening read ${got.opened} of ${got.size} bytes`);
  assert.ok(got.read < got.size * 0.25, `overview read ${got.read} of ${got.size} bytes`);
  t.diagnostic(`pyramid: opening read ${got.opened}, + overview(400) ${got.read} of ${got.size} bytes`);
  // Each worker holding the slide (its own and every helper) reads the directories once.
  const [opened, size, workers] = await page.evaluate(async () => [
    window.openedBytes, window.slide.fileSize, 1 + window.histoseg.helpers.length,
  ]);
  t.diagnostic(`svs: opening read ${opened} of ${size} bytes in ${workers} worker(s)`);
  assert.ok(opened / workers < size * 0.05, `opening the SVS read ${opened} of ${size} bytes in ${workers} workers`);
});

test('a bad file rejects with a clear Error and the worker keeps working', async (t) => {
  for (const name of ['broken.svs', 'unreadable.svs']) {
    await page.setInputFiles('#bad', join(slides, name));
    const got = await page.evaluate(async () => {
      try {
        const s = await window.histoseg.openSlide(document.querySelector('#bad').files[0]);
        await s.overview(512);
        return { ok: true };
      } catch (e) {
        return { isError: e instanceof Error, message: e.message };
      }
    });
    assert.equal(got.isError, true, `${name}: ${JSON.stringify(got)}`);
    assert.match(got.message, new RegExp(`^${name.replace('.', '\\.')}: `));
    assert.doesNotMatch(got.message, /unreachable|panicked|RuntimeError/);
  }
  const bad = await page.evaluate(async () => {
    try {
      await window.slide.detectRegions({ maxSides: 5 });
      return 'accepted';
    } catch (e) {
      return e.message;
    }
  });
  assert.match(bad, /unknown field `maxSides`/);
  const refusals = await page.evaluate(async () => {
    const h = window.histoseg;
    const calls = {
      level: () => window.slide.readRegion(9, { x: 0, y: 0, w: 10, h: 10 }),
      huge: () => window.slide.readRegion(0, { x: 0, y: 0, w: 200000, h: 200000 }),
      zeroSide: () => window.slide.overview(0),
      threshold: () => window.slide.detectRegions({ threshold: 'mean' }),
      quality: () => window.slide.extractFragments({ quality: 0 }),
      pixels: () => h.sharpen(new Uint8Array(10), 4, 4),
      kernel: () => h.gaussianBlur(new Uint8Array(16), 4, 4, 4, 0),
      name: () => h.parseFragmentName('holiday.jpg'),
      format: () => h.importMakesense('xml', [], []),
    };
    const out = {};
    for (const [k, call] of Object.entries(calls)) {
      try {
        await call();
        out[k] = 'accepted';
      } catch (e) {
        out[k] = e instanceof Error ? e.message : `not an Error: ${e}`;
      }
    }
    return out;
  });
  for (const [k, message] of Object.entries(refusals)) {
    t.diagnostic(`${k}: ${message}`);
    assert.notEqual(message, 'accepted', k);
    assert.doesNotMatch(message, /unreachable|panicked|RuntimeError|not an Error/, `${k}: ${message}`);
  }
  const still = await page.evaluate(async () => (await window.slide.detectRegions()).regions.length);
  assert.ok(still > 0);
  assert.deepEqual(errors, []);
});

test('filters, metrics, name codec and annotation formats', async () => {
  const got = await page.evaluate(async () => {
    const h = window.histoseg;
    const rgba = new Uint8Array(4 * 4 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const rgb = rgba.filter((_, i) => i % 4 !== 3);
    const a = await h.preprocess(rgb, 4, 4);
    const b = await h.preprocess(rgba, 4, 4);
    const norm = await h.normalize(new Uint8Array([0, 255]), 2, 1);
    const scores = await h.pixelScores(new Uint8Array([255, 255, 0, 0]), new Uint8Array([1, 0, 1, 0]), 4, 1);
    const points = await h.matchPoints([[0, 0], [5, 0]], [[4, 0], [9, 0]], 5);
    const fragment = { source: 'cmu 1', x: 1024, y: 0, w: 512, h: 256, downsample: 4 };
    const name = await h.fragmentName(fragment, 'safe');
    const back = await h.parseFragmentName(name);
    const onSlide = await h.fragmentToSlide(fragment, 10, 5);
    const nuclei = [
      { class: 'nucleus', geometry: { type: 'point', x: 1100, y: 40 } },
      { class: 'tumour', geometry: { type: 'rect', x: 1030, y: 8, w: 40, h: 20 } },
    ];
    const fragmentName = await h.fragmentName(fragment);
    const geojson = await h.writeAnnotations('geojson', nuclei);
    const fromGeojson = await h.readAnnotations('geojson', 'a.geojson', geojson);
    const exported = await h.exportMakesense('csv-points', [{ name: fragmentName, annotations: nuclei.slice(0, 1) }]);
    const imported = await h.importMakesense('csv-points', exported, [fragmentName]);
    const median = await h.median3(new Uint8Array([9, 0, 9, 9, 9, 9, 9, 9, 9]), 3, 3);
    const summary = await h.pixelSummary([scores, { ...scores, false_positive: 0 }]);
    const back2 = await h.slideToFragment(fragment, ...onSlide);
    const assigned = await h.assignToFragments(nuclei, [fragmentName]);
    const region = await window.slide.readRegion(0, { x: 100, y: 200, w: 30, h: 20 });
    let badRadius;
    try { await h.matchPoints([], [], -1); } catch (e) { badRadius = e.message; }
    return {
      same: Array.from(a).join() === Array.from(b).filter((_, i) => i % 4 !== 3).join(),
      norm: Array.from(norm), scores, f1: points.f1, name, back, onSlide, fromGeojson, nuclei,
      imported, badRadius, median: Array.from(median), summary, back2,
      placed: assigned.placed[fragmentName], left: assigned.left,
      region: [region.width, region.height, region.pixels.length],
    };
  });
  assert.ok(got.same, 'RGBA and RGB pixels filter alike');
  assert.deepEqual(got.norm, [0, 1]);
  assert.equal(got.scores.dice, 0.5);
  assert.equal(got.scores.true_positive, 1);
  assert.equal(got.f1, 1);
  assert.equal(got.name, 'cmu 1__d4_x1024_y0_w512_h256.jpg');
  assert.deepEqual(got.back, { source: 'cmu 1', x: 1024, y: 0, w: 512, h: 256, downsample: 4 });
  assert.deepEqual(got.onSlide, [1064, 20]);
  assert.deepEqual(got.fromGeojson, got.nuclei);
  assert.deepEqual(got.imported.slides['cmu 1'], got.nuclei.slice(0, 1));
  assert.match(got.badRadius, /radius/);
  assert.deepEqual(got.median, [9, 9, 9, 9, 9, 9, 9, 9, 9]);
  assert.equal(got.summary.images, 2);
  assert.equal(got.summary.mean_dice, (0.5 + 2 / 3) / 2);
  assert.deepEqual(got.back2, [10, 5]);
  assert.deepEqual(got.placed, got.nuclei);
  assert.deepEqual(got.left, []);
  assert.deepEqual(got.region, [30, 20, 30 * 20 * 3]);
});

test('npm pack gives a package that installs and runs', async () => {
  const packDir = join(scratch, 'pack');
  const app = join(scratch, 'app');
  execFileSync('mkdir', ['-p', packDir, app]);
  const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: web, encoding: 'utf8' })
    .trim().split('\n').at(-1);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(packDir, tgz)], { cwd: app, stdio: 'ignore' });
  const installed = join(app, 'node_modules/histoseg');
  for (const f of ['src/index.js', 'src/index.d.ts', 'src/worker.js', 'pkg/histoseg_wasm.js', 'pkg/histoseg_wasm_bg.wasm', 'README.md']) {
    assert.ok(existsSync(join(installed, f)), `${f} is in the package`);
  }
  writeFileSync(join(app, 'index.html'), `<!doctype html><link rel="icon" href="data:,"><input type="file" id="file">
<script type="module">
import { Histoseg } from './node_modules/histoseg/src/index.js';
window.run = async () => {
  const h = await Histoseg.create();
  const s = await h.openSlide(document.querySelector('#file').files[0]);
  return (await s.detectRegions()).regions_level0;
};
</script>`);
  const appServer = await serve(app);
  try {
    const p = await browser.newPage();
    await p.goto(`${appServer.url}/index.html`);
    await p.setInputFiles('#file', SVS);
    const regions = await p.evaluate(() => window.run());
    assert.deepEqual(regions, native().manifest.regions);
    await p.close();
  } finally {
    await appServer.close();
  }
});

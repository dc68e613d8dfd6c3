// Frame times of the annotation view with 20,000 annotations and 100,000 model proposals
// (nuclei outlines) on a fragment, in headless Chromium: pans (mouse drags) and zooms (wheel) over the fragment, and reports the draw time
// of every frame (performance.measure around the draw, rasterisation included by reading a
// pixel back) and the intervals between animation frames. Goal: under 16 ms a frame.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, serve } from '../web/test/harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = process.env.HISTOSEG_DATA ?? resolve(root, '../shared/data');
const SVS = join(data, 'slides/cmu-1-small-region.svs');
const COUNT = Number(process.env.ANNOTATIONS ?? 20000);
const PROPOSALS = Number(process.env.PROPOSALS ?? 100000);

const server = await serve(root);
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(e));
  await page.goto(`${server.url}/www/index.html`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await page.setInputFiles('#file', SVS);
  await page.waitForFunction(() => !document.body.dataset.busy
    && /fragments\.$/.test(document.querySelector('#detect-state').textContent), null, { timeout: 60_000 });
  await page.click('#gallery li:first-child button');
  await page.waitForSelector('#pane-annotate:not([hidden])');

  // 20,000 annotations spread over the fragment: 70% points, 15% boxes, 15% hexagons.
  const placed = await page.evaluate(async ([count, proposalCount]) => {
    const { model, view, saver } = window.histosegApp;
    const f = view.fragment;
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const classes = model.classes.map((c) => c.name);
    const list = [];
    for (let i = 0; i < count; i++) {
      const x = f.x + rnd() * f.w;
      const y = f.y + rnd() * f.h;
      const cls = classes[i % classes.length];
      const k = rnd();
      if (k < 0.7) list.push({ class: cls, geometry: { type: 'point', x, y } });
      else if (k < 0.85) list.push({ class: cls, geometry: { type: 'rect', x, y, w: 8 + rnd() * 20, h: 8 + rnd() * 20 } });
      else {
        const r = 5 + rnd() * 10;
        const points = Array.from({ length: 6 }, (_, j) => [x + r * Math.cos(j * Math.PI / 3), y + r * Math.sin(j * Math.PI / 3)]);
        list.push({ class: cls, geometry: { type: 'polygon', points } });
      }
    }
    model.add(list);
    // Proposals as a model gives them: octagon outlines of nuclei 4-8 px in radius.
    const nuclei = [];
    for (let i = 0; i < proposalCount; i++) {
      const x = f.x + rnd() * f.w;
      const y = f.y + rnd() * f.h;
      const r = 4 + rnd() * 4;
      const outline = Array.from({ length: 8 }, (_, j) => [x + r * Math.cos(j * Math.PI / 4), y + r * Math.sin(j * Math.PI / 4)]);
      nuclei.push({ outline, centroid: [x, y], area: Math.PI * r * r, perimeter: 2 * Math.PI * r, circularity: 0.9, hematoxylinOd: 0.5 });
    }
    window.histosegApp.proposals.add(nuclei);
    await saver.idle;
    await window.histosegApp.assist.saver.idle;
    view.flushForTiming = true;
    return { annotations: model.items.size, proposals: window.histosegApp.proposals.list.length };
  }, [COUNT, PROPOSALS]);

  const box = await page.locator('#view').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const phases = {};

  /** Runs `act`, returns the draw times and animation-frame intervals it caused. */
  async function measure(name, act) {
    await page.evaluate(() => {
      window.histosegApp.view.drawTimes.length = 0;
      performance.clearMeasures('histoseg-draw');
      window.rafDeltas = [];
      let last = performance.now();
      window.rafRunning = true;
      const tick = (now) => {
        window.rafDeltas.push(now - last);
        last = now;
        if (window.rafRunning) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await act();
    await page.waitForTimeout(100);
    phases[name] = await page.evaluate(() => {
      window.rafRunning = false;
      return {
        draw: performance.getEntriesByName('histoseg-draw').map((e) => e.duration),
        raf: window.rafDeltas.slice(1),
      };
    });
  }

  const drag = async (dx, dy, steps = 40) => {
    await page.mouse.move(cx, cy);
    await page.mouse.down({ button: 'middle' });
    for (let i = 1; i <= steps; i++) await page.mouse.move(cx + (dx * i) / steps, cy + (dy * i) / steps);
    await page.mouse.up({ button: 'middle' });
  };
  const wheel = async (delta, steps = 30) => {
    await page.mouse.move(cx, cy);
    for (let i = 0; i < steps; i++) {
      await page.mouse.wheel(0, delta);
      await page.evaluate(() => new Promise(requestAnimationFrame));
    }
  };

  await page.evaluate(() => window.histosegApp.view.fit());
  await drag(-50, -50, 20); // warm-up (JIT), not measured
  await page.evaluate(() => window.histosegApp.view.fit());
  await measure('pan, whole fragment visible', () => drag(-300, -200));
  await measure('zoom in (wheel)', () => wheel(-60));
  await measure('pan, zoomed in', () => drag(400, 250));
  await measure('zoom out (wheel)', () => wheel(60));

  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
  };
  const fmt = (v) => v.toFixed(1).padStart(6);
  console.log(`annotation view, ${placed.annotations} annotations and ${placed.proposals} proposals, Chromium headless (software raster), 1280x800`);
  console.log('phase                          frames  draw p50   p95   max  | rAF interval p50   p95   max');
  const all = [];
  for (const [name, { draw, raf }] of Object.entries(phases)) {
    all.push(...draw);
    console.log(`${name.padEnd(30)} ${String(draw.length).padStart(6)} ${fmt(pct(draw, 50))} ${fmt(pct(draw, 95))} ${fmt(Math.max(...draw))}  |      ${fmt(pct(raf, 50))} ${fmt(pct(raf, 95))} ${fmt(Math.max(...raf))}`);
  }
  const under = all.filter((v) => v < 16).length / all.length;
  console.log(`all frames: draw p50 ${pct(all, 50).toFixed(1)} ms, p95 ${pct(all, 95).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms; ${(under * 100).toFixed(1)}% under 16 ms (goal: under 16 ms)`);
} finally {
  await browser.close();
  await server.close();
}

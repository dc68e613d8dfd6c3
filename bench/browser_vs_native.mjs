// Times open + overview + tissue regions of one slide in headless Chromium (through the npm
// package, slide picked in a file input) and natively (the same session code, release build),
// in one run, and prints the ratio. Runs alternate between the two so both see the same load
// on a shared machine. Usage: node browser_vs_native.mjs NATIVE_BIN SLIDE [RUNS]
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, '../web');
const { launch, openPage, serve } = await import(join(web, 'test/harness.mjs'));
const [nativeBin, slide, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const boxes = (rs) => JSON.stringify(rs.map(({ x, y, w, h }) => [x, y, w, h]));

const server = await serve(web);
const browser = await launch();
try {
  const page = await openPage(browser, server.url);
  await page.setInputFiles('#file', slide);
  const once = () => page.evaluate(async () => {
    const file = document.querySelector('#file').files[0];
    const t0 = performance.now();
    const s = await window.histoseg.openSlide(file);
    const t1 = performance.now();
    await s.overview(2048);
    const t2 = performance.now();
    const d = await s.detectRegions({ maxSide: 2048 });
    const t3 = performance.now();
    await s.close();
    return { total: t3 - t0, open: t1 - t0, overview: t2 - t1, regions: t3 - t2, boxes: d.regions_level0 };
  });
  await once(); // warm the module up
  const web_ = [];
  const native = [];
  let nativeBoxes;
  let webBoxes;
  for (let i = 0; i < runs; i++) {
    // Median of 3 inside one process: warm, like the browser's module.
    const n = JSON.parse(execFileSync(nativeBin, [slide, '3'], { encoding: 'utf8' }));
    native.push(n.median_ms);
    nativeBoxes = n.regions;
    const b = await once();
    web_.push(b);
    webBoxes = b.boxes;
  }
  const nativeMs = median(native);
  const webMs = median(web_.map((b) => b.total));
  const part = (k) => median(web_.map((b) => b[k])).toFixed(1);
  const same = boxes(webBoxes) === boxes(nativeBoxes);
  console.log(`slide           ${slide}`);
  console.log(`runs            ${runs}, alternating (medians)`);
  const helpers = await page.evaluate(() => window.histoseg.helpers.length);
  console.log(`workers         chromium: 1 + ${helpers} helper(s) (one per further core); native: all cores`);
  console.log(`native          ${nativeMs.toFixed(1)} ms  (open + overview(2048) + regions)`);
  console.log(`chromium        ${webMs.toFixed(1)} ms  (open ${part('open')} + overview ${part('overview')} + regions ${part('regions')}, through the worker)`);
  console.log(`ratio           ${(webMs / nativeMs).toFixed(2)}x  (goal: within 2x)`);
  console.log(`same regions    ${same}`);
  if (!same) process.exitCode = 1;
} finally {
  await browser.close();
  await server.close();
}

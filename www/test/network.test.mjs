// Privacy: every network request made during a whole session with a local slide (annotation
// page and OpenSeadragon demo, the worker's included) is recorded; the test fails if one goes
// anywhere but the page's own origin or carries the slide's bytes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, serve } from '../../web/test/harness.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const data = process.env.HISTOSEG_DATA ?? resolve(root, '../shared/data');
const SVS = join(data, 'slides/cmu-1-small-region.svs');
const slideBytes = readFileSync(SVS);

let server;
let browser;

before(async () => {
  server = await serve(root);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Pieces of the slide (64 bytes at spread offsets, past its header) to look for in bodies. */
const chunks = Array.from({ length: 16 }, (_, i) => {
  const at = Math.floor((slideBytes.length / 17) * (i + 1));
  return slideBytes.subarray(at, at + 64);
});

/**
 * What is wrong with the recorded requests: other origins, bodies that are large or hold the
 * slide's bytes, URLs long enough to smuggle data.
 * @param {{url: string, method: string, body: Buffer|null}[]} requests
 * @param {string} origin
 */
function violations(requests, origin) {
  const out = [];
  for (const r of requests) {
    const u = new URL(r.url);
    const own = u.origin === origin
      || (u.protocol === 'blob:' && r.url.startsWith(`blob:${origin}/`))
      || u.protocol === 'data:';
    if (!own) out.push(`${r.method} ${r.url.slice(0, 100)}: not the page's origin`);
    if (r.url.length > 2048 && u.protocol !== 'data:') out.push(`${r.url.slice(0, 100)}: URL of ${r.url.length} chars`);
    // Playwright cannot see File or stream bodies: any method that may carry one is a leak.
    if (r.method !== 'GET' && r.method !== 'HEAD') out.push(`${r.method} ${r.url.slice(0, 100)}: may send a body`);
    if (r.body && r.body.length > 0) {
      out.push(`${r.method} ${r.url.slice(0, 100)}: sends ${r.body.length} bytes`);
      if (chunks.some((c) => r.body.includes(c))) out.push(`${r.url.slice(0, 100)}: carries the slide's bytes`);
    }
  }
  return out;
}

test('a session with a local slide sends nothing anywhere, and nothing of the slide', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  /** @type {{url: string, method: string, body: Buffer|null}[]} */
  const requests = [];
  context.on('request', (r) => requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() }));
  const page = await context.newPage();
  await page.goto(`${server.url}/www/index.html`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await page.setInputFiles('#file', SVS);
  await page.waitForFunction(() => !document.body.dataset.busy
    && /fragments\.$/.test(document.querySelector('#detect-state').textContent), null, { timeout: 60_000 });
  await page.click('#gallery li:first-child button');
  await page.waitForSelector('#pane-annotate:not([hidden])');
  await page.keyboard.press('p');
  const box = await page.locator('#view').boundingBox();
  await page.mouse.click(box.x + 300, box.y + 300);
  await page.evaluate(() => window.histosegApp.saver.idle);
  for (const sel of ['[data-export="geojson"]', '#export-fragments']) {
    await Promise.all([page.waitForEvent('download'), page.click(sel)]);
  }
  const osd = await context.newPage();
  await osd.goto(`${server.url}/www/osd.html`);
  await osd.waitForFunction(() => window.demo);
  await osd.setInputFiles('#file', SVS);
  await osd.waitForFunction(() => window.demo.viewer.world.getItemAt(0)?.getFullyLoaded(), null, { timeout: 60_000 });

  const seen = requests.map((r) => new URL(r.url).pathname);
  assert.ok(seen.includes('/web/pkg/histoseg_wasm_bg.wasm'), 'the worker\'s requests are recorded');
  assert.ok(seen.includes('/www/node_modules/openseadragon/build/openseadragon/openseadragon.min.js'));
  assert.deepEqual(violations(requests, server.url), []);

  await context.close();

  // The check itself catches leaks: a page whose Content-Security-Policy is bypassed posts the
  // slide to another host, and to its own.
  const open = await browser.newContext({ bypassCSP: true });
  open.on('request', (r) => requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer() }));
  const bare = await open.newPage();
  await bare.goto(`${server.url}/www/index.html`);
  await bare.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  await bare.setInputFiles('#file', SVS);
  await bare.evaluate(async () => {
    const file = document.querySelector('#file').files[0];
    await fetch('http://127.0.0.2:9/upload', { method: 'POST', body: file }).catch(() => {});
    await fetch('/upload', { method: 'PUT', body: await file.arrayBuffer() }).catch(() => {});
  });
  const leak = violations(requests, server.url);
  assert.ok(leak.some((v) => /127\.0\.0\.2.*not the page's origin/.test(v)), leak.join('\n'));
  assert.ok(leak.some((v) => /upload: carries the slide's bytes/.test(v)), leak.join('\n'));
  await open.close();
});

test("the pages' Content-Security-Policy makes the browser refuse other origins", async () => {
  const other = await serve(root); // another port: another origin
  try {
    for (const path of ['/www/index.html', '/www/osd.html']) {
      const page = await browser.newPage();
      await page.goto(`${server.url}${path}`);
      const outcome = await page.evaluate(async (elsewhere) => {
        const refused = [];
        document.addEventListener('securitypolicyviolation', (e) => refused.push(e.effectiveDirective));
        const own = await fetch('/www/style.css').then((r) => r.status, () => 'blocked');
        const away = await fetch(`${elsewhere}/www/style.css`).then((r) => r.status, () => 'blocked');
        const image = await new Promise((done) => {
          const img = new Image();
          img.onload = () => done('loaded');
          img.onerror = () => done('blocked');
          img.src = `${elsewhere}/www/style.css`;
        });
        const script = await new Promise((done) => {
          const tag = document.createElement('script');
          tag.onload = () => done('loaded');
          tag.onerror = () => done('blocked');
          tag.src = `${elsewhere}/web/src/worker-protocol.js`;
          document.head.append(tag);
        });
        await new Promise((done) => setTimeout(done, 200));
        return { own, away, image, script, refused };
      }, other.url);
      assert.equal(outcome.own, 200, `${path}: its own origin still answers`);
      assert.deepEqual([outcome.away, outcome.image, outcome.script], ['blocked', 'blocked', 'blocked'], path);
      for (const directive of ['connect-src', 'img-src', 'script-src-elem']) {
        assert.ok(outcome.refused.includes(directive), `${path}: ${directive} in ${outcome.refused}`);
      }
      await page.close();
    }
  } finally {
    await other.close();
  }
});

// Shared by the browser tests and the benchmark: a static server on 127.0.0.1 and Debian's
// Chromium started headless through playwright-core with the flags that work on this machine.
import { chromium } from 'playwright-core';

export { serve } from './serve.mjs';

/**
 * Headless Chromium (fresh profile, no network chatter); `CHROMIUM` overrides the path. With
 * `webgpu`, WebGPU runs on Chromium's software adapter (SwiftShader): `--enable-unsafe-webgpu`
 * is the flag that turns it on here (../shared/TOOLCHAIN.md); without it `navigator.gpu` gives
 * no adapter, which is how the CPU fallback is tested.
 */
export function launch({ webgpu = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(webgpu ? ['--enable-unsafe-webgpu'] : ['--disable-gpu']),
    ],
  });
}

/** A page of `url` that loads the package and exposes `window.histoseg` (a started library). */
export async function openPage(browser, url, errors = []) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  await page.goto(`${url}/test/page.html`);
  await page.waitForFunction(() => window.histosegReady === true || window.histosegError, null, {
    timeout: 60_000,
  });
  const failed = await page.evaluate(() => window.histosegError);
  if (failed) throw new Error(`the page could not start histoseg: ${failed}`);
  return page;
}

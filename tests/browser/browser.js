// Headless Chromium with WebGPU on SwiftShader (a CPU implementation of Vulkan), driven by
// playwright-core. Uses Debian's /usr/bin/chromium: nothing is downloaded.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

/** WebGPU on SwiftShader, headless, and no calls out to Google's services. */
export const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium without the SwiftShader adapter: navigator.gpu exists but offers no adapter, as on
 * a machine without a usable GPU (to test WebGPUUnavailableError).
 */
export const NO_ADAPTER_FLAGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch(args = WEBGPU_FLAGS) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * Opens tests/browser/pages/NAME from `server` in `context` (default: a fresh one, with its
 * own Cache API storage) and waits until the page has imported hearth-llm. The page's console goes to stderr.
 */
export async function openPage(browser, server, name = 'engine.html', context = null) {
  context ??= await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning' || process.env.HEARTH_VERBOSE) {
      console.error(`[page ${m.type()}] ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => console.error(`[worker ${m.type()}] ${m.text()}`)));
  await page.goto(`${server.origin}/pages/${name}`);
  await page.waitForFunction(() => window.hearthReady === true || window.hearthLoadError, null, { timeout: 30_000 });
  const loadError = await page.evaluate(() => window.hearthLoadError);
  if (loadError) throw new Error(`the test page could not import hearth-llm: ${loadError}`);
  return { context, page };
}

// Headless Debian Chromium with WebGPU on SwiftShader, the same flags as the browser tests
// (tests/browser/browser.js); a copy here so the bench does not depend on the tests' helpers.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  // No calls out to Google's services (the machine has no network, and they add noise).
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: WEBGPU_FLAGS });
}

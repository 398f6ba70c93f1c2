// Headless Debian Chromium with WebGPU on SwiftShader: the browser tests' launcher
// (tests/browser/browser.js), so the bench and the tests always run the same flags.
// Needs tests/browser/node_modules (scripts/setup.sh installs it).

export { CHROMIUM, launch } from '../../tests/browser/browser.js';

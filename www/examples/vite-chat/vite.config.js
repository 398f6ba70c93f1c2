import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the built app works from any path (the tests serve it under /example/).
  base: './',
  // The engine's worker is an ES module (it imports the package, which loads its wasm).
  worker: { format: 'es' },
  build: { target: 'es2022' },
  // hearth-llm is linked from ../.. (file: dependency): let Vite treat it as a package, not
  // pre-bundle it, so the wasm it loads with `new URL(..., import.meta.url)` is emitted as an asset.
  optimizeDeps: { exclude: ['hearth-llm'] },
});

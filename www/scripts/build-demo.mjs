// Builds the demo (www/demo/) into www/demo-dist/, a self-contained static site:
//   index.html, style.css, manifest.webmanifest, icon.svg   copied
//   app.js, worker.js                                        bundled by esbuild from demo/src/
//                                                            with hearth-llm (www/dist/)
//   hearth_bg.wasm                                           the engine, next to worker.js (the
//                                                            glue finds it via import.meta.url)
//   sw.js                                                    the service worker, with the list
//                                                            of these files and a hash of them
// Run after the package build (www/dist/ must exist); `npm run build` does both.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const www = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(www, 'demo');
const out = join(www, 'demo-dist');
const pkg = join(www, 'dist');

if (!existsSync(join(pkg, 'index.js'))) {
  console.error('build-demo: www/dist/ is missing: build the package first (npm run build)');
  process.exit(1);
}

// Type-check the demo against the package's .d.ts (esbuild only strips types).
const tsc = join(www, 'node_modules', 'typescript', 'bin', 'tsc');
for (const config of ['tsconfig.json', 'tsconfig.sw.json']) {
  try {
    execFileSync(process.execPath, [tsc, '-p', join(demo, config)], { stdio: 'inherit' });
  } catch {
    console.error(`build-demo: type errors in the demo (${config})`);
    process.exit(1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const name of ['index.html', 'style.css', 'manifest.webmanifest', 'icon.svg']) {
  copyFileSync(join(demo, name), join(out, name));
}
copyFileSync(join(pkg, 'wasm', 'hearth_bg.wasm'), join(out, 'hearth_bg.wasm'));

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  alias: { 'hearth-llm/worker': join(pkg, 'worker.js'), 'hearth-llm': join(pkg, 'index.js') },
};
await esbuild.build({ ...common, entryPoints: [join(demo, 'src', 'app.ts'), join(demo, 'src', 'worker.ts')], outdir: out });

// The shell: every file a visit needs, relative to the service worker's scope.
const files = readdirSync(out).filter((n) => !n.endsWith('.map')).sort();
const hash = createHash('sha256');
for (const name of files) hash.update(name).update(readFileSync(join(out, name)));
const version = hash.digest('hex').slice(0, 16);
await esbuild.build({
  ...common,
  entryPoints: [join(demo, 'src', 'sw.ts')],
  outfile: join(out, 'sw.js'),
  define: { PRECACHE: JSON.stringify(['./', ...files]), VERSION: JSON.stringify(version) },
});
console.log(`build-demo: ${relative(www, out)}/ ready (${files.length + 1} files, shell version ${version})`);

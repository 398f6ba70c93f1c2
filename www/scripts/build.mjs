// Builds the hearth-llm package into www/dist/:
//   1. cargo builds the Rust core for wasm32 (release),
//   2. wasm-bindgen (pinned to the crate's wasm-bindgen version) writes the JS glue into
//      src/wasm/ (generated, ignored by git) so tsc type-checks against it,
//   3. tsc compiles src/ to dist/ with .d.ts files,
//   4. the glue and the .wasm are copied to dist/wasm/, and the bundle size is printed.
// `--ts-only` skips steps 1-2 (reuses src/wasm/ from an earlier full build).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const WASM_BINDGEN_VERSION = '0.2.130';

const www = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(www, '..');
const glueDir = join(www, 'src', 'wasm');
const dist = join(www, 'dist');
const tsOnly = process.argv.includes('--ts-only');

function run(cmd, args, cwd) {
  console.log(`build: ${cmd} ${args.join(' ')}`);
  try {
    execFileSync(cmd, args, { cwd, stdio: 'inherit' });
  } catch (e) {
    fail(`${cmd} failed (exit ${e.status ?? e.signal})`);
  }
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function checkWasmBindgen() {
  let version = '';
  try {
    version = execFileSync('wasm-bindgen', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    fail(`wasm-bindgen is not installed: cargo install wasm-bindgen-cli --version ${WASM_BINDGEN_VERSION}`);
  }
  // The CLI must match the wasm-bindgen crate exactly, or the glue and the binary disagree.
  const lock = readFileSync(join(repo, 'Cargo.lock'), 'utf8');
  const locked = /name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(lock)?.[1];
  if (locked !== WASM_BINDGEN_VERSION) {
    fail(`Cargo.lock has wasm-bindgen ${locked}, this script pins ${WASM_BINDGEN_VERSION}: update both together`);
  }
  if (version !== `wasm-bindgen ${WASM_BINDGEN_VERSION}`) {
    fail(`found "${version}", need wasm-bindgen ${WASM_BINDGEN_VERSION}: cargo install wasm-bindgen-cli --version ${WASM_BINDGEN_VERSION}`);
  }
}

if (!tsOnly) {
  checkWasmBindgen();
  // A cdylib only for this build: Cargo.toml keeps the library an rlib for native builds.
  run('cargo', ['rustc', '--lib', '--release', '--target', 'wasm32-unknown-unknown', '--crate-type', 'cdylib'], repo);
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
  const wasmFile = join(targetDir, 'wasm32-unknown-unknown', 'release', 'hearth.wasm');
  rmSync(glueDir, { recursive: true, force: true });
  run('wasm-bindgen', ['--target', 'web', '--out-dir', glueDir, wasmFile], www);
} else if (!existsSync(join(glueDir, 'hearth.js'))) {
  fail('--ts-only needs src/wasm/ from a full build first (npm run build)');
}

rmSync(dist, { recursive: true, force: true });
run(process.execPath, [join(www, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], www);

mkdirSync(join(dist, 'wasm'), { recursive: true });
for (const name of readdirSync(glueDir)) copyFileSync(join(glueDir, name), join(dist, 'wasm', name));

// What a page downloads: every .js of the package plus the .wasm (not maps or .d.ts).
const shipped = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.js') || name.endsWith('.wasm')) shipped.push(path);
  }
})(dist);
let raw = 0;
let gz = 0;
for (const path of shipped) {
  const bytes = readFileSync(path);
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
const wasmBytes = statSync(join(dist, 'wasm', 'hearth_bg.wasm')).size;
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;
console.log(
  `build: ${relative(repo, dist)}/ ready: ${shipped.length} files, ${mib(raw)} raw, ${mib(gz)} gzip -9` +
    ` (wasm ${mib(wasmBytes)} raw)`,
);

// The hls.js files committed under web/vendor/hls.js/ are exactly the ones of the
// version package-lock.json pins: the server embeds web/ at compile time and is built
// without npm, so a stale copy would ship silently. Fix a failure with `npm run vendor`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { FILES, SOURCE_DIR, TARGET_DIR } from '../scripts/vendor-hls.mjs';

const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readJson = async (file) => JSON.parse(await readFile(path.join(clientDir, file), 'utf8'));

test('hls.js is pinned to one exact version in package.json, package-lock.json and node_modules', async () => {
  const pkg = await readJson('package.json');
  const lock = await readJson('package-lock.json');
  const pinned = pkg.dependencies['hls.js'];
  assert.match(pinned, /^\d+\.\d+\.\d+$/, 'package.json must pin hls.js exactly (npm install hls.js@X --save-exact)');
  assert.equal(lock.packages['']?.dependencies?.['hls.js'], pinned, 'package-lock.json is out of date: npm install');
  assert.equal(lock.packages['node_modules/hls.js']?.version, pinned);
  const installed = await readJson('node_modules/hls.js/package.json');
  assert.equal(installed.version, pinned, 'node_modules differs from package-lock.json: npm ci');
});

test('web/vendor/hls.js/ holds exactly the installed files, byte for byte', async () => {
  const present = (await readdir(TARGET_DIR)).sort();
  assert.deepEqual(present, FILES.map((f) => path.basename(f)).sort(), 'run npm run vendor');
  for (const file of FILES) {
    const [want, got] = await Promise.all([readFile(path.join(SOURCE_DIR, file)), readFile(path.join(TARGET_DIR, path.basename(file)))]);
    assert.ok(want.equals(got), `web/vendor/hls.js/${path.basename(file)} differs from node_modules/hls.js/${file}: run npm run vendor`);
  }
});

test('the vendored module announces the locked version', async () => {
  const lock = await readJson('package-lock.json');
  const version = lock.packages['node_modules/hls.js'].version;
  const module = await readFile(path.join(TARGET_DIR, 'hls.min.mjs'), 'utf8');
  // hls.js keeps its version in a string constant that becomes `Hls.version`.
  assert.ok(module.includes(`"${version}"`), `web/vendor/hls.js/hls.min.mjs is not hls.js ${version}`);
});

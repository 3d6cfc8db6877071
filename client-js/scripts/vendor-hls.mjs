// vendor-hls.mjs — copy hls.js from node_modules into web/vendor/hls.js/.
//
// The pages are plain ES modules embedded into the server binary at compile time
// (api/src/web.rs, include_dir!), and the server is built without npm: so the hls.js
// files a page loads are committed under web/vendor/. Run `npm run vendor` after
// changing the hls.js version in package.json (npm install hls.js@X --save-exact);
// tests/vendor.test.mjs fails until the committed copy matches node_modules again.
//
//   hls.min.mjs    the ES-module build, imported by web/js/player.js
//   hls.worker.js  the transmuxer worker, loaded through `workerPath`: the pages' CSP
//                  (script-src 'self') forbids the blob: worker hls.js makes otherwise
//   LICENSE        Apache-2.0, which asks for the licence to travel with the code

import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the package is installed, where its copy goes, and which files make the copy. */
export const SOURCE_DIR = path.join(clientDir, 'node_modules', 'hls.js');
export const TARGET_DIR = path.join(clientDir, 'web', 'vendor', 'hls.js');
export const FILES = ['dist/hls.min.mjs', 'dist/hls.worker.js', 'LICENSE'];

/** Replace the vendored copy with the installed package's files. */
export async function vendor() {
  await mkdir(TARGET_DIR, { recursive: true });
  // Start from an empty folder so a file dropped from FILES does not linger.
  for (const name of await readdir(TARGET_DIR)) await rm(path.join(TARGET_DIR, name), { recursive: true });
  for (const file of FILES) {
    await copyFile(path.join(SOURCE_DIR, file), path.join(TARGET_DIR, path.basename(file)));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await vendor();
    console.log(`vendor-hls: copied ${FILES.join(', ')} to ${path.relative(clientDir, TARGET_DIR)}/`);
  } catch (err) {
    console.error(`vendor-hls: ${err.message} (run npm ci first)`);
    process.exitCode = 1;
  }
}

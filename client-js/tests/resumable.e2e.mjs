// End-to-end: a multipart upload of a file over 200 MB driven from Chromium through the
// upload page, interrupted by a page reload at about half way and resumed by choosing
// the same file again. Proves that the page says it resumes, that no part finished
// before the reload is sent again, and that the stored object's SHA-256 equals the file's.
//
//   MYVID_BIN=/path/to/myvid npm run test:resumable
//
// Against the embedded store by default (the object is read from the server's data
// directory). Parameters (environment):
//   RESUMABLE_FILE_BYTES    size of the generated file (default 200 MiB + 12345 bytes)
//   RESUMABLE_PART_BYTES    uploads.part_size (default 8 MiB)
//   RESUMABLE_SERVER_ENV    JSON object of extra server environment, e.g. an S3 store:
//                           {"MYVID_OBJECTS__BACKEND":"s3","MYVID_OBJECTS__ENDPOINT":"http://127.0.0.1:7480",…}
//   RESUMABLE_OBJECT_READER a shell command that writes the staged object to stdout, with
//                           {key} replaced by its key in the staging bucket (needed with S3,
//                           e.g. `aws --endpoint-url … s3 cp s3://myvid-staging/{key} -`)
//   RESUMABLE_UPLOAD_BPS    throttle the browser's uploads to this many bytes per second
//                           (default 50 MB/s: a few seconds for the file, so that the reload
//                           comes about half way and the page has measured its speed by then,
//                           even where loopback runs at 200 MB/s; 0: no throttle)
//
// Screenshots and the server log go to test-artifacts/resumable-*.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from './support/server.mjs';
import { launchBrowser } from './support/browser.mjs';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const MIB = 1024 * 1024;
const FILE_BYTES = Number(process.env.RESUMABLE_FILE_BYTES || 200 * MIB + 12345);
const PART_BYTES = Number(process.env.RESUMABLE_PART_BYTES || 8 * MIB);
const SERVER_ENV = process.env.RESUMABLE_SERVER_ENV ? JSON.parse(process.env.RESUMABLE_SERVER_ENV) : {};
const OBJECT_READER = process.env.RESUMABLE_OBJECT_READER || '';
const UPLOAD_BPS = Number(process.env.RESUMABLE_UPLOAD_BPS ?? 50e6);
/** A part PUT: `part=` on the embedded store's URLs, `partNumber=` on S3's. */
const PART_PARAM = /[?&](?:part|partNumber)=(\d+)(?:&|$)/;

/** Writes `bytes` random bytes to `file`; returns their SHA-256 (hex). */
async function randomFile(file, bytes) {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 4 * MIB));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

/** SHA-256 (hex) and length of a stream's bytes. */
async function digest(stream) {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { sha256: hash.digest('hex'), length };
}

/** SHA-256 and length of the staged object `key`, from the data directory or the reader command. */
async function storedObject(dataDir, key) {
  if (!OBJECT_READER) return digest(createReadStream(path.join(dataDir, 'objects', 'staging', key)));
  const child = spawn('sh', ['-c', OBJECT_READER.replaceAll('{key}', key)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const result = await digest(child.stdout);
  assert.equal(await exited, 0, `RESUMABLE_OBJECT_READER failed for ${key}`);
  return result;
}

/** The pending multipart uploads the page keeps in localStorage. */
function pendingRecords(page) {
  return page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('myvid.upload.'))
      .map((k) => JSON.parse(localStorage.getItem(k))),
  );
}

test('a 200 MB upload from Chromium survives a page reload and resumes without re-sending finished parts', { timeout: 600_000 }, async () => {
  assert.ok(FILE_BYTES >= 200 * 1000 * 1000, 'the file is at least 200 MB');
  const dir = await mkdtemp(path.join(tmpdir(), 'myvid-resumable-'));
  const videoPath = path.join(dir, 'big-upload.webm');
  const previewPath = path.join(dir, 'preview.png');
  let server;
  let browser;
  try {
    const fileSha = await randomFile(videoPath, FILE_BYTES);
    await writeFile(previewPath, randomBytes(4096));
    server = await startServer({
      logFile: path.join(ARTIFACTS, 'resumable-server.log'),
      env: {
        MYVID_UPLOADS__PART_SIZE: String(PART_BYTES),
        MYVID_UPLOADS__MULTIPART_THRESHOLD: String(16 * MIB),
        ...SERVER_ENV,
      },
    });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: server.url });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
    let shots = 0;
    const shot = (step) => page.screenshot({ path: path.join(ARTIFACTS, `resumable-${String(++shots).padStart(2, '0')}-${step}.png`), fullPage: true });
    if (UPLOAD_BPS > 0) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: UPLOAD_BPS });
    }

    // Every part PUT, by phase; and the parts whose PUT finished before the reload.
    let phase = 'before';
    const sent = { before: [], after: [] };
    const finishedBefore = new Set();
    page.on('request', (req) => {
      const m = req.method() === 'PUT' && PART_PARAM.exec(req.url());
      if (m) sent[phase].push(Number(m[1]));
    });
    page.on('requestfinished', async (req) => {
      const when = phase;
      const m = req.method() === 'PUT' && PART_PARAM.exec(req.url());
      if (!m) return;
      const res = await req.response();
      if (when === 'before' && res && res.ok()) finishedBefore.add(Number(m[1]));
    });

    try {
      // Sign up; the page lands on upload.html.
      const username = `r_${randomBytes(5).toString('hex')}`;
      await page.goto('/login.html?next=upload.html');
      await page.getByTestId('signup-username').fill(username);
      await page.getByTestId('signup-email').fill(`${username}@example.test`);
      await page.getByTestId('signup-password').fill('correct horse battery');
      await page.getByTestId('signup-submit').click();
      await page.waitForURL(/\/upload\.html$/);
      await page.getByTestId('upload-form').waitFor();

      // Choose the file and start; reload at about half way.
      const title = `Resumable ${username}`;
      await page.getByTestId('upload-title').fill(title);
      await page.getByTestId('upload-preview').setInputFiles(previewPath);
      await page.getByTestId('upload-video').setInputFiles(videoPath);
      await page.getByTestId('upload-submit').click();
      await page.getByTestId('upload-progress').waitFor({ state: 'visible' });
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="video-progress"]')?.value) >= 45, null, {
        timeout: 300_000,
        polling: 20,
      });
      // Reload at once (a screenshot first would let the upload run on meanwhile).
      const [atReload, speed] = await page.evaluate(() => [
        Number(document.querySelector('[data-testid="video-progress"]').value),
        document.querySelector('[data-testid="upload-speed"]').textContent,
      ]);
      phase = 'after';
      await page.reload();
      assert.ok(atReload < 90, `the reload came at ${atReload} %, not about half way (upload too fast? set RESUMABLE_UPLOAD_BPS)`);
      assert.match(speed, /MB\/s · \d+:\d\d left/, 'the page shows speed and time left');

      const [record] = await pendingRecords(page);
      assert.ok(record && record.videoId && record.uploadId, 'the unfinished upload is remembered in localStorage');
      assert.equal(record.size, FILE_BYTES);
      const partCount = Math.ceil(FILE_BYTES / PART_BYTES);
      assert.equal(record.partCount, partCount);
      assert.ok(finishedBefore.size > 0, 'some parts finished before the reload');

      // Choose the same file again: the page recognises it and resumes.
      await page.getByTestId('upload-form').waitFor();
      await page.getByTestId('upload-video').setInputFiles(videoPath);
      await page.getByTestId('resume-notice').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('upload-title').inputValue(), title, 'the title is filled in again');
      await page.getByTestId('upload-preview').setInputFiles(previewPath);
      await page.getByTestId('upload-submit').click();
      const status = page.getByTestId('upload-status');
      await page.waitForFunction(() => /Resuming: \d+% already uploaded/.test(document.querySelector('[data-testid="upload-status"]')?.textContent || ''));
      const resumedAt = Number(/Resuming: (\d+)%/.exec(await status.textContent())[1]);
      assert.ok(resumedAt > 0, `the resumed upload starts from what was stored (${resumedAt} %)`);
      await shot('resuming');

      const errorBox = page.getByTestId('upload-error');
      await Promise.race([
        page.waitForFunction(() => /upload complete/i.test(document.querySelector('[data-testid="upload-status"]')?.textContent || ''), null, {
          timeout: 300_000,
        }),
        errorBox.waitFor({ state: 'visible', timeout: 300_000 }).then(async () => {
          throw new Error(`the resumed upload failed on the page: ${await errorBox.textContent()}`);
        }),
      ]);
      await shot('complete');
      assert.equal(await page.getByTestId('video-progress-text').textContent(), '100%');

      const resent = sent.after.filter((n) => finishedBefore.has(n));
      assert.deepEqual(resent, [], `parts finished before the reload were sent again: ${resent.join(', ')}`);
      assert.ok(sent.after.length < partCount, `after the reload ${sent.after.length} of ${partCount} parts were sent`);
      const covered = new Set([...sent.before, ...sent.after]);
      assert.equal(covered.size, partCount, 'every part was sent before or after the reload');
      assert.deepEqual(await pendingRecords(page), [], 'a completed upload is forgotten');

      const stored = await storedObject(server.dataDir, `${record.videoId}/video`);
      assert.equal(stored.length, FILE_BYTES, 'the stored object has the file size');
      assert.equal(stored.sha256, fileSha, "the stored object's SHA-256 equals the file's");
      assert.deepEqual(pageErrors, [], 'no uncaught errors on the page');
      console.log(
        `# reload at ${atReload} %, resumed at ${resumedAt} %; parts: ${partCount}, ` +
          `${finishedBefore.size} finished before the reload, ${sent.after.length} sent after`,
      );
    } catch (err) {
      await shot('FAILED').catch(() => {});
      throw err;
    } finally {
      await context.close();
    }
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

// MyVid on a real erasure-coded S3 store (Ceph RGW, EC k=4 m=2 over six OSDs, started by
// the project's scripts/ceph/up.sh on free ports) with Debian's Chromium, while OSDs fail:
//
// 1. Two of six OSDs are killed while one page plays a 6 MB video from the store and
//    another uploads a 96 MiB file to it (both pages bandwidth-limited so that both are
//    still transferring when the OSDs die): the playback reaches its end, the upload
//    completes, and the stored object's SHA-256 equals the file's. A watch page opened
//    with the two OSDs down plays too.
// 2. A third OSD is killed: the server notices within its probe period plus timeouts,
//    the upload page shows a clear "storage is not answering" error at once instead of
//    handing out URLs to a store that hangs, and search still answers.
// 3. The OSDs come back: MyVid notices by itself and an upload works again.
// 4. The resumable-upload scenario (tests/resumable.e2e.mjs: a 200 MiB multipart upload
//    from Chromium, interrupted by a page reload and resumed; SHA-256 of the stored
//    object equals the file's) runs against this store, as a child test run.
//
// 5. A 12 s Chromium broadcast (all OSDs up again) is recorded into the store: its
//    recording is a video served from the S3 store that ffmpeg decodes without a word.
//
//   MYVID_BIN=/path/to/myvid npm run test:s3

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { assertDecodesSilently } from '../support/media.mjs';
import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { startS3Store } from '../support/ceph.mjs';
import { ARTIFACTS, apiJson, livePages, sleep, uniqueWord, waitForRecording } from '../support/live-pages.mjs';

const run = promisify(execFile);
const BIG_UPLOAD = 96 << 20;
/** The uploader's bandwidth (Chromium's network emulation), so that the upload is still
 * running when the OSDs die: ~8 s. */
const UPLOAD_BYTES_PER_SEC = 12 << 20;
/** The server's per-attempt and per-call S3 timeouts. */
const ATTEMPT_MS = 3_000;
const OPERATION_MS = 6_000;

async function ffmpeg(args, cwd) {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, timeout: 120_000 });
}

async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** SHA-256 of an object read straight from the store with a signed GET (curl's sigv4). */
async function sha256Stored(store, bucket, key) {
  const { stdout } = await run(
    'bash',
    [
      '-c',
      'curl -sf --max-time 60 --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEYS" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$URL" | sha256sum',
    ],
    { env: { ...process.env, REGION: store.region, KEYS: `${store.accessKey}:${store.secretKey}`, URL: `${store.endpoint}/${bucket}/${key}` }, timeout: 90_000 },
  );
  return stdout.split(' ')[0];
}

async function health(url) {
  const res = await apiJson(url, 'GET', '/healthz');
  return res.json;
}

async function waitForState(url, state, timeoutMs) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const h = await health(url).catch(() => null);
    if (h?.objects?.state === state) return Date.now() - started;
    await sleep(250);
  }
  throw new Error(`the server never reported the object store ${state} within ${timeoutMs} ms`);
}

describe('uploads and playback on an erasure-coded S3 store while OSDs fail', () => {
  let store;
  let server;
  let browser;
  let dir;
  let token;
  let user;
  let videoId;
  const files = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'myvid-s3-e2e-'));
    [store] = await Promise.all([
      startS3Store(),
      // 40 s at 2 Mbit/s: Chromium buffers about 10 s ahead, so it keeps reading from the
      // store while the clip plays.
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=40:size=640x360:rate=25', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '2M', '-minrate', '2M', '-maxrate', '2M', 'clip.webm'], dir),
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', 'preview.png'], dir),
      writeFile(path.join(dir, 'big.bin'), randomBytes(BIG_UPLOAD)),
    ]);
    Object.assign(files, { clip: path.join(dir, 'clip.webm'), preview: path.join(dir, 'preview.png'), big: path.join(dir, 'big.bin') });
    server = await startServer({ logFile: path.join(ARTIFACTS, 's3-faults-server.log'), env: s3Env() });
    browser = await launchBrowser();
    const name = uniqueWord('s3_').slice(0, 14);
    const signup = await apiJson(server.url, 'POST', '/v1/auth/signup', { username: name, email: `${name}@example.test`, password: 'correct horse battery' });
    assert.equal(signup.status, 201, signup.text);
    ({ token, user } = signup.json);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await store?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The server environment that puts its objects on the test store. */
  function s3Env() {
    return {
      MYVID_OBJECTS__BACKEND: 's3',
      MYVID_OBJECTS__ENDPOINT: store.endpoint,
      MYVID_OBJECTS__REGION: store.region,
      MYVID_OBJECTS__PATH_STYLE: 'true',
      MYVID_OBJECTS__CORS_ORIGINS: '["http://127.0.0.1:*"]',
      MYVID_OBJECTS__ATTEMPT_TIMEOUT_MS: String(ATTEMPT_MS),
      MYVID_OBJECTS__OPERATION_TIMEOUT_MS: String(OPERATION_MS),
      MYVID_OBJECTS__MAX_ATTEMPTS: '1',
      MYVID_UPLOADS__MAX_VIDEO_BYTES: String(256 << 20),
      AWS_ACCESS_KEY_ID: store.accessKey,
      AWS_SECRET_ACCESS_KEY: store.secretKey,
    };
  }

  /** A page of the server with the test user logged in (at `bytesPerSec` each way if given). */
  async function loggedInPage(name, bytesPerSec) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    await context.addInitScript(([t, u]) => {
      localStorage.setItem('myvid.token', t);
      localStorage.setItem('myvid.user', JSON.stringify(u));
    }, [token, user]);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    if (bytesPerSec) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: bytesPerSec, uploadThroughput: bytesPerSec });
    }
    const shot = (step) => page.screenshot({ path: path.join(ARTIFACTS, `s3-${name}-${step}.png`) }).catch(() => {});
    return { context, page, shot };
  }

  /** Fills the upload form and submits it; returns the page's error box and status line. */
  async function startUpload(page, title, video) {
    await page.goto(new URL('/upload.html', server.url).href);
    await page.getByTestId('upload-title').fill(title);
    await page.getByTestId('upload-preview').setInputFiles(files.preview);
    await page.getByTestId('upload-video').setInputFiles(video);
    await page.getByTestId('upload-submit').click();
  }

  async function uploadFinished(page, timeout) {
    const errorBox = page.getByTestId('upload-error');
    await Promise.race([
      page.waitForFunction(() => /upload complete/i.test(document.querySelector('[data-testid="upload-status"]')?.textContent || ''), null, { timeout }),
      errorBox.waitFor({ state: 'visible', timeout }).then(async () => {
        throw new Error(`the upload failed on the page: ${await errorBox.textContent()}`);
      }),
    ]);
  }

  async function watch(page, id) {
    await page.goto(new URL(`/watch.html?v=${id}`, server.url).href);
    const player = page.getByTestId('video-player');
    await player.waitFor();
    const err = await player.evaluate(async (v) => {
      v.muted = true;
      try {
        await v.play();
        return null;
      } catch (e) {
        return String(e);
      }
    });
    assert.equal(err, null, 'the video plays');
    return player;
  }

  test('two OSDs die during playback and an upload: both complete', { timeout: 300_000 }, async () => {
    const uploader = await loggedInPage('uploader', UPLOAD_BYTES_PER_SEC);
    const viewer = await loggedInPage('viewer');
    // no HTTP cache: every play below reads from the store
    const viewerCdp = await viewer.context.newCDPSession(viewer.page);
    await viewerCdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const storeReads = [];
    viewer.page.on('response', (res) => {
      if (res.url().startsWith(store.endpoint)) storeReads.push({ at: Date.now(), status: res.status() });
    });
    try {
      // A published video, stored on S3.
      await startUpload(uploader.page, `S3 playback ${uniqueWord('w')}`, files.clip);
      await uploadFinished(uploader.page, 60_000);
      await uploader.page.getByTestId('publish-button').click();
      await uploader.page.getByTestId('watch-link').waitFor({ state: 'visible', timeout: 60_000 });
      videoId = new URL(await uploader.page.getByTestId('watch-link').getAttribute('href'), server.url).searchParams.get('v');
      const src = (await apiJson(server.url, 'GET', `/API/VIDEO/${videoId}`)).json.url;
      assert.ok(src.startsWith(store.endpoint), `playback comes from the store: ${src}`);

      // Playback and a 64 MiB upload run; two OSDs are killed meanwhile.
      const player = await watch(viewer.page, videoId);
      await player.evaluate((v) => { v.playbackRate = 2; });
      await startUpload(uploader.page, `S3 big upload ${uniqueWord('w')}`, files.big);
      await uploader.page.waitForFunction(() => document.querySelector('[data-testid="video-progress"]')?.value >= 5, null, { timeout: 60_000 });
      await store.killOsd(0);
      await store.killOsd(1);
      const killedAt = Date.now();
      await uploader.shot('two-osds-down');
      // Both were still running when the second OSD was down.
      const uploaded = await uploader.page.getByTestId('video-progress').evaluate((bar) => bar.value);
      assert.ok(uploaded < 100, `the upload was still running when the OSDs died (${uploaded} %)`);
      const fetched = await player.evaluate((v) => (v.buffered.length ? v.buffered.end(v.buffered.length - 1) / v.duration : 0));
      console.log(`# two OSDs down with the upload at ${uploaded} % and the video ${Math.round(fetched * 100)} % downloaded`);

      await player.evaluate((v) => new Promise((resolve, reject) => {
        if (v.ended) resolve();
        v.addEventListener('ended', resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}`)), { once: true });
      }));
      // (Chromium may have buffered the whole clip before the kill: reads with the OSDs
      // down are proven by the fresh page below.)
      const readsDuringFault = storeReads.filter((r) => r.at > killedAt);
      assert.ok(readsDuringFault.every((r) => r.status === 200 || r.status === 206), `reads answered: ${JSON.stringify(readsDuringFault)}`);
      await uploadFinished(uploader.page, 180_000);
      await uploader.shot('uploaded-with-two-osds-down');

      // The stored upload is the file, byte for byte.
      const mine = await (await fetch(new URL('/v1/me/videos', server.url), { headers: { Authorization: `Bearer ${token}` } })).json();
      const staged = mine.items.find((v) => v.title.startsWith('S3 big upload'));
      assert.ok(staged, `the upload is among my videos: ${JSON.stringify(mine).slice(0, 500)}`);
      assert.equal(await sha256Stored(store, 'myvid-staging', `${staged.id}/video`), await sha256File(files.big));

      // A page opened now plays from the degraded store too: it must read from it.
      const freshFrom = Date.now();
      const again = await watch(viewer.page, videoId);
      await again.evaluate((v) => { v.playbackRate = 4; });
      await again.evaluate((v) => new Promise((resolve, reject) => {
        if (v.ended) resolve();
        v.addEventListener('ended', resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}`)), { once: true });
      }));
      const freshReads = storeReads.filter((r) => r.at >= freshFrom);
      assert.ok(freshReads.length > 0, 'the fresh page read the video from the store with two OSDs down');
      assert.ok(freshReads.every((r) => r.status === 200 || r.status === 206), `reads answered: ${JSON.stringify(freshReads)}`);
    } finally {
      await uploader.context.close();
      await viewer.context.close();
    }
  });

  test('a third OSD stops writes with a clear error; search answers; recovery is automatic', { timeout: 300_000 }, async () => {
    const uploader = await loggedInPage('third');
    try {
      await store.killOsd(2);
      // The server's probe finds the store unavailable (a probe is a write bounded by the
      // S3 timeouts, every 10 s)...
      const noticedDown = await waitForState(server.url, 'unavailable', 10_000 + 2 * OPERATION_MS + 10_000);
      const h = await health(server.url);
      assert.equal(h.status, 'degraded');
      // ...and a new upload is refused at once, with a clear message on the page.
      const started = Date.now();
      await startUpload(uploader.page, `S3 refused ${uniqueWord('w')}`, files.clip);
      const errorBox = uploader.page.getByTestId('upload-error');
      await errorBox.waitFor({ state: 'visible', timeout: 5_000 });
      assert.match(await errorBox.textContent(), /storage/i, 'the page says the storage is the problem');
      const took = Date.now() - started;
      await uploader.shot('third-osd-refused');
      console.log(`# third OSD down: noticed after ${noticedDown} ms; the upload page showed the error ${took} ms after submitting`);

      const t0 = Date.now();
      const found = await apiJson(server.url, 'GET', '/v1/videos?q=playback');
      assert.equal(found.status, 200);
      assert.ok(found.json.items.some((v) => v.id === videoId), 'search still finds the stored video');
      assert.ok(Date.now() - t0 < 2_000, 'search answers at once');

      for (const n of [2, 1, 0]) await store.restartOsd(n);
      const noticed = await waitForState(server.url, 'writable', 90_000);
      console.log(`# OSDs back: the server reported the store writable ${noticed} ms later`);
      await startUpload(uploader.page, `S3 after recovery ${uniqueWord('w')}`, files.clip);
      await uploadFinished(uploader.page, 60_000);
    } finally {
      await uploader.context.close();
    }
  });

  test('a 200 MiB multipart upload from Chromium to the store survives a reload', { timeout: 300_000 }, async () => {
    const tests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const env = {
      ...process.env,
      RESUMABLE_SERVER_ENV: JSON.stringify(s3Env()),
      // the staged object, read straight from the store with a signed GET
      RESUMABLE_OBJECT_READER: `curl -sf --max-time 120 --aws-sigv4 'aws:amz:${store.region}:s3' --user '${store.accessKey}:${store.secretKey}' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' '${store.endpoint}/myvid-staging/{key}'`,
      // radosgw on loopback takes 200 MiB in about 2 s: slow the page down so that the
      // reload comes half way
      RESUMABLE_UPLOAD_BPS: String(20 << 20),
    };
    // run as a plain script (node:test runs its tests and sets the exit code), not nested
    // under this runner, which would skip it
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [path.join(tests, 'resumable.e2e.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the resumable upload failed on S3:\n${output.slice(-4000)}`);
    const summary = output.split('\n').find((l) => l.includes('reload at'));
    assert.ok(summary, `the scenario ran and reported its reload:\n${output.slice(-4000)}`);
    console.log(`on S3: ${summary.replace(/^[#\\ ]+/, '')}`);
  });

  test('a live broadcast is recorded into the S3 store', { timeout: 180_000 }, async () => {
    const pages = livePages({ browser, baseUrl: () => server.url, prefix: 's3-recording' });
    const b = await pages.openPage('broadcaster');
    try {
      const id = await pages.startBroadcast(b, `S3 recording ${uniqueWord('zs')}`, 'segments on erasure-coded storage');
      await sleep(12_000);
      await b.page.getByTestId('stop-live').click();
      const video = await waitForRecording(server.url, id);
      assert.ok(video.url.startsWith(store.endpoint), `served from the S3 store: ${video.url.slice(0, 80)}`);
      assertDecodesSilently(video.url);
      console.log(`# recording on S3: ${video.duration_seconds} s`);
      assert.ok(video.duration_seconds >= 10, `the recording holds the broadcast: ${video.duration_seconds} s`);
    } finally {
      await pages.closeAll();
    }
  });
});

// End-to-end test of web/js/player.js in Debian's Chromium, without the MyVid server:
// hls.js (the vendored copy) plays a two-rung fMP4 H.264/AAC ladder made here by
// ffmpeg, the quality menu forces each rung and the decoded frames change size, and a
// stream that cannot load falls back to the original file.
//
//   npm run test:hls
//
// A small node http server (port 0) serves client-js/web and the media under the
// same Content-Security-Policy as the real server (api/src/web.rs PAGE_CSP), so the
// dynamic import of hls.js and its same-origin worker are checked against it too.
// Screenshots of failures go to test-artifacts/hls-player-*.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launchBrowser } from './support/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '../web');
const ARTIFACTS = path.resolve(HERE, '../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** The real server's page CSP (api/src/web.rs `PAGE_CSP`). */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; " +
  "media-src 'self' blob: http: https:; connect-src 'self' http: https: ws: wss:; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** How long one step (a level switch showing in the frames, a fallback) may take. */
const STEP_MS = 20_000;

/** The clip: long enough that both forced switches happen well before its end. */
const CLIP_SECONDS = 24;

const run = promisify(execFile);

async function ffmpeg(args, cwd) {
  try {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { cwd, timeout: 120_000 });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('ffmpeg is not installed (apt-get install -y --no-install-recommends ffmpeg).');
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/**
 * In `dir`: `master.m3u8` over `480p/` (640×480) and `360p/` (480×360), H.264 + AAC in
 * fMP4, a keyframe every 2 s (15 fps, GOP 30) so segments are 2 s; and `original.mp4`.
 */
async function makeMedia(dir) {
  const input = ['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(CLIP_SECONDS)];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0'];
  await ffmpeg(
    [
      ...input,
      '-filter_complex', '[0:v]split=2[big][in];[in]scale=480:360[small]',
      '-map', '[big]', '-map', '[small]', '-map', '1:a', '-map', '1:a',
      ...h264,
      '-b:v:0', '900k', '-b:v:1', '450k',
      '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
      '-hls_segment_filename', '%v/seg%d.m4s',
      '-master_pl_name', 'master.m3u8',
      '-var_stream_map', 'v:0,a:0,name:480p v:1,a:1,name:360p',
      '%v/index.m3u8',
    ],
    dir,
  );
  await ffmpeg([...input, ...h264, '-c:a', 'aac', '-movflags', '+faststart', 'original.mp4'], dir);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
};

/** The test page: a video element and a place for the menu; the script is a file (CSP). */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hls player test</title>
<link rel="stylesheet" href="/style.css">
<script type="module" src="/hls-test.js"></script></head>
<body><div class="player-wrap"><video id="player" muted playsinline data-testid="video-player"></video></div>
<div id="controls" class="player-controls"></div></body></html>`;

/**
 * The page's script: play `?hls=…&url=…` with playVod, keep every level switch and
 * fallback in `window.__events`.
 */
const PAGE_SCRIPT = `import { playVod } from '/js/player.js';
const params = new URLSearchParams(location.search);
const element = document.getElementById('player');
window.__events = [];
window.__playback = playVod({
  video: { url: params.get('url'), hls_url: params.get('hls') },
  element,
  menuParent: document.getElementById('controls'),
  onLevel: (level) => window.__events.push({ type: 'level', ...level }),
  onFallback: (reason) => window.__events.push({ type: 'fallback', reason }),
}).then((p) => {
  window.__engine = p.engine;
  element.play().catch((err) => window.__events.push({ type: 'play-error', message: String(err) }));
  return p;
});
`;

/** Serve client-js/web at `/`, the media under `/media/`, the test page, all with the CSP. */
function startStatic(mediaDir) {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (pathname === '/hls-test.html') return send(200, TYPES['.html'], PAGE);
    if (pathname === '/hls-test.js') return send(200, TYPES['.js'], PAGE_SCRIPT);
    const [root, rel] = pathname.startsWith('/media/') ? [mediaDir, pathname.slice('/media/'.length)] : [WEB, pathname.slice(1)];
    const file = path.resolve(root, decodeURIComponent(rel));
    if (!file.startsWith(root + path.sep)) return send(403, 'text/plain', 'forbidden');
    try {
      const body = await readFile(file);
      send(200, TYPES[path.extname(file)] || 'application/octet-stream', body);
    } catch {
      send(404, 'text/plain', 'not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Resolves once the page's video has decoded a frame `width` pixels wide. */
function waitForFrameWidth(page, width) {
  return page.waitForFunction(
    (w) =>
      new Promise((resolve) => {
        const v = document.getElementById('player');
        // One rendered frame at a time; the page function is re-run on timeouts only.
        const check = () => (v.videoWidth === w && !v.paused ? resolve(true) : v.requestVideoFrameCallback(check));
        v.requestVideoFrameCallback(check);
      }),
    width,
    { timeout: STEP_MS },
  );
}

let mediaDir;
let server;
let base;
let browser;

before(async () => {
  mediaDir = await mkdtemp(path.join(tmpdir(), 'myvid-hls-e2e-'));
  await makeMedia(mediaDir);
  server = await startStatic(mediaDir);
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await new Promise((r) => server.close(r));
  if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
});

/** A fresh page that records page errors, CSP violations and requests. */
async function openPage(name) {
  const context = await browser.newContext({ viewport: { width: 960, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const problems = [];
  const requests = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err && err.stack ? err.stack : err}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
  });
  page.on('request', (req) => requests.push(new URL(req.url()).pathname));
  const run = async (fn) => {
    try {
      await fn();
    } catch (err) {
      await page.screenshot({ path: path.join(ARTIFACTS, `hls-player-${name}-FAILED.png`) }).catch(() => {});
      const state = await page
        .evaluate(() => {
          const v = document.getElementById('player');
          const menu = document.querySelector('[data-testid="quality"]');
          return { events: window.__events, engine: window.__engine, currentTime: v.currentTime, paused: v.paused, videoWidth: v.videoWidth, level: v.dataset.level, menu: menu && menu.outerHTML };
        })
        .catch((e) => String(e));
      err.message += `\npage state: ${JSON.stringify(state)}\nproblems: ${JSON.stringify(problems)}`;
      throw err;
    } finally {
      await context.close();
    }
  };
  return { page, problems, requests, run };
}

test('hls.js plays the ladder and the quality menu switches rungs', async () => {
  const { page, problems, requests, run } = await openPage('switch');
  await run(async () => {
    await page.goto(`${base}/hls-test.html?hls=/media/master.m3u8&url=/media/original.mp4`);
    // The renditions are H.264 High/Main/Baseline + AAC-LC: Debian's Chromium takes them
    // through MSE (upstream Chromium builds without proprietary codecs would not).
    const mse = await page.evaluate(() =>
      ['avc1.64001e,mp4a.40.2', 'avc1.4d401e,mp4a.40.2', 'avc1.42e01e,mp4a.40.2'].filter((c) => !MediaSource.isTypeSupported(`video/mp4; codecs="${c}"`)),
    );
    assert.deepEqual(mse, [], 'MSE lacks H.264/AAC for these codecs');
    await page.waitForFunction(() => window.__engine !== undefined);
    assert.equal(await page.evaluate(() => window.__engine), 'hls.js');
    await page.waitForFunction(() => {
      const v = document.getElementById('player');
      return !v.paused && v.currentTime > 0 && v.videoWidth > 0;
    });
    assert.equal(await page.evaluate(() => window.__myvidHls.levels.length), 2);
    // The worker came from the vendored file (the CSP forbids a blob: worker).
    assert.ok(requests.includes('/vendor/hls.js/hls.worker.js'), `hls.worker.js was requested: ${requests.join(' ')}`);

    const select = page.getByTestId('quality');
    assert.deepEqual(await select.locator('option').allTextContents().then((t) => t.slice(1)), ['480p', '360p']);
    assert.equal(await page.getByLabel('Quality').getAttribute('data-testid'), 'quality', 'the menu has an accessible label');
    // In Auto the first entry names the rung hls.js chose.
    await page.waitForFunction(() => /^Auto \(\d+p\)$/.test(document.querySelector('[data-testid="quality"] option').textContent));

    // Auto may already play 480p, so forcing it need not switch anything; forcing 360p
    // after it always does, and must show as a manual LEVEL_SWITCHED.
    for (const [label, width, height] of [['480p', 640, '480'], ['360p', 480, '360']]) {
      const switchesBefore = await page.evaluate(() => window.__events.length);
      await select.selectOption({ label });
      const index = Number(await select.inputValue());
      await page.waitForFunction((i) => window.__myvidHls.currentLevel === i, index);
      await waitForFrameWidth(page, width);
      await page.waitForFunction((h) => document.getElementById('player').dataset.level === h, height);
      if (label === '360p') {
        const switched = (await page.evaluate(() => window.__events)).slice(switchesBefore);
        assert.ok(switched.some((e) => e.type === 'level' && e.index === index && !e.automatic), `a manual switch to 360p: ${JSON.stringify(switched)}`);
      }
      assert.equal(await select.locator('option').first().textContent(), 'Auto', 'no rung named while the viewer chooses');
    }

    // Back to Auto: hls.js chooses again, and the first entry says what it plays.
    await select.selectOption('-1');
    assert.equal(await page.evaluate(() => window.__myvidHls.autoLevelEnabled), true);
    assert.match(await select.locator('option').first().textContent(), /^Auto \(\d+p\)$/);
    const playedTo = await page.evaluate(() => document.getElementById('player').currentTime);
    await page.waitForFunction((t) => document.getElementById('player').currentTime > t + 0.5, playedTo);
    assert.deepEqual(problems, []);
    assert.equal((await page.evaluate(() => window.__events)).filter((e) => e.type !== 'level').length, 0);
  });
});

test('a stream that cannot be loaded falls back to the original file', async () => {
  const { page, problems, run } = await openPage('fallback');
  await run(async () => {
    await page.goto(`${base}/hls-test.html?hls=/media/missing/master.m3u8&url=/media/original.mp4`);
    await page.waitForFunction(() => window.__events.some((e) => e.type === 'fallback'));
    const fallback = (await page.evaluate(() => window.__events)).find((e) => e.type === 'fallback');
    assert.match(fallback.reason, /^networkError: manifestLoadError$/);
    await page.waitForFunction(() => (document.getElementById('player').currentSrc || '').endsWith('/media/original.mp4'));
    await page.evaluate(() => document.getElementById('player').play());
    await waitForFrameWidth(page, 640);
    assert.equal(await page.evaluate(() => window.__myvidHls), null, 'the hls.js instance is gone');
    assert.equal(await page.getByTestId('quality').count(), 0, 'no quality menu without hls.js');
    assert.deepEqual(problems, []);
  });
});

test('without an HLS URL the original file plays', async () => {
  const { page, problems, run } = await openPage('original');
  await run(async () => {
    await page.goto(`${base}/hls-test.html?url=/media/original.mp4`);
    await page.waitForFunction(() => window.__engine !== undefined);
    assert.equal(await page.evaluate(() => window.__engine), 'original');
    await waitForFrameWidth(page, 640);
    assert.equal(await page.evaluate(() => window.__myvidHls), undefined, 'hls.js was never loaded');
    assert.deepEqual(problems, []);
  });
});

// ---------------------------------------------------------------------------
// The watch page, with the API answered by the test (page.route): the transcoding
// badge, the switch to HLS, the owner's failure note.
// ---------------------------------------------------------------------------

/** A stored video as `GET /API/VIDEO/{id}` gives it. */
function storedVideo(fields) {
  return {
    id: 'vid1',
    title: 'Test pattern',
    description: '',
    type: 'HTTP',
    source: 'MYVID',
    url: `${base}/media/original.mp4`,
    preview_url: null,
    owner: 'alice',
    visibility: 'public',
    duration_seconds: CLIP_SECONDS,
    created_at: 1_700_000_000,
    published_at: 1_700_000_000,
    ...fields,
  };
}

/**
 * Answer the page's API calls: the video from `state.video`, its transcoding status
 * from `state.status`, `/v1/me` as `state.user`. Counts the status requests.
 */
async function fakeApi(page, state) {
  state.statusRequests = 0;
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  await page.route(/\/API\/VIDEO\/vid1$/, (route) => json(route, 200, state.video));
  await page.route(/\/v1\/videos\/vid1\/transcode$/, (route) => {
    state.statusRequests += 1;
    return json(route, 200, state.status);
  });
  await page.route(/\/v1\/me$/, (route) => json(route, 200, state.user));
}

/** Log the page in as `username` (the SDK keeps the session in localStorage). */
async function logInAs(page, state, username) {
  state.user = { id: 1, username, email: `${username}@example.test` };
  await page.addInitScript((user) => {
    localStorage.setItem('myvid.token', 'test-token');
    localStorage.setItem('myvid.user', JSON.stringify(user));
  }, state.user);
}

test('watch page: the original plays while processing, then the viewer switches to HLS', async () => {
  const { page, problems, run } = await openPage('watch-processing');
  await run(async () => {
    const state = {
      video: storedVideo({ transcode: 'processing' }),
      status: { state: 'TRANSCODING', percent: 42.7, renditions: [], error: null },
    };
    await fakeApi(page, state);
    await page.goto(`${base}/watch.html?v=vid1`);
    const badge = page.getByTestId('transcode-badge');
    await badge.getByText('Processing 42 % — playing the original').waitFor();
    assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'original');
    assert.equal(await page.evaluate(() => document.getElementById('player').currentSrc), `${base}/media/original.mp4`);
    await page.evaluate(() => {
      const v = document.getElementById('player');
      v.muted = true;
      return v.play();
    });
    await waitForFrameWidth(page, 640);

    // Ready: the page offers the switch at its next poll (every 5 s), never switches by itself.
    const polls = state.statusRequests;
    state.status = { state: 'READY', percent: null, renditions: [], error: null };
    state.video = storedVideo({ transcode: 'ready', hls_url: `${base}/media/master.m3u8` });
    const button = page.getByTestId('transcode-switch');
    await button.waitFor();
    assert.ok(state.statusRequests > polls);
    assert.match(await badge.textContent(), /Higher quality is ready/);
    assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'original', 'no switch before the click');

    const before = await page.evaluate(() => document.getElementById('player').currentTime);
    await button.click();
    await badge.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'hls.js');
    // The levels are known once hls.js has parsed the master playlist (the menu appears then).
    await page.getByTestId('quality').waitFor();
    assert.equal(await page.evaluate(() => window.__myvidHls.levels.length), 2);
    // It carries on from where it was, still playing.
    await page.waitForFunction((t) => {
      const v = document.getElementById('player');
      return !v.paused && v.videoWidth > 0 && v.currentTime > t;
    }, before);
    const polled = state.statusRequests;
    assert.deepEqual(problems, []);
    assert.equal(await page.getByTestId('player-error').count(), 0);
    assert.equal(state.statusRequests, polled, 'polling stopped once ready');
  });
});

test('watch page: the owner is told why transcoding failed and offered a new upload', async () => {
  const { page, problems, run } = await openPage('watch-failed-owner');
  await run(async () => {
    const state = {
      video: storedVideo({ transcode: 'failed' }),
      status: { state: 'FAILED', percent: null, renditions: [], error: 'ffmpeg: moov atom not found' },
    };
    await fakeApi(page, state);
    await logInAs(page, state, 'alice');
    await page.goto(`${base}/watch.html?v=vid1`);
    const note = page.getByTestId('transcode-failed');
    await note.waitFor();
    assert.match(await note.textContent(), /could not be prepared for streaming: ffmpeg: moov atom not found/);
    assert.equal(await page.getByTestId('upload-again').getAttribute('href'), '/upload.html?again=vid1');
    assert.equal(await page.getByRole('link', { name: 'Upload again' }).count(), 1);
    assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'original');
    assert.equal(await page.getByTestId('transcode-badge').count(), 0);
    assert.deepEqual(problems, []);
  });
});

test('watch page: other viewers of a failed video just get the original', async () => {
  const { page, problems, run } = await openPage('watch-failed-viewer');
  await run(async () => {
    const state = { video: storedVideo({ transcode: 'failed' }), status: { state: 'FAILED', percent: null, renditions: [], error: null } };
    await fakeApi(page, state);
    await logInAs(page, state, 'bob');
    await page.goto(`${base}/watch.html?v=vid1`);
    await page.waitForFunction(() => window.__myvidPlayback !== undefined);
    assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'original');
    assert.equal(await page.getByTestId('transcode-failed').count(), 0);
    assert.equal(state.statusRequests, 0, 'no status request for a viewer who is not told the reason');
    assert.deepEqual(problems, []);
  });
});

test('watch page: a video that does not play says where the trouble is', async () => {
  const { page, problems, run } = await openPage('watch-unplayable');
  await run(async () => {
    // Stored here, but this browser cannot play it (the file is gone, or in a format it
    // lacks): no talk of expired links.
    const state = { video: storedVideo({ url: `${base}/media/missing.mp4` }) };
    await fakeApi(page, state);
    await page.goto(`${base}/watch.html?v=vid1`);
    const error = page.getByTestId('player-error');
    await error.waitFor();
    assert.match(await error.textContent(), /^This video could not be played in this browser\. Reload the page$/);
    assert.equal(await page.getByTestId('video-player').getAttribute('aria-label'), 'Video: Test pattern');

    // Imported from another site that does not answer: the page names that site.
    state.video = storedVideo({ source: 'HTTP', owner: null, url: 'http://127.0.0.1:9/clip.mp4' });
    await page.reload();
    await error.waitFor();
    assert.equal(await error.textContent(), 'This video is hosted on 127.0.0.1:9 and could not be loaded from there.');
    assert.deepEqual(problems, []);
  });
});

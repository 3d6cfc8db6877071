// End-to-end test of transcoding: the real MyVid server ($MYVID_BIN, with its worker)
// turns an uploaded 640×480 clip into an HLS ladder, and Chromium plays it.
//
//   MYVID_BIN=/path/to/myvid npm run test:transcode
//
// Through the pages: sign up, upload a 6 s H.264/AAC clip with a preview; the upload page
// shows the server's check ("640×480 · 0:06 — ready to publish"); publish. While
// the worker runs, the watch page shows the processing badge and plays the original,
// the upload page says "Processing N %" and "Your videos" a "processing" badge; the
// upload page then reaches "Ready in 480p, 360p". The status endpoint must list 480p
// 640×480 and 360p 480×360; the signed master playlist names both; ffprobe reads each
// variant playlist over HTTP (H.264 at the rung's size, AAC, a keyframe every 2 s).
// Reloaded, the watch page plays through hls.js: the quality menu forces 480p (frames
// 640 wide) then 360p (480 wide); back in Auto with the network throttled (CDP) and the
// HTTP cache off, playing again from the start, hls.js switches down to 360p by itself.
//
// The worker reads its input at the clip's own pace (`simulated_realtime_input`, ffmpeg
// `-re`), so the processing phase lasts at least the clip's 6 s whatever the machine's
// speed: long enough to see it on the pages without racing the encoder.
//
// Screenshots of failures and the server log go to test-artifacts/transcode-*.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { startServer } from './support/server.mjs';
import { launchBrowser } from './support/browser.mjs';
import { ARTIFACTS, apiJson, livePages, sleep, uniqueWord } from './support/live-pages.mjs';

const run = promisify(execFile);

/** The clip: the ladder for 640×480 is 480p and 360p (no rung above the source). */
const CLIP = { width: 640, height: 480, seconds: 6, fps: 15 };
const RUNGS = [
  { name: '480p', width: 640, height: 480 },
  { name: '360p', width: 480, height: 360 },
];
/** The worker's segment length (worker/src/transcode/command.rs SEGMENT_SECONDS). */
const SEGMENT_SECONDS = 2;

/** Publish → READY: a 6 s clip read at its own pace, plus claiming, upload and checks. */
const READY_WITHIN_MS = 90_000;
/** One playback step: a forced switch showing in the frames. */
const STEP_MS = 20_000;
/** hls.js's own switch down once the network is slow. */
const ABR_WITHIN_MS = 30_000;

const SERVER_ENV = {
  MYVID_WORKER__PRESET: 'ultrafast',
  MYVID_WORKER__THREADS: '1',
  MYVID_WORKER__SIMULATED_REALTIME_INPUT: 'true',
  // An idle worker looks for work every 200 ms instead of 2 s.
  MYVID_WORKER__POLL_MS: '200',
};

async function ffmpeg(args, cwd) {
  try {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { cwd, timeout: 60_000 });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('ffmpeg is not installed (apt-get install -y --no-install-recommends ffmpeg).');
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/** `clip.mp4` (H.264 + AAC test pattern and tone) and `preview.png` in a fresh temp dir. */
async function makeClip() {
  const dir = await mkdtemp(path.join(tmpdir(), 'myvid-transcode-e2e-'));
  const size = `${CLIP.width}x${CLIP.height}`;
  await ffmpeg(
    [
      '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${CLIP.fps}`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(CLIP.seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k',
      '-movflags', '+faststart', 'clip.mp4',
    ],
    dir,
  );
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${size}`, '-frames:v', '1', 'preview.png'], dir);
  return { dir, clip: path.join(dir, 'clip.mp4'), preview: path.join(dir, 'preview.png') };
}

/**
 * `ffprobe -v error -show_streams` of an HLS playlist URL, as JSON. ffprobe's HLS
 * demuxer follows the playlist to its (presigned) segment URLs on its own.
 */
async function probe(url) {
  const args = ['-v', 'error', '-show_streams', '-of', 'json', url];
  let out;
  try {
    out = await run('ffprobe', args, { timeout: 60_000 });
  } catch (err) {
    throw new Error(`ffprobe ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
  assert.equal(out.stderr, '', `ffprobe -v error says nothing about ${url}`);
  return JSON.parse(out.stdout).streams;
}

/** The presentation times of the video keyframes in an HLS playlist URL (from the packets' flags). */
async function keyframeTimes(url) {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', url];
  const out = await run('ffprobe', args, { timeout: 60_000 });
  return out.stdout
    .split('\n')
    .map((line) => line.split(','))
    .filter(([, flags]) => flags && flags.includes('K'))
    .map(([time]) => Number(time));
}

/** The `#EXT-X-STREAM-INF` entries of a master playlist: attributes and URI. */
function variants(master) {
  const lines = master.split(/\r?\n/);
  const found = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const attrs = Object.fromEntries(
      [...line.slice('#EXT-X-STREAM-INF:'.length).matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)].map((m) => [m[1], m[2].replace(/^"|"$/g, '')]),
    );
    found.push({ attrs, uri: lines[i + 1] });
  });
  return found;
}

/** GET a URL as text, asserting 200. */
async function getText(url) {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, 200, `GET ${url}: ${text.slice(0, 200)}`);
  return { text, type: res.headers.get('content-type') };
}

/** Resolves once the page's player has painted a frame `width` pixels wide while playing. */
function waitForFrameWidth(page, width, timeout = STEP_MS) {
  return page.waitForFunction(
    (w) =>
      new Promise((resolve) => {
        const v = document.querySelector('[data-testid="video-player"]');
        const check = () => (v.videoWidth === w && !v.paused ? resolve(true) : v.requestVideoFrameCallback(check));
        v.requestVideoFrameCallback(check);
      }),
    width,
    { timeout },
  );
}

/** Start the player from the beginning (the clip is short), muted so autoplay is allowed. */
function playFromStart(page) {
  return page.evaluate(() => {
    const v = document.querySelector('[data-testid="video-player"]');
    v.muted = true;
    v.currentTime = 0;
    return v.play();
  });
}

describe('transcoding end to end', () => {
  let server;
  let browser;
  let media;
  let pages;
  /** What the first test leaves for the next ones. */
  const shared = { id: null, owner: null };

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'transcode-server.log'), env: SERVER_ENV });
    media = await makeClip();
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'transcode' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
    if (media) await rm(media.dir, { recursive: true, force: true });
  });

  /** Run `fn` with a page; on failure add a screenshot and what the page logged. */
  async function withPage(name, fn) {
    const p = await pages.openPage(name);
    try {
      await fn(p);
      assert.deepEqual(p.pageErrors, [], 'no uncaught errors in the page');
    } catch (err) {
      await p.shot('FAILED').catch(() => {});
      err.message += `\npage errors: ${JSON.stringify(p.pageErrors)}\nconsole: ${JSON.stringify(p.logs.slice(-20))}`;
      throw err;
    } finally {
      await p.close();
    }
  }

  test('publish: the original plays while processing, the upload page follows it to Ready', { timeout: 180_000 }, async () => {
    await withPage('upload', async ({ page, context, shot }) => {
      const username = uniqueWord('t_').slice(0, 14);
      const title = `Ladder ${uniqueWord('zt')}`;
      await pages.signUp(page, username, 'upload.html');
      await page.getByTestId('upload-form').waitFor();
      await page.getByTestId('upload-title').fill(title);
      await page.getByTestId('upload-preview').setInputFiles(media.preview);
      await page.getByTestId('upload-video').setInputFiles(media.clip);
      await page.getByTestId('upload-submit').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="publish-button"]')?.disabled, null, { timeout: 30_000 });
      // The server checked the file as soon as it was up.
      assert.equal(await page.getByTestId('check-result').textContent(), '640×480 · 0:06 — ready to publish');

      // Every line the processing row shows, in order (the row is polled every 2 s).
      await page.evaluate(() => {
        window.__transcodeTexts = [];
        const line = document.querySelector('[data-testid="transcode-status"]');
        new MutationObserver(() => window.__transcodeTexts.push(line.textContent)).observe(line, { childList: true, characterData: true, subtree: true });
      });
      await page.getByTestId('publish-button').click();
      const watchLink = page.getByTestId('watch-link');
      await watchLink.waitFor();
      const id = new URL(await watchLink.getAttribute('href'), server.url).searchParams.get('v');
      assert.ok(id, 'the watch link names the video');
      shared.id = id;
      shared.owner = username;

      // The video is processing: the API says so.
      const video = await apiJson(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`);
      assert.equal(video.status, 200, video.text);
      assert.equal(video.json.transcode, 'processing', `transcode right after publishing: ${video.text}`);
      assert.equal(video.json.hls_url, undefined, 'no hls_url before the renditions are ready');

      // Meanwhile the watch page (same session, another tab) plays the original under a badge.
      const watch = await context.newPage();
      try {
        await watch.goto(new URL(`/watch.html?v=${encodeURIComponent(id)}`, server.url).href);
        const badge = watch.getByTestId('transcode-badge');
        await badge.waitFor();
        assert.match(await badge.textContent(), /^Processing( \d+ %)? — playing the original$/);
        assert.equal(await badge.getAttribute('data-state'), 'processing');
        await watch.waitForFunction(() => window.__myvidPlayback !== undefined);
        assert.equal(await watch.evaluate(() => window.__myvidPlayback.engine), 'original');
        assert.equal(await watch.getByTestId('quality').count(), 0, 'no quality menu for the original');
        await playFromStart(watch);
        await waitForFrameWidth(watch, CLIP.width);
        await watch.screenshot({ path: path.join(ARTIFACTS, 'transcode-watch-processing.png') });
      } finally {
        await watch.close();
      }

      // "Your videos" says it is processing.
      const mineBadge = page.locator(`[data-testid="mine-item"][data-video-id="${id}"] [data-testid="mine-transcode"]`);
      await mineBadge.waitFor();
      assert.match(await mineBadge.textContent(), /^processing( \d+ %)?$/);

      // The upload page follows it to the end.
      const line = page.getByTestId('transcode-status');
      await page.waitForFunction(
        () => /^Ready in /.test(document.querySelector('[data-testid="transcode-status"]').textContent),
        null,
        { timeout: READY_WITHIN_MS, polling: 200 },
      );
      assert.equal(await line.textContent(), 'Ready in 480p, 360p');
      assert.equal(await page.getByTestId('transcode-progress').evaluate((p) => p.value), 100);
      assert.equal(await page.getByTestId('transcode').getAttribute('aria-busy'), 'false');
      const seen = await page.evaluate(() => window.__transcodeTexts);
      assert.ok(seen.some((t) => /^Processing \d+ %$/.test(t)), `the page showed a percentage on the way: ${JSON.stringify(seen)}`);
      await shot('ready');
      // …and the list's badge goes once ready.
      await mineBadge.waitFor({ state: 'detached', timeout: 10_000 });
    });
  });

  test('the renditions: status, signed playlists, ffprobe of each variant', { timeout: 120_000 }, async () => {
    assert.ok(shared.id, 'the first test published a video');
    const id = encodeURIComponent(shared.id);

    // The API agrees it is ready (the page saw it; the API is asked directly too).
    const deadline = Date.now() + READY_WITHIN_MS;
    let status;
    for (;;) {
      status = await apiJson(server.url, 'GET', `/v1/videos/${id}/transcode`);
      assert.equal(status.status, 200, status.text);
      if (status.json.state === 'READY' || status.json.state === 'FAILED') break;
      assert.ok(Date.now() < deadline, `READY within ${READY_WITHIN_MS / 1000} s; last: ${status.text}`);
      await sleep(500);
    }
    assert.equal(status.json.state, 'READY', status.text);
    assert.equal(status.json.attempts, 1, 'one attempt was enough');
    const renditions = status.json.renditions.map(({ name, width, height }) => ({ name, width, height }));
    assert.deepEqual(renditions, RUNGS, 'the ladder for a 640×480 source');
    for (const r of status.json.renditions) assert.ok(r.bandwidth > 0, `${r.name} has a bandwidth`);

    const video = await apiJson(server.url, 'GET', `/API/VIDEO/${id}`);
    assert.equal(video.json.transcode, 'ready');
    assert.match(video.json.hls_url, new RegExp(`^${server.url}/playback/hls/${id}/\\d+/[^/]+/master\\.m3u8$`));
    const viaV1 = await apiJson(server.url, 'GET', `/v1/videos/${id}`);
    assert.equal(viaV1.json.transcode, 'ready');
    assert.ok(viaV1.json.hls_url, 'GET /v1/videos/{id} has the hls_url too');

    const master = await getText(video.json.hls_url);
    assert.match(master.text, /^#EXTM3U/);
    const listed = variants(master.text);
    assert.deepEqual(
      listed.map((v) => v.attrs.RESOLUTION),
      RUNGS.map((r) => `${r.width}x${r.height}`),
      `the master lists both rungs:\n${master.text}`,
    );

    for (const [i, rung] of RUNGS.entries()) {
      const url = new URL(listed[i].uri, video.json.hls_url).href;
      assert.match(listed[i].attrs.CODECS, /avc1\.[0-9a-fA-F]{6}.*mp4a\.40\.2|mp4a\.40\.2.*avc1/, `${rung.name} CODECS`);
      const playlist = await getText(url);
      assert.match(playlist.text, /#EXT-X-PLAYLIST-TYPE:VOD/);
      assert.match(playlist.text, /#EXT-X-MAP:URI="[^"]+"/, `${rung.name} is fMP4 (an init segment)`);
      assert.match(playlist.text, /#EXT-X-ENDLIST/);
      const durations = [...playlist.text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
      const total = durations.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - CLIP.seconds) < 0.5, `${rung.name} lasts about ${CLIP.seconds} s (${total})`);
      assert.ok(durations.every((d) => d <= SEGMENT_SECONDS + 0.1), `${rung.name} segments of at most ${SEGMENT_SECONDS} s: ${durations}`);

      const streams = await probe(url);
      const v = streams.filter((s) => s.codec_type === 'video');
      const a = streams.filter((s) => s.codec_type === 'audio');
      assert.equal(v.length, 1, `${rung.name}: one video stream: ${JSON.stringify(streams)}`);
      assert.equal(v[0].codec_name, 'h264');
      assert.deepEqual([v[0].width, v[0].height], [rung.width, rung.height], `${rung.name} size`);
      assert.equal(a.length, 1, `${rung.name}: one audio stream`);
      assert.equal(a[0].codec_name, 'aac');

      const keys = await keyframeTimes(url);
      const start = keys[0];
      assert.deepEqual(
        keys.map((t) => Math.round((t - start) * 10) / 10),
        Array.from({ length: CLIP.seconds / SEGMENT_SECONDS }, (_, k) => k * SEGMENT_SECONDS),
        `${rung.name}: a keyframe every ${SEGMENT_SECONDS} s (${keys})`,
      );
    }
  });

  test('hls.js plays the ladder: the quality menu forces each rung, Auto goes down on a slow network', { timeout: 180_000 }, async () => {
    assert.ok(shared.id, 'the first test published a video');
    await withPage('watch-hls', async ({ page, context, shot }) => {
      await page.goto(`/watch.html?v=${encodeURIComponent(shared.id)}`);
      await page.waitForFunction(() => window.__myvidPlayback !== undefined);
      assert.equal(await page.evaluate(() => window.__myvidPlayback.engine), 'hls.js');
      assert.equal(await page.getByTestId('transcode-badge').count(), 0, 'no processing badge once ready');
      const select = page.getByTestId('quality');
      await select.waitFor();
      assert.equal(await page.evaluate(() => window.__myvidHls.levels.length), 2);
      assert.deepEqual((await select.locator('option').allTextContents()).slice(1), ['480p', '360p']);

      // Every LEVEL_SWITCHED from here on, with whether hls.js chose it.
      await page.evaluate(() => {
        window.__switches = [];
        const hls = window.__myvidHls;
        hls.on('hlsLevelSwitched', (_e, data) => window.__switches.push({ level: data.level, auto: hls.autoLevelEnabled, height: hls.levels[data.level].height }));
      });
      await playFromStart(page);
      await page.waitForFunction(() => document.querySelector('[data-testid="video-player"]').videoWidth > 0);

      const force = async (label, width) => {
        await select.selectOption({ label });
        const index = Number(await select.inputValue());
        await page.waitForFunction((i) => window.__myvidHls.currentLevel === i, index);
        // The clip is 6 s: start over so there is time to see the new rung's frames.
        await playFromStart(page);
        await waitForFrameWidth(page, width);
        await page.waitForFunction((h) => document.querySelector('[data-testid="video-player"]').dataset.level === h, String(RUNGS.find((r) => r.width === width).height));
        return index;
      };
      await force('480p', 640);
      const lowest = await force('360p', 480);
      await shot('forced-360p');
      // Playing 480p again, by hand, so that a switch down in Auto shows as a LEVEL_SWITCHED.
      await force('480p', 640);

      // A network slower than the lowest rung needs: in Auto hls.js must go down to it.
      const bandwidths = await page.evaluate(() => window.__myvidHls.levels.map((l) => l.bitrate));
      const bytesPerSecond = Math.floor(Math.min(...bandwidths) / 8 / 2);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      // Segments already fetched would come from the memory cache, past the throttle.
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: bytesPerSecond, uploadThroughput: -1 });
      const switchesBefore = await page.evaluate(() => window.__switches.length);
      // Auto drops the buffer; playing again (the 6 s clip has ended by now, and a paused
      // element makes hls.js skip its abandon rules) makes it fetch under the throttle.
      await select.selectOption('-1');
      assert.equal(await page.evaluate(() => window.__myvidHls.autoLevelEnabled), true);
      await page.evaluate(() => {
        const v = document.querySelector('[data-testid="video-player"]');
        v.currentTime = 0;
        v.play().catch(() => {});
      });
      try {
        await page.waitForFunction(
          ([from, low]) => window.__switches.slice(from).some((s) => s.auto && s.level === low),
          [switchesBefore, lowest],
          { timeout: ABR_WITHIN_MS, polling: 100 },
        );
      } catch (err) {
        const switches = await page.evaluate(() => window.__switches);
        throw new Error(`no automatic switch to ${RUNGS[1].name} within ${ABR_WITHIN_MS / 1000} s at ${bytesPerSecond} B/s (levels ${bandwidths}); switches: ${JSON.stringify(switches)}\n${err.message}`);
      } finally {
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }).catch(() => {});
        await cdp.detach().catch(() => {});
      }
      await page.waitForFunction(() => /^Auto \(360p\)$/.test(document.querySelector('[data-testid="quality"] option').textContent));
      await shot('auto-down');
      assert.equal(await page.getByTestId('player-error').count(), 0);
    });
  });
});

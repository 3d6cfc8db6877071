// End-to-end test of recording: a Chromium broadcast (VP8 simulcast, fake camera and
// microphone) through the real MyVid server ($MYVID_BIN dev, recording on by default)
// becomes, once stopped, a stored video at the stream's own id that Chromium plays from
// start to end, whose length is within 2 s of the broadcast's, that ffmpeg decodes
// without a word, and that search and the owner's list find.
//
//   MYVID_BIN=/path/to/myvid npm run test:recording
//
// Screenshots and the server log go to test-artifacts/ (recording-*.png,
// recording-server.log).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, apiJson, livePages, sleep, uniqueWord } from '../support/live-pages.mjs';

/** How long the broadcast runs (the issue asks for at least 20 s). */
const BROADCAST_MS = 22_000;
/** How long the recording may take to become a video after Stop. */
const FINALIZE_TIMEOUT = 90_000;

/** Polls `GET /API/VIDEO/{id}` until it is a stored video; returns it. */
async function waitForRecording(base, id) {
  const deadline = Date.now() + FINALIZE_TIMEOUT;
  let last;
  while (Date.now() < deadline) {
    last = await apiJson(base, 'GET', `/API/VIDEO/${id}`);
    if (last.status === 200 && last.json.type === 'HTTP' && last.json.source === 'MYVID') return last.json;
    await sleep(1000);
  }
  throw new Error(`the stream did not become a stored video in ${FINALIZE_TIMEOUT} ms; last answer: ${last && last.text}`);
}

describe('recording a live stream', () => {
  let server;
  let browser;
  let pages;

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'recording-server.log') });
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'recording' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  test('a 22 s broadcast becomes a video at the stream id that plays from its start and to its end', { timeout: 240_000 }, async () => {
    const b = await pages.openPage('broadcaster');
    const word = uniqueWord('rec');
    const title = `Recorded ${word}`;
    const id = await pages.startBroadcast(b, title, 'kept for those who came late');
    const wentLive = Date.now();
    await sleep(BROADCAST_MS);
    await b.page.getByTestId('stop-live').click();
    const broadcastSeconds = (Date.now() - wentLive) / 1000;
    assert.equal(await b.page.getByTestId('live-status').getAttribute('data-state'), 'ended');

    const video = await waitForRecording(server.url, id);
    assert.equal(video.title, title, 'the stream title is kept');
    assert.equal(video.description, 'kept for those who came late');
    assert.equal(video.visibility, 'public');
    assert.ok(video.url, 'a signed URL');
    assert.ok(video.preview_url, 'a thumbnail');
    console.log(`# broadcast ${broadcastSeconds.toFixed(1)} s, recording ${video.duration_seconds} s`);
    const streams = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,start_time,duration:format=start_time,duration',
      '-of', 'compact', video.url], { encoding: 'utf8' });
    console.log(`# ffprobe: ${streams.stdout.trim().replace(/\n/g, ' | ')}`);
    writeFileSync(path.join(ARTIFACTS, 'recording.webm'), Buffer.from(await (await fetch(video.url)).arrayBuffer()));
    assert.ok(Math.abs(video.duration_seconds - broadcastSeconds) <= 2,
      `the probed length ${video.duration_seconds} s is within 2 s of the broadcast's ${broadcastSeconds.toFixed(1)} s`);

    const decoded = spawnSync('ffmpeg', ['-v', 'error', '-i', video.url, '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decoded.status, 0, 'ffmpeg decodes it');
    assert.equal(decoded.stderr, '', 'ffmpeg -v error prints nothing');

    // Chromium plays it from start to end.
    const v = await pages.openPage('viewer');
    await v.page.goto('/');
    const played = await v.page.evaluate(async (url) => {
      const el = document.createElement('video');
      el.muted = true;
      el.src = url;
      document.body.prepend(el);
      await new Promise((resolve, reject) => {
        el.onloadedmetadata = resolve;
        el.onerror = () => reject(new Error(`media error ${el.error && el.error.code}`));
      });
      const duration = el.duration;
      await el.play();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const playedAtStart = el.currentTime;
      el.currentTime = Math.max(0, duration - 2);
      await new Promise((resolve, reject) => {
        el.onended = resolve;
        el.onerror = () => reject(new Error(`media error ${el.error && el.error.code}`));
        setTimeout(() => reject(new Error(`not ended; at ${el.currentTime} of ${duration}`)), 15_000);
      });
      return { duration, playedAtStart, width: el.videoWidth, height: el.videoHeight };
    }, video.url);
    await v.shot('played');
    assert.ok(played.playedAtStart > 0.5, `it plays from the start (${played.playedAtStart} s)`);
    assert.ok(Math.abs(played.duration - broadcastSeconds) <= 2,
      `Chromium's duration ${played.duration} s is within 2 s of the broadcast's`);
    assert.ok(played.width > 0 && played.height > 0, 'it has pictures');

    const found = await apiJson(server.url, 'POST', '/API/VIDEO/', { search: word });
    assert.ok(found.json.some((x) => x.id === id && x.source === 'MYVID'), 'search finds the recording');
    assert.deepEqual(b.pageErrors, [], 'no uncaught errors on the broadcast page');
  });
});

// A recording survives the crash of the SFU that made it: every role its own process
// on one data directory (`myvid api`, `myvid endpoint`, `myvid sfu` twice) and Debian's
// Chromium. A broadcast runs 25 s on the first SFU, which is then killed with SIGKILL
// (the broadcaster's page is closed at once, so nobody publishes again). The second
// SFU's reaper ends the orphaned stream and its sweeper joins the segments the first one
// stored: the stream's id becomes a video that decodes without a word and misses at
// most 10 s of the broadcast (segments reach the store at least every 10 s), plus 1 s
// for the recording to start at the stream's first keyframe.
//
//   MYVID_BIN=/path/to/myvid npm run test:sfu-crash

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { assertDecodesSilently } from '../support/media.mjs';
import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, livePages, sleep, uniqueWord, waitForRecording } from '../support/live-pages.mjs';

/** How long the broadcast runs before its SFU is killed. */
const BROADCAST_MS = 25_000;
/** The most a crash may lose: one segment, plus the start at the first keyframe. */
const MAY_LOSE_S = 10 + 1;
/** Heartbeats go stale (30 s), the reaper needs two reads (10 s apart), the sweeper two
 * passes (20 s apart), then the join: well inside this. */
const SWEPT_WITHIN_MS = 150_000;

describe('recording through an SFU crash', () => {
  let dataDir;
  const roles = {};
  /** Starts role `command` as `name` on the shared data directory. */
  let start;
  let browser;
  let pages;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'myvid-sfu-crash-'));
    const env = {
      MYVID_LIVE__SFU_SECRET: randomBytes(24).toString('hex'),
      MYVID_LIVE__STREAM_SECRET: randomBytes(24).toString('hex'),
      MYVID_TURN__SECRET: randomBytes(24).toString('hex'),
    };
    start = async (name, command) => {
      roles[name] = await startServer({ command, dataDir, env, logFile: path.join(ARTIFACTS, `sfu-crash-${name}.log`) });
    };
    await start('endpoint', 'endpoint');
    await start('sfu1', 'sfu');
    await start('api', 'api');
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => roles.api.url, prefix: 'sfu-crash' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    for (const role of Object.values(roles)) await role.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the SFU killed mid-stream: the segments it stored become a video missing at most 10 s', { timeout: 240_000 }, async () => {
    const word = uniqueWord('zc');
    const title = `Crash ${word}`;
    const b = await pages.openPage('broadcaster');
    const id = await pages.startBroadcast(b, title, 'its SFU dies');
    const wentLive = Date.now();
    // The survivor, started once the stream is placed on the first SFU.
    await start('sfu2', 'sfu');
    await sleep(BROADCAST_MS - (Date.now() - wentLive));
    await roles.sfu1.kill();
    const broadcastSeconds = (Date.now() - wentLive) / 1000;
    await b.close();

    const t0 = Date.now();
    const video = await waitForRecording(roles.api.url, id, SWEPT_WITHIN_MS);
    console.log(`# killed after ${broadcastSeconds.toFixed(1)} s of broadcast; the swept recording is ` +
      `${video.duration_seconds} s, published ${((Date.now() - t0) / 1000).toFixed(0)} s after the kill`);
    assert.equal(video.title, title);
    const lost = broadcastSeconds - video.duration_seconds;
    assert.ok(lost <= MAY_LOSE_S, `the crash lost ${lost.toFixed(1)} s (at most ${MAY_LOSE_S} s may be lost)`);
    assert.ok(lost >= 0, `the recording (${video.duration_seconds} s) is not longer than the broadcast (${broadcastSeconds.toFixed(1)} s)`);
    assertDecodesSilently(video.url);
  });
});

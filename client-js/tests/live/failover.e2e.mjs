// Surviving the loss of an endpoint, end to end: `myvid dev` as API + SFU (no relay of
// its own) and two `myvid endpoint` processes on the same data directory, Debian's
// Chromium as one broadcaster and two viewers. The endpoint the broadcaster signals
// through is killed with SIGKILL while the stream is live: every page that used it
// must show "reconnecting" and resume through the other endpoint by itself, and every
// viewer's video must keep flowing (it never passes through an endpoint). Prints the
// time to recovery.
//
//   MYVID_BIN=/path/to/myvid npm run test:failover

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, livePages, sleep, uniqueWord } from '../support/live-pages.mjs';

/** Video must flow again (here: never stop) within this long after the kill. */
const VIDEO_WITHIN_MS = 5_000;
/** Signalling must be resumed within this long after the kill. */
const RESUMED_WITHIN_MS = 10_000;

const wsBase = (httpUrl) => httpUrl.replace(/^http/, 'ws');

describe('surviving an endpoint loss', () => {
  let dataDir;
  let api;
  const endpoints = [];
  let browser;
  let pages;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'myvid-failover-'));
    const env = { MYVID_LIVE__SFU_SECRET: randomBytes(24).toString('hex'), MYVID_TURN__SECRET: randomBytes(24).toString('hex') };
    api = await startServer({
      dataDir,
      env: { ...env, MYVID_LIVE__RELAY: 'false' },
      logFile: path.join(ARTIFACTS, 'failover-dev.log'),
    });
    for (const n of [1, 2]) {
      endpoints.push(
        await startServer({ command: 'endpoint', dataDir, env, logFile: path.join(ARTIFACTS, `failover-endpoint${n}.log`) }),
      );
    }
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => api.url, prefix: 'failover' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    for (const e of endpoints) await e.stop();
    await api?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Which endpoint (index) a page's live handle signals through. */
  async function endpointOf(p, handle) {
    const url = await p.page.evaluate((h) => window[h] && window[h].signalUrl, handle);
    const index = endpoints.findIndex((e) => url && url.startsWith(`${wsBase(e.url)}/`));
    assert.ok(index >= 0, `${p.name} signals through a known endpoint (${url})`);
    return index;
  }

  const stateOf = (p) => p.page.getByTestId('live-status').getAttribute('data-state');

  test('killing the endpoint a broadcast uses: everyone on it resumes through the other, video keeps flowing', { timeout: 180_000 }, async () => {
    const word = uniqueWord('zf');
    const b = await pages.openPage('broadcaster');
    const viewers = [await pages.openPage('viewer1'), await pages.openPage('viewer2')];
    try {
      // The API runs no TURN server itself: it hands out an endpoint's.
      const ice = await (await fetch(new URL('/API/ICE', api.url))).json();
      const turnUrl = ice.ice_servers.flatMap((s) => s.urls).find((u) => u.startsWith('turn:'));
      assert.match(turnUrl || '', /^turn:127\.0\.0\.1:\d+\?transport=udp$/, `an endpoint's TURN server is handed out: ${JSON.stringify(ice)}`);
      const id = await pages.startBroadcast(b, `Failover ${word}`, 'Surviving an endpoint loss.');
      await pages.waitUntilListed(word, id);
      for (const v of viewers) {
        await v.page.goto(`/watch.html?v=${id}`);
        await pages.waitForState(v.page, 'live-status', 'playing');
      }
      await pages.expectViewerCount(b, 2);
      // Past the stream's first seconds (the broadcaster's simulcast layers ramp up and the
      // viewers move up to them): the failover is measured on a steady stream.
      await sleep(3000);
      const victim = await endpointOf(b, '__myvidPublish');
      const placement = {};
      for (const v of viewers) placement[v.name] = await endpointOf(v, '__myvidWatch');
      const affected = [b, ...viewers].filter((p) => p === b || placement[p.name] === victim);
      const before = {};
      for (const v of viewers) before[v.name] = (await pages.viewerStats(v)).framesDecoded;

      // Every change of the pages' state, kept in the page itself: a reconnection
      // faster than one poll still leaves its "reconnecting" behind.
      for (const p of affected) {
        await p.page.evaluate(() => {
          const el = document.querySelector('[data-testid="live-status"]');
          window.__stateLog = [];
          new MutationObserver(() => window.__stateLog.push(el.dataset.state))
            .observe(el, { attributes: true, attributeFilter: ['data-state'] });
        });
      }
      const killedAt = Date.now();
      await endpoints[victim].kill();

      // Poll every page: state transitions and decoded frames, timed from the kill.
      const seenReconnecting = new Set();
      const resumedAfter = {};
      const videoAfter = {};
      while (Date.now() - killedAt < RESUMED_WITHIN_MS) {
        for (const p of affected) {
          const state = await stateOf(p);
          const log = await p.page.evaluate(() => window.__stateLog);
          if (state === 'reconnecting' || log.includes('reconnecting')) seenReconnecting.add(p.name);
          if (state === 'failed') throw new Error(`${p.name} failed instead of reconnecting`);
          const active = p === b ? 'live' : 'playing';
          if (state === active && seenReconnecting.has(p.name) && resumedAfter[p.name] === undefined) {
            resumedAfter[p.name] = Date.now() - killedAt;
          }
        }
        for (const v of viewers) {
          const stats = await pages.viewerStats(v);
          if (videoAfter[v.name] === undefined && stats && stats.framesDecoded > before[v.name]) {
            videoAfter[v.name] = Date.now() - killedAt;
          }
        }
        if (affected.every((p) => resumedAfter[p.name] !== undefined) && viewers.every((v) => videoAfter[v.name] !== undefined)) {
          break;
        }
        await sleep(50);
      }
      for (const p of affected) {
        assert.ok(seenReconnecting.has(p.name), `${p.name} showed "reconnecting"`);
        assert.ok(resumedAfter[p.name] !== undefined, `${p.name} resumed within ${RESUMED_WITHIN_MS / 1000} s`);
      }
      for (const v of viewers) {
        assert.ok(videoAfter[v.name] !== undefined && videoAfter[v.name] <= VIDEO_WITHIN_MS, `${v.name}: video flowed within ${VIDEO_WITHIN_MS / 1000} s of the kill`);
      }
      // Now everyone signals through the survivor, and the session still works: the
      // broadcaster's viewer count is right and keeps updating.
      const survivor = 1 - victim;
      assert.equal(await endpointOf(b, '__myvidPublish'), survivor);
      for (const v of viewers) assert.equal(await endpointOf(v, '__myvidWatch'), survivor);
      await pages.expectViewerCount(b, 2);
      await viewers[1].page.evaluate(() => window.__myvidWatch.stop());
      await pages.expectViewerCount(b, 1);
      // viewer1 keeps decoding: more frames within 3 s.
      const stillDecoding = (await pages.viewerStats(viewers[0])).framesDecoded;
      let decodedSince = stillDecoding;
      for (const until = Date.now() + 3000; decodedSince <= stillDecoding && Date.now() < until;) {
        await sleep(250);
        decodedSince = (await pages.viewerStats(viewers[0])).framesDecoded;
      }
      assert.ok(decodedSince > stillDecoding, `viewer1 keeps decoding (${stillDecoding} frames, then ${decodedSince} 3 s later)`);
      await b.shot('after-failover');
      await viewers[0].shot('after-failover');

      const worstResume = Math.max(...affected.map((p) => resumedAfter[p.name]));
      console.log(
        `# endpoint ${victim + 1} killed (SIGKILL); ${affected.map((p) => p.name).join(', ')} resumed through endpoint ${survivor + 1}: ` +
          `${affected.map((p) => `${p.name} ${resumedAfter[p.name]} ms`).join(', ')} (worst ${worstResume} ms); ` +
          `first new video frame after the kill: ${viewers.map((v) => `${v.name} ${videoAfter[v.name]} ms`).join(', ')}`,
      );
    } catch (err) {
      for (const p of [b, ...viewers]) {
        await p.shot('FAILED').catch(() => {});
        if (p.logs.length) console.log(`# ${p.name} console:\n#   ${p.logs.slice(-20).join('\n#   ')}`);
      }
      throw err;
    } finally {
      for (const p of [b, ...viewers]) await p.close().catch(() => {});
    }
  });
});

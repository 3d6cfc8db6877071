// End-to-end test of live streaming: the real MyVid server ($MYVID_BIN, which must
// have a working SFU) + Debian's Chromium with a fake camera and microphone.
//
//   MYVID_BIN=/path/to/myvid npm run test:live
//
// One broadcaster (sign up, broadcast.html, Go live) and three viewers (found from
// the home page and from search) who must decode frames of one of the sent simulcast
// layer sizes; one viewer leaves and the others keep decoding; Stop ends every
// viewer. Then ten viewers join the running stream one after another and the time to
// first frame is reported (median and worst). Screenshots and the server log go to
// test-artifacts/ (live-*.png, live-server.log).
//
// Kept out of `npm test` (this file's name does not match node's test patterns)
// until the server's SFU works.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, LIVE_TIMEOUT, apiJson, livePages, median, sleep, uniqueWord } from '../support/live-pages.mjs';

/** Joins measured for the time to first frame. */
const TTFF_JOINS = 10;

describe('live streaming end to end', () => {
  let server;
  let browser;
  let pages;
  // Bound once the browser runs (in `before`).
  const openPage = (name) => pages.openPage(name);
  const waitForState = (...a) => pages.waitForState(...a);
  const startBroadcast = (...a) => pages.startBroadcast(...a);
  const sentSizes = (...a) => pages.sentSizes(...a);
  const viewerStats = (...a) => pages.viewerStats(...a);
  const expectDecoding = (...a) => pages.expectDecoding(...a);
  const expectViewerCount = (...a) => pages.expectViewerCount(...a);
  const waitUntilListed = (...a) => pages.waitUntilListed(...a);

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'live-server.log') });
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'live' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** Open the watch page of `id` from the home grid. */
  async function openFromHome(v, id) {
    await v.page.goto('/');
    const card = v.page.locator(`[data-testid="video-card"][data-video-id="${id}"]`);
    await card.waitFor();
    assert.equal(await card.getByTestId('live-badge').count(), 1, 'the home card has a LIVE badge');
    assert.equal(await card.getByTestId('video-preview').count(), 0, 'no preview image for a live item');
    assert.equal(await card.getByTestId('live-placeholder').count(), 1, 'a placeholder instead');
    await v.shot('home-live-card');
    await card.click();
  }

  /** Open the watch page of `id` from a header search for `word`. */
  async function openFromSearch(v, id, word) {
    await v.page.goto('/');
    const input = v.page.getByTestId('search-input');
    await input.fill(word);
    await input.press('Enter');
    await v.page.waitForURL((u) => u.pathname.endsWith('/search.html'));
    const card = v.page.getByTestId('search-results').locator(`[data-testid="video-card"][data-video-id="${id}"]`);
    await card.waitFor();
    assert.equal(await card.getByTestId('live-badge').count(), 1, 'the search result has a LIVE badge');
    assert.equal(await card.getByTestId('video-preview').count(), 0, 'no preview image for a live item');
    await v.shot('search-live-result');
    await card.click();
  }

  /** On the watch page: LIVE badge, then playing. */
  async function expectPlaying(v, id, title) {
    await v.page.waitForURL((u) => u.pathname.endsWith('/watch.html') && u.searchParams.get('v') === id);
    await v.page.getByTestId('watch').waitFor({ state: 'visible' });
    assert.equal((await v.page.getByTestId('watch-title').textContent()).trim(), title);
    assert.ok((await v.page.getByTestId('live-badge').count()) >= 1, 'the watch page shows a LIVE badge');
    await waitForState(v.page, 'live-status', 'playing');
    const el = await v.page.getByTestId('video-player').evaluate((p) => ({
      muted: p.muted,
      autoplay: p.autoplay,
      inline: p.playsInline,
      hasStream: p.srcObject !== null,
    }));
    assert.deepEqual(el, { muted: true, autoplay: true, inline: true, hasStream: true });
  }

  test('one broadcaster, three viewers, one leaves, the broadcast stops', { timeout: 300_000 }, async () => {
    const word = uniqueWord('zl');
    const title = `Live test ${word}`;
    const b = await openPage('broadcaster');
    const viewers = [];
    try {
      const id = await startBroadcast(b, title, 'A fake camera, live from the end-to-end test.');
      await b.shot('live');

      // The API lists the stream as a live WebRTC video while it is live (the SFU
      // reports "live" once the media connection is up: allow it a moment).
      const item = await waitUntilListed(word, id);
      assert.equal(item.type, 'WebRTC');
      assert.equal(item.source, 'LIVE');
      assert.equal(item.live_state, 'live');
      assert.match(item.url, /^wss?:\/\//);
      assert.equal(item.url, item.ws_url);
      assert.ok(item.whep_url, 'whep_url is set');
      assert.ok(Array.isArray(item.ice_servers), 'ice_servers is a list');
      const v1api = await apiJson(server.url, 'GET', `/v1/videos?q=${encodeURIComponent(word)}`);
      assert.ok(v1api.json.items.some((v) => v.id === id && v.type === 'WebRTC'), `/v1/videos lists it: ${v1api.text}`);

      // Three viewers: two from the home page, one from search.
      for (let i = 1; i <= 3; i++) {
        const v = await openPage(`viewer${i}`);
        viewers.push(v);
        if (i === 2) await openFromSearch(v, id, word);
        else await openFromHome(v, id);
        await expectPlaying(v, id, title);
      }

      const seen = new Set();
      await sentSizes(b, seen);
      for (const v of viewers) {
        const stats = await expectDecoding(v, b, seen);
        console.log(`# ${v.name}: decoding ${stats.width}x${stats.height} (${stats.framesDecoded} frames so far)`);
      }
      const { reported } = await sentSizes(b, seen);
      console.log(`# broadcaster sends: ${reported.map(([w, h, rid]) => `${rid || '-'}=${w}x${h}`).join(', ')}`);
      await expectViewerCount(b, 3);
      await b.shot('three-viewers');
      await viewers[0].shot('watch-playing');

      // One viewer leaves: the others keep decoding, the count drops.
      const leaving = viewers.pop();
      await leaving.close();
      await expectViewerCount(b, 2);
      for (const v of viewers) await expectDecoding(v, b, seen);
      await b.shot('two-viewers');

      // Stop: every remaining viewer sees the end.
      await b.page.getByTestId('stop-live').click();
      assert.equal(await b.page.getByTestId('live-status').getAttribute('data-state'), 'ended');
      const tracksLive = await b.page.evaluate(() => {
        const h = window.__myvidPublish;
        return h.pc.getSenders().filter((s) => s.track && s.track.readyState === 'live').length;
      });
      assert.equal(tracksLive, 0, 'the camera is released after Stop');
      await b.shot('stopped');
      for (const v of viewers) {
        await waitForState(v.page, 'live-status', 'ended');
        assert.match(await v.page.getByTestId('live-status').textContent(), /broadcast has ended/i);
        await v.shot('ended');
      }

      // Once over, the live stream leaves the listings (its recording may come back
      // at the same id as a stored video: recording.e2e.mjs tests that).
      const deadline = Date.now() + 15_000;
      let listedLive = true;
      while (listedLive && Date.now() < deadline) {
        const after = await apiJson(server.url, 'POST', '/API/VIDEO/', { search: word });
        listedLive = after.json.some((v) => v.id === id && v.source === 'LIVE');
        if (listedLive) await sleep(500);
      }
      assert.equal(listedLive, false, 'an ended stream is not listed as live');

      for (const p of [b, ...viewers]) assert.deepEqual(p.pageErrors, [], `${p.name}: no uncaught errors`);
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

  for (const mime of ['video/VP9', 'video/H264', 'video/AV1']) {
    test(`a ${mime} broadcast reaches a viewer that decodes ${mime}`, { timeout: 120_000 }, async () => {
      const word = uniqueWord('zc');
      const b = await openPage(`codec-${mime.slice(6)}-broadcaster`);
      const v = await openPage(`codec-${mime.slice(6)}-viewer`);
      try {
        const id = await startBroadcast(b, `Codec ${word}`, mime, `?codec=${encodeURIComponent(mime)}&simulcast=0`);
        await waitUntilListed(word, id);
        await v.page.goto(`/watch.html?v=${id}`);
        const seen = new Set();
        await sentSizes(b, seen);
        const stats = await expectDecoding(v, b, seen);
        const received = await v.page.evaluate(async () => {
          let mimeType = null;
          const reports = await window.__myvidWatch.pc.getStats();
          reports.forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId) mimeType = reports.get(s.codecId)?.mimeType;
          });
          return mimeType;
        });
        assert.equal(received?.toLowerCase(), mime.toLowerCase(), 'the viewer decodes the codec the broadcaster sends');
        console.log(`# ${mime}: viewer decoding ${stats.width}x${stats.height}`);
        await v.shot('decoding');
      } finally {
        await v.close().catch(() => {});
        await b.close().catch(() => {});
      }
    });
  }

  test(`time to first frame over ${TTFF_JOINS} joins of a running stream`, { timeout: 300_000 }, async (t) => {
    const word = uniqueWord('zt');
    const title = `Latency test ${word}`;
    const b = await openPage('ttff-broadcaster');
    let v = null;
    try {
      const id = await startBroadcast(b, title, 'Time to first frame.');
      await waitUntilListed(word, id);
      // Let the stream settle (keyframes, layers) before measuring joins.
      await sleep(2000);
      const fromNavigation = [];
      const fromJoin = [];
      const toOffer = [];
      const toConnected = [];
      const afterConnect = [];
      for (let i = 1; i <= TTFF_JOINS; i++) {
        v = await openPage(`ttff-viewer${i}`);
        await v.page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
        const timing = await v.page
          .waitForFunction(
            () => {
              const h = window.__myvidWatch;
              if (h && h.state === 'failed') return { failed: h.error ? h.error.message : 'failed' };
              return h && h.timing.firstFrame !== null ? { ...h.timing } : null;
            },
            null,
            { timeout: LIVE_TIMEOUT, polling: 50 },
          )
          .then((h) => h.jsonValue());
        if (timing.failed) throw new Error(`join ${i} failed: ${timing.failed}`);
        fromNavigation.push(timing.firstFrame);
        fromJoin.push(timing.firstFrame - timing.start);
        toOffer.push(timing.offer - timing.start);
        toConnected.push(timing.connected - timing.start);
        afterConnect.push(timing.firstFrame - timing.connected);
        if (i === 1) await v.shot('first-frame');
        const stats = await viewerStats(v);
        assert.ok(stats && stats.framesDecoded > 0, `join ${i}: frames decoded`);
        await v.close();
        v = null;
      }
      const fmt = (ms) => `${Math.round(ms)} ms`;
      const report =
        `time to first frame over ${TTFF_JOINS} joins — from page navigation: median ${fmt(median(fromNavigation))}, ` +
        `worst ${fmt(Math.max(...fromNavigation))}; from watch(): median ${fmt(median(fromJoin))}, worst ${fmt(Math.max(...fromJoin))} ` +
        `(medians from watch(): offer ${fmt(median(toOffer))}, ICE+DTLS connected ${fmt(median(toConnected))}; ` +
        `first frame after connecting: median ${fmt(median(afterConnect))}, worst ${fmt(Math.max(...afterConnect))})`;
      console.log(`# ${report}`);
      t.diagnostic(report);
      await b.page.getByTestId('stop-live').click();
      assert.deepEqual(b.pageErrors, [], 'broadcaster: no uncaught errors');
    } catch (err) {
      await b.shot('FAILED').catch(() => {});
      if (v) await v.shot('FAILED').catch(() => {});
      if (b.logs.length) console.log(`# broadcaster console:\n#   ${b.logs.slice(-20).join('\n#   ')}`);
      throw err;
    } finally {
      if (v) await v.close().catch(() => {});
      await b.close().catch(() => {});
    }
  });
});

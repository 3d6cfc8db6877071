// Simulcast in the browser, asserted: the real MyVid server ($MYVID_BIN) and Debian's
// Chromium with a fake camera. The broadcaster must send three layers (rid q, h, f) at
// three heights, each encoding; two viewers with different bit rate caps
// (`setMaxBitrate`, the `max_bitrate` signalling message) must decode different
// layers; and each must switch layer when its cap changes. A viewer's layer is told by
// its decoded frame height, matched to the height the broadcaster's layer has at that
// moment (Chromium may scale a layer down under load, so heights are read, not assumed).
// The switch times go to the test log.
//
//   MYVID_BIN=/path/to/myvid npm run test:simulcast

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, livePages, sleep, uniqueWord } from '../support/live-pages.mjs';

/** A cap below any layer's rate: the server falls back to the lowest layer. */
const LOW_CAP = 50_000;
/** Longest wait for a viewer to land on a layer (a switch waits for that layer's keyframe). */
const SWITCH_TIMEOUT = 20_000;

describe('simulcast in the browser', () => {
  let server;
  let browser;
  let pages;

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'simulcast-server.log') });
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'simulcast' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** The broadcaster's video layers now: rid → {height, framesEncoded}. */
  async function sentLayers(b) {
    const list = await b.page.evaluate(async () => {
      const out = [];
      (await window.__myvidPublish.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          out.push([s.rid || '', { height: s.frameHeight || 0, framesEncoded: s.framesEncoded || 0 }]);
        }
      });
      return out;
    });
    return Object.fromEntries(list);
  }

  /** What a viewer decodes now: {height, framesDecoded}. */
  function decoded(v) {
    return v.page.evaluate(async () => {
      let out = { height: 0, framesDecoded: 0 };
      (await window.__myvidWatch.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out = { height: s.frameHeight || 0, framesDecoded: s.framesDecoded || 0 };
      });
      return out;
    });
  }

  /**
   * Waits until `v` keeps decoding frames of the broadcaster's layer `rid` (its height
   * is that layer's and no other's); returns how long that took, in ms.
   */
  async function waitForLayer(v, b, rid) {
    const started = Date.now();
    let last = null;
    let previous = await decoded(v);
    while (Date.now() - started < SWITCH_TIMEOUT) {
      await sleep(250);
      const layers = await sentLayers(b);
      const now = await decoded(v);
      last = { viewer: now, sent: layers };
      const want = layers[rid]?.height;
      const others = Object.entries(layers).filter(([r]) => r !== rid).map(([, l]) => l.height);
      if (want && now.height === want && !others.includes(want) && now.framesDecoded > previous.framesDecoded) {
        return Date.now() - started;
      }
      previous = now;
    }
    throw new Error(`${v.name} did not settle on layer ${rid} within ${SWITCH_TIMEOUT / 1000} s: ${JSON.stringify(last)}`);
  }

  const setCap = (v, bps) => v.page.evaluate((cap) => window.__myvidWatch.setMaxBitrate(cap), bps);

  test('three layers are sent; capped viewers decode different layers and follow their caps', { timeout: 240_000 }, async () => {
    const word = uniqueWord('zs');
    const b = await pages.openPage('broadcaster');
    const a = await pages.openPage('viewerA');
    const v = await pages.openPage('viewerB');
    const all = [b, a, v];
    try {
      const id = await pages.startBroadcast(b, `Simulcast ${word}`, 'Three layers from a fake camera.');

      // Three layers, three heights, every one of them encoding.
      const first = await sentLayers(b);
      await sleep(2_000);
      const later = await sentLayers(b);
      assert.deepEqual(Object.keys(later).sort(), ['f', 'h', 'q'], `three rids: ${JSON.stringify(later)}`);
      for (const rid of ['q', 'h', 'f']) {
        assert.ok(later[rid].framesEncoded > (first[rid]?.framesEncoded ?? 0), `layer ${rid} keeps encoding: ${JSON.stringify(later)}`);
      }
      const heights = ['q', 'h', 'f'].map((rid) => later[rid].height);
      assert.ok(heights[0] < heights[1] && heights[1] < heights[2], `q < h < f in height: ${heights.join(', ')}`);
      console.log(`# layers sent: q=${heights[0]}p h=${heights[1]}p f=${heights[2]}p`);

      for (const p of [a, v]) {
        await p.page.goto(`/watch.html?v=${id}`);
        await pages.waitForState(p.page, 'live-status', 'playing');
      }
      // A is capped low, B is not: A decodes the lowest layer, B the highest.
      await setCap(a, LOW_CAP);
      const aDown = await waitForLayer(a, b, 'q');
      await waitForLayer(v, b, 'f');
      assert.equal(await a.page.evaluate(() => window.__myvidWatch.maxBitrate), LOW_CAP);
      await a.shot('capped');
      await v.shot('uncapped');

      // A's cap lifted: up to the highest. B capped: down to the lowest.
      await setCap(a, null);
      const aUp = await waitForLayer(a, b, 'f');
      await setCap(v, LOW_CAP);
      const vDown = await waitForLayer(v, b, 'q');
      // And the other one still has its layer.
      await waitForLayer(a, b, 'f');
      console.log(`# layer switches after a cap change (ms): A down ${aDown}, A up ${aUp}, B down ${vDown}`);
      for (const p of all) assert.deepEqual(p.pageErrors, [], `no page errors on ${p.name}`);
    } catch (err) {
      for (const p of all) {
        await p.shot('FAILED').catch(() => {});
        if (p.logs.length) console.log(`# ${p.name} console:\n#   ${p.logs.slice(-20).join('\n#   ')}`);
      }
      throw err;
    } finally {
      for (const p of all) await p.close().catch(() => {});
    }
  });
});

// End-to-end test of the endpoint's TURN server: the real MyVid server ($MYVID_BIN)
// + Debian's Chromium. A broadcaster goes live on broadcast.html; a viewer opens
// watch.html?v=ID&relay=1, which makes its peer connection relay-only
// (iceTransportPolicy 'relay'), so the only way its media can flow is through our
// TURN server. It must pick a relay candidate pair and keep decoding frames, and the
// server's /metrics must show the allocation and relayed bytes.
//
//   MYVID_BIN=/path/to/myvid npm run test:turn
//
// The SFU's media socket is on 127.0.0.1, an internal address TURN refuses unless it
// is a registered SFU's media socket: the server runs with no extra config, which
// proves that `myvid dev` relays out of the box. Screenshots and the server log go to
// test-artifacts/ (turn-*.png, turn-server.log).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, LIVE_TIMEOUT, livePages, sleep, uniqueWord } from '../support/live-pages.mjs';

/** One Prometheus sample's value from `/metrics` text (0 when absent). */
function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('live streaming through TURN', () => {
  let server;
  let browser;
  let pages;

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'turn-server.log') });
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'turn' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** The viewer's selected candidate pair, its candidates, and decoded frames. */
  function viewerIce(v) {
    return v.page.evaluate(async () => {
      const h = window.__myvidWatch;
      if (!h || !h.pc) return null;
      const stats = await h.pc.getStats();
      let pair = null;
      let framesDecoded = 0;
      const localTypes = new Set();
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId) || pair;
        if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded = s.framesDecoded || 0;
        if (s.type === 'local-candidate') localTypes.add(s.candidateType);
      });
      if (!pair) stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) pair = s;
      });
      const describe = (c) => c && { type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol, url: c.url };
      return {
        pair: pair && { state: pair.state, nominated: pair.nominated, bytesReceived: pair.bytesReceived },
        local: pair ? describe(stats.get(pair.localCandidateId)) : null,
        remote: pair ? describe(stats.get(pair.remoteCandidateId)) : null,
        localTypes: [...localTypes],
        framesDecoded,
      };
    });
  }

  test('a relay-only viewer plays the stream through our TURN server', { timeout: 180_000 }, async () => {
    const word = uniqueWord('zt');
    const b = await pages.openPage('broadcaster');
    const v = await pages.openPage('viewer');
    try {
      const id = await pages.startBroadcast(b, `TURN test ${word}`, 'Through our TURN server.', '?simulcast=0');
      const item = await pages.waitUntilListed(word, id);
      const turnEntry = item.ice_servers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
      assert.ok(turnEntry, `the live video hands out a TURN server: ${JSON.stringify(item.ice_servers)}`);
      assert.match(turnEntry.urls[0], /^turn:127\.0\.0\.1:\d+\?transport=udp$/);
      assert.match(turnEntry.username, /^\d+:anon-/);
      await b.shot('live');

      await v.page.goto(`/watch.html?v=${encodeURIComponent(id)}&relay=1`);
      await pages.waitForState(v.page, 'live-status', 'playing');
      const config = await v.page.evaluate(() => window.__myvidWatch.pc.getConfiguration().iceTransportPolicy);
      assert.equal(config, 'relay', 'relay=1 makes the peer connection relay-only');

      // Frames keep coming, over a pair whose local side is our TURN relay.
      let first = null;
      let last = null;
      for (const deadline = Date.now() + LIVE_TIMEOUT; Date.now() < deadline; await sleep(700)) {
        last = await viewerIce(v);
        if (!last || !last.pair || last.pair.state !== 'succeeded') continue;
        if (first === null) first = last;
        else if (last.framesDecoded > first.framesDecoded) break;
      }
      assert.ok(first && last.framesDecoded > first.framesDecoded, `frames keep being decoded: ${JSON.stringify(last)}`);
      assert.equal(last.local.type, 'relay', `the selected pair's local candidate is a relay one: ${JSON.stringify(last)}`);
      assert.equal(last.local.relayProtocol, 'udp');
      assert.equal(last.local.address, '127.0.0.1', 'relayed by our TURN server on loopback');
      assert.deepEqual(last.localTypes, ['relay'], 'a relay-only viewer gathers nothing else');
      console.log(`# viewer: ${last.framesDecoded} frames decoded through ${last.local.address}:${last.local.port} (relay) → ${last.remote.address}:${last.remote.port}`);
      await v.shot('playing-through-turn');

      const metrics = await (await fetch(new URL('/metrics', server.url))).text();
      assert.ok(metric(metrics, 'myvid_turn_allocations') >= 1, 'the server counts the allocation');
      assert.ok(metric(metrics, 'myvid_turn_relayed_bytes_total') > 10_000, 'the server counts relayed media');
      console.log(
        `# server: turn_allocations=${metric(metrics, 'myvid_turn_allocations')} ` +
          `relayed_bytes=${metric(metrics, 'myvid_turn_relayed_bytes_total')} ` +
          `blocked_packets=${metric(metrics, 'myvid_turn_blocked_packets_total')}`,
      );

      await b.page.getByTestId('stop-live').click();
      await pages.waitForState(v.page, 'live-status', 'ended');
      for (const p of [b, v]) assert.deepEqual(p.pageErrors, [], `${p.name}: no uncaught errors`);
    } catch (err) {
      for (const p of [b, v]) {
        await p.shot('FAILED').catch(() => {});
        if (p.logs.length) console.log(`# ${p.name} console:\n#   ${p.logs.slice(-20).join('\n#   ')}`);
      }
      throw err;
    } finally {
      await v.close().catch(() => {});
      await b.close().catch(() => {});
    }
  });
});

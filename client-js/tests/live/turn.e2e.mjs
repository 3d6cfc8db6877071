// End-to-end test of the endpoint's TURN server: the real MyVid server ($MYVID_BIN)
// + Debian's Chromium. A broadcaster goes live on broadcast.html; a viewer opens
// watch.html?v=ID&relay=1, which makes its peer connection relay-only
// (iceTransportPolicy 'relay'), so the only way its media can flow is through our
// TURN server. It must pick a relay candidate pair and keep decoding frames, and the
// server's /metrics must show the allocation and relayed bytes.
//
//   MYVID_BIN=/path/to/myvid npm run test:turn
//
// The SFU's media socket is on 127.0.0.1, which TURN refuses as a peer by default:
// the server runs with MYVID_TURN__ALLOW_PEER_RANGES='["127.0.0.0/8"]'. Screenshots
// and the server log go to test-artifacts/ (turn-*.png, turn-server.log).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** How long a page may take to reach a live state (go live, first frames). */
const LIVE_TIMEOUT = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function uniqueWord(prefix) {
  return prefix + Array.from(randomBytes(10), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');
}

/** One Prometheus sample's value from `/metrics` text (0 when absent). */
function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('live streaming through TURN', () => {
  let server;
  let browser;
  /** Contexts still open, closed in `after` whatever happens. */
  const contexts = new Set();

  before(async () => {
    server = await startServer({
      logFile: path.join(ARTIFACTS, 'turn-server.log'),
      env: { MYVID_TURN__ALLOW_PEER_RANGES: '["127.0.0.0/8"]' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  async function openPage(name) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.add(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const pageErrors = [];
    const logs = [];
    page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') logs.push(`${m.type()}: ${m.text()}`);
    });
    const goto = page.goto.bind(page);
    page.goto = (u, opts) => goto(new URL(u, server.url).href, opts);
    let n = 0;
    const shot = async (step) => {
      n += 1;
      await page.screenshot({ path: path.join(ARTIFACTS, `turn-${name}-${String(n).padStart(2, '0')}-${step}.png`) });
    };
    const close = async () => {
      contexts.delete(context);
      await context.close();
    };
    return { name, page, shot, pageErrors, logs, close };
  }

  /** Wait until `[data-testid=testid]` has data-state `want`; fail fast on `failed`. */
  async function waitForState(page, testid, want) {
    const handle = await page.waitForFunction(
      ([id, w]) => {
        const el = document.querySelector(`[data-testid="${id}"]`);
        const s = el && el.dataset.state;
        if (s === w) return { ok: true };
        if (s === 'failed') return { ok: false, text: el.textContent.trim() };
        return null;
      },
      [testid, want],
      { timeout: LIVE_TIMEOUT, polling: 100 },
    );
    const result = await handle.jsonValue();
    if (!result.ok) throw new Error(`${testid} went to "failed" instead of "${want}": ${result.text}`);
  }

  /** Sign up on login.html, go live on broadcast.html; the stream id. */
  async function goLive(b, title) {
    const username = uniqueWord('t_').slice(0, 14);
    await b.page.goto('/login.html?next=broadcast.html%3Fsimulcast%3D0');
    await b.page.getByTestId('signup-username').fill(username);
    await b.page.getByTestId('signup-email').fill(`${username}@example.test`);
    await b.page.getByTestId('signup-password').fill('correct horse battery');
    await b.page.getByTestId('signup-submit').click();
    await b.page.getByTestId('broadcast-form').waitFor();
    await b.page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="camera-preview"]');
      return v && v.videoWidth > 0 && v.currentTime > 0;
    });
    await b.page.getByTestId('live-title').fill(title);
    await b.page.getByTestId('go-live').click();
    await waitForState(b.page, 'live-status', 'live');
    const id = await b.page.evaluate(() => window.__myvidPublish && window.__myvidPublish.streamId);
    assert.ok(id, 'the publish handle knows its stream id');
    return id;
  }

  /** Poll `POST /API/VIDEO/` until it lists stream `id`; its item. */
  async function waitUntilListed(word, id) {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(250)) {
      const res = await fetch(new URL('/API/VIDEO/', server.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ search: word }),
      });
      const item = (await res.json()).find((v) => v.id === id);
      if (item) return item;
    }
    throw new Error(`the live stream ${id} was not listed within 10 s`);
  }

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
    const b = await openPage('broadcaster');
    const v = await openPage('viewer');
    try {
      const id = await goLive(b, `TURN test ${word}`);
      const item = await waitUntilListed(word, id);
      const turnEntry = item.ice_servers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
      assert.ok(turnEntry, `the live video hands out a TURN server: ${JSON.stringify(item.ice_servers)}`);
      assert.match(turnEntry.urls[0], /^turn:127\.0\.0\.1:\d+\?transport=udp$/);
      assert.match(turnEntry.username, /^\d+:anon-/);
      await b.shot('live');

      await v.page.goto(`/watch.html?v=${encodeURIComponent(id)}&relay=1`);
      await waitForState(v.page, 'live-status', 'playing');
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
      await waitForState(v.page, 'live-status', 'ended');
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

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
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** How long a page may take to reach a live state (go live, first frames, ended). */
const LIVE_TIMEOUT = 30_000;
/** Joins measured for the time to first frame. */
const TTFF_JOINS = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function uniqueWord(prefix) {
  return prefix + Array.from(randomBytes(10), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function apiJson(base, method, p, body) {
  const res = await fetch(new URL(p, base), {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // leave json null
  }
  return { status: res.status, json, text };
}

describe('live streaming end to end', () => {
  let server;
  let browser;
  /** Contexts still open, closed in `after` whatever happens. */
  const contexts = new Set();

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'live-server.log') });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  /** A fresh context + page with relative goto, error capture and screenshots. */
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
      await page.screenshot({ path: path.join(ARTIFACTS, `live-${name}-${String(n).padStart(2, '0')}-${step}.png`) });
    };
    const close = async () => {
      contexts.delete(context);
      await context.close();
    };
    return { name, context, page, shot, pageErrors, logs, close };
  }

  /** Sign up through login.html and land on `next`. */
  async function signUp(page, username, next) {
    await page.goto(`/login.html?next=${encodeURIComponent(next)}`);
    await page.getByTestId('signup-username').fill(username);
    await page.getByTestId('signup-email').fill(`${username}@example.test`);
    await page.getByTestId('signup-password').fill('correct horse battery');
    await page.getByTestId('signup-submit').click();
    const signupError = page.getByTestId('signup-error');
    await Promise.race([
      page.waitForURL((u) => u.pathname.endsWith(`/${next.split('?')[0]}`)),
      signupError.waitFor({ state: 'visible' }).then(async () => {
        throw new Error(`sign up failed on the page: ${await signupError.textContent()}`);
      }),
    ]);
    await page.getByTestId('nav-username').waitFor();
  }

  /** Wait until `[data-testid=testid]` has data-state `want`; fail fast on `failed`. */
  async function waitForState(page, testid, want, timeout = LIVE_TIMEOUT) {
    const handle = await page.waitForFunction(
      ([id, w]) => {
        const el = document.querySelector(`[data-testid="${id}"]`);
        const s = el && el.dataset.state;
        if (s === w) return { ok: true };
        if (s === 'failed') {
          const err = document.querySelector('[data-testid="live-error"]');
          return { ok: false, text: `${el.textContent.trim()} ${err && !err.hidden ? err.textContent.trim() : ''}`.trim() };
        }
        return null;
      },
      [testid, want],
      { timeout, polling: 100 },
    );
    const result = await handle.jsonValue();
    if (!result.ok) throw new Error(`${testid} went to "failed" instead of "${want}": ${result.text}`);
  }

  /** Sign up, open broadcast.html, wait for the camera, go live. Returns the stream id. */
  async function startBroadcast(b, title, description, query = '') {
    await signUp(b.page, uniqueWord('b_').slice(0, 14), `broadcast.html${query}`);
    await b.page.getByTestId('broadcast-form').waitFor();
    // The fake camera shows up in the preview.
    await b.page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="camera-preview"]');
      return v && v.videoWidth > 0 && v.currentTime > 0;
    });
    assert.ok(await b.page.getByTestId('go-live').isEnabled(), 'Go live is enabled once the camera runs');
    assert.equal(await b.page.getByTestId('live-status').getAttribute('data-state'), 'idle');
    await b.page.getByTestId('live-title').fill(title);
    await b.page.getByTestId('live-description').fill(description);
    await b.shot('preview');
    await b.page.getByTestId('go-live').click();
    await waitForState(b.page, 'live-status', 'live');
    const id = await b.page.evaluate(() => window.__myvidPublish && window.__myvidPublish.streamId);
    assert.ok(id, 'the publish handle knows its stream id');
    assert.ok(await b.page.getByTestId('stop-live').isEnabled(), 'Stop is enabled while live');
    return id;
  }

  /**
   * The video frame sizes the broadcaster sends: what its outbound-rtp reports say
   * (accumulated into `seen`) plus the nominal layer sizes.
   */
  async function sentSizes(b, seen = new Set()) {
    const info = await b.page.evaluate(async () => {
      const h = window.__myvidPublish;
      const sizes = [];
      (await h.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.frameWidth > 0) sizes.push([s.frameWidth, s.frameHeight, s.rid || '']);
      });
      const track = h.pc.getSenders().find((s) => s.track && s.track.kind === 'video')?.track;
      const settings = track ? track.getSettings() : {};
      return { sizes, width: settings.width, height: settings.height, encodings: h.encodings };
    });
    for (const [w, hgt] of info.sizes) seen.add(`${w}x${hgt}`);
    for (const e of info.encodings || [{}]) {
      const scale = e.scaleResolutionDownBy || 1;
      if (info.width) seen.add(`${Math.floor(info.width / scale)}x${Math.floor(info.height / scale)}`);
    }
    return { seen, reported: info.sizes };
  }

  /** A viewer's inbound video stats (null before there are any). */
  function viewerStats(v) {
    return v.page.evaluate(async () => {
      const h = window.__myvidWatch;
      if (!h || !h.pc) return null;
      let out = null;
      (await h.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out = { framesDecoded: s.framesDecoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0 };
        }
      });
      return out;
    });
  }

  /** Poll until the viewer's framesDecoded grows and its frame size is one sent. */
  async function expectDecoding(v, b, seen, timeout = LIVE_TIMEOUT) {
    const deadline = Date.now() + timeout;
    let last = null;
    let previous = await viewerStats(v);
    while (Date.now() < deadline) {
      await sleep(700);
      await sentSizes(b, seen);
      const now = await viewerStats(v);
      last = now;
      if (
        now &&
        previous &&
        now.framesDecoded > previous.framesDecoded &&
        now.width > 0 &&
        now.height > 0 &&
        seen.has(`${now.width}x${now.height}`)
      ) {
        return now;
      }
      previous = now;
    }
    throw new Error(
      `${v.name}: frames did not keep arriving at a sent size within ${timeout / 1000} s ` +
        `(last inbound: ${JSON.stringify(last)}; sent sizes: ${[...seen].join(', ')}; ` +
        `state: ${await v.page.getByTestId('live-status').getAttribute('data-state').catch(() => '?')})`,
    );
  }

  async function expectViewerCount(b, n) {
    await b.page.waitForFunction(
      (want) => document.querySelector('[data-testid="viewer-count"]')?.dataset.count === String(want),
      n,
      { timeout: LIVE_TIMEOUT },
    );
  }

  /** Poll `POST /API/VIDEO/` until it lists stream `id` (searching `word`); the item. */
  async function waitUntilListed(word, id, timeout = 10_000) {
    let last;
    for (const deadline = Date.now() + timeout; Date.now() < deadline; await sleep(250)) {
      last = await apiJson(server.url, 'POST', '/API/VIDEO/', { search: word });
      assert.equal(last.status, 200, last.text);
      const item = last.json.find((v) => v.id === id);
      if (item) return item;
    }
    throw new Error(`POST /API/VIDEO/ did not list the live stream ${id} within ${timeout / 1000} s: ${last && last.text}`);
  }

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

      // Once over, the stream leaves the listings.
      const deadline = Date.now() + 15_000;
      let listed = true;
      while (listed && Date.now() < deadline) {
        const after = await apiJson(server.url, 'POST', '/API/VIDEO/', { search: word });
        listed = after.json.some((v) => v.id === id);
        if (listed) await sleep(500);
      }
      assert.equal(listed, false, 'an ended stream is not listed');

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
        if (i === 1) await v.shot('first-frame');
        const stats = await viewerStats(v);
        assert.ok(stats && stats.framesDecoded > 0, `join ${i}: frames decoded`);
        await v.close();
        v = null;
      }
      const fmt = (ms) => `${Math.round(ms)} ms`;
      const report =
        `time to first frame over ${TTFF_JOINS} joins — from page navigation: median ${fmt(median(fromNavigation))}, ` +
        `worst ${fmt(Math.max(...fromNavigation))}; from watch(): median ${fmt(median(fromJoin))}, worst ${fmt(Math.max(...fromJoin))}`;
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

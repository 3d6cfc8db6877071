// Page-driving helpers shared by the live browser tests: contexts and pages with
// screenshots and console capture, sign-up, going live on broadcast.html, waiting for
// live states, and reading a viewer's decoding stats.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** How long a page may take to reach a live state (go live, first frames, ended). */
export const LIVE_TIMEOUT = 30_000;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `prefix` and ten random letters: a search word no other test uses. */
export function uniqueWord(prefix) {
  return prefix + Array.from(randomBytes(10), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');
}

/** The median of `values`. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An API call with an optional JSON body: `{status, json (null if not JSON), text}`. */
export async function apiJson(base, method, p, body) {
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

/**
 * Polls `GET /API/VIDEO/{id}` until the ended stream is a stored video (its recording
 * was published); returns the video. Throws after `timeout` ms with the last answer.
 */
export async function waitForRecording(base, id, timeout = 90_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await apiJson(base, 'GET', `/API/VIDEO/${id}`);
    if (last.status === 200 && last.json.type === 'HTTP' && last.json.source === 'MYVID') return last.json;
    await sleep(1000);
  }
  throw new Error(`the stream did not become a stored video in ${timeout} ms; last answer: ${last && last.text}`);
}

/**
 * The helpers, bound to a browser and a server.
 *
 * @param {object} o
 * @param {import('playwright-core').Browser} o.browser
 * @param {() => string} o.baseUrl The server's base URL (read when used).
 * @param {string} o.prefix Screenshot file prefix.
 */
export function livePages({ browser, baseUrl, prefix }) {
  /** Contexts still open (close them with `closeAll`). */
  const contexts = new Set();

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
    page.goto = (u, opts) => goto(new URL(u, baseUrl()).href, opts);
    let n = 0;
    const shot = async (step) => {
      n += 1;
      await page.screenshot({ path: path.join(ARTIFACTS, `${prefix}-${name}-${String(n).padStart(2, '0')}-${step}.png`) });
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
      last = await apiJson(baseUrl(), 'POST', '/API/VIDEO/', { search: word });
      assert.equal(last.status, 200, last.text);
      const item = last.json.find((v) => v.id === id);
      if (item) return item;
    }
    throw new Error(`POST /API/VIDEO/ did not list the live stream ${id} within ${timeout / 1000} s: ${last && last.text}`);
  }

  async function closeAll() {
    for (const c of contexts) await c.close().catch(() => {});
  }

  return { openPage, signUp, waitForState, startBroadcast, sentSizes, viewerStats, expectDecoding, expectViewerCount, waitUntilListed, closeAll };
}

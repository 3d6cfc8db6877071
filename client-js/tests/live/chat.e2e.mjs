// Live chat, end to end: `myvid dev` as API + SFU (no relay of its own) and two
// `myvid endpoint` processes on one data directory, Debian's Chromium as a broadcaster
// and two viewers, viewer A signalling through endpoint 1 and viewer B through
// endpoint 2 (chat frames meet in the SFU hosting the stream). B starts anonymous: it
// reads but cannot write; signed in, its sixth quick message is refused by the rate
// limit; the broadcaster deletes a message (gone on every page) and mutes B; every
// page shows the viewer count. The median latency of a message from A to B goes to
// test-artifacts/product-figures.json (merged with what is there).
//
//   MYVID_BIN=/path/to/myvid npm run test:chat

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, LIVE_TIMEOUT, livePages, median, uniqueWord } from '../support/live-pages.mjs';

const wsBase = (httpUrl) => httpUrl.replace(/^http/, 'ws');

describe('live chat', () => {
  let dataDir;
  let api;
  const endpoints = [];
  let browser;
  let pages;

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'myvid-chat-'));
    const env = { MYVID_LIVE__SFU_SECRET: randomBytes(24).toString('hex'), MYVID_TURN__SECRET: randomBytes(24).toString('hex') };
    api = await startServer({ dataDir, env: { ...env, MYVID_LIVE__RELAY: 'false' }, logFile: path.join(ARTIFACTS, 'chat-dev.log') });
    for (const n of [1, 2]) {
      endpoints.push(await startServer({ command: 'endpoint', dataDir, env, logFile: path.join(ARTIFACTS, `chat-endpoint${n}.log`) }));
    }
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => api.url, prefix: 'chat' });
  });

  after(async () => {
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    for (const e of endpoints) await e.stop();
    await api?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Make `p` signal through endpoint `n` (0 or 1): its video answers name that one first. */
  async function pinEndpoint(p, n) {
    const want = `${wsBase(endpoints[n].url)}/`;
    await p.page.route('**/API/VIDEO/*', async (route) => {
      const response = await route.fetch();
      const video = await response.json().catch(() => null);
      if (!video || !Array.isArray(video.ws_urls)) return route.fulfill({ response });
      const pinned = video.ws_urls.find((u) => u.startsWith(want));
      if (pinned) {
        video.ws_url = pinned;
        video.url = pinned;
        video.ws_urls = [pinned, ...video.ws_urls.filter((u) => u !== pinned)];
      }
      return route.fulfill({ response, json: video });
    });
  }

  /** Records, in the page, every chat event of its live handle (`handle`: a window global). */
  async function recordChat(p, handle) {
    await p.page.waitForFunction((h) => window[h] && window[h].chat, handle);
    await p.page.evaluate((h) => {
      const chat = window[h].chat;
      window.__chatLog = { messages: [], refused: [], deleted: [], muted: [], viewers: [] };
      chat.on('message', (line) => window.__chatLog.messages.push({ ...line, seenAt: Date.now() }));
      chat.on('refused', (r) => window.__chatLog.refused.push(r));
      chat.on('deleted', (d) => window.__chatLog.deleted.push(d.id));
      chat.on('muted', (m) => window.__chatLog.muted.push(m));
      chat.on('viewers', (n) => window.__chatLog.viewers.push([Date.now(), n]));
    }, handle);
  }

  const panelJoined = (p) =>
    p.page.waitForFunction(() => document.querySelector('[data-testid="chat-panel"]')?.dataset.joined === 'true', null, { timeout: LIVE_TIMEOUT });

  /** Waits until the page shows a chat line with `text`; its id. */
  async function lineShown(p, text) {
    const line = p.page.getByTestId('chat-line').filter({ hasText: text });
    await line.first().waitFor({ timeout: LIVE_TIMEOUT });
    return line.first().getAttribute('data-id');
  }

  async function endpointOf(p, handle) {
    const url = await p.page.evaluate((h) => window[h] && window[h].signalUrl, handle);
    return endpoints.findIndex((e) => url && url.startsWith(`${wsBase(e.url)}/`));
  }

  test('a broadcaster and two viewers on two endpoints chat; limits, sign-in, delete and mute hold', { timeout: 240_000 }, async () => {
    const word = uniqueWord('zc');
    const b = await pages.openPage('broadcaster');
    const a = await pages.openPage('viewerA');
    const v = await pages.openPage('viewerB');
    const all = [b, a, v];
    try {
      const id = await pages.startBroadcast(b, `Chat ${word}`, 'Live chat end to end.');
      await pages.waitUntilListed(word, id);
      await panelJoined(b);
      assert.equal(await b.page.getByTestId('chat-panel').getAttribute('data-moderator'), 'true', 'the owner moderates');

      await pinEndpoint(a, 0);
      await pinEndpoint(v, 1);
      await pages.signUp(a.page, uniqueWord('a_').slice(0, 14), `watch.html?v=${id}`);
      await v.page.goto(`/watch.html?v=${id}`);
      for (const p of [a, v]) {
        await pages.waitForState(p.page, 'live-status', 'playing');
        await panelJoined(p);
        await recordChat(p, '__myvidWatch');
      }
      assert.equal(await endpointOf(a, '__myvidWatch'), 0, 'viewer A signals through endpoint 1');
      assert.equal(await endpointOf(v, '__myvidWatch'), 1, 'viewer B signals through endpoint 2');

      // Anonymous B reads only: "Sign in to chat", and a raw send is refused.
      assert.ok(await v.page.getByTestId('chat-sign-in').isVisible(), 'B is offered "Sign in to chat"');
      assert.ok(await v.page.getByTestId('chat-form').isHidden(), 'B has no input');
      assert.equal(await v.page.getByTestId('chat-sign-in').textContent(), 'Sign in to chat');
      assert.match(await v.page.getByTestId('chat-sign-in').getAttribute('href'), /^\/login\.html\?next=watch\.html/);
      await v.page.evaluate(() => window.__myvidWatch.chat.send('let me in'));
      await v.page.waitForFunction(() => window.__chatLog.refused.some((r) => r.code === 'sign_in_required'));
      assert.equal(await a.page.getByTestId('chat-left').textContent(), '300 left');

      // A → B (and everyone): five messages (A's whole burst), one at a time, timed from
      // the send in A to the message event in B (one machine, one clock). The last one
      // looks like markup: it must arrive as text.
      const markup = `<img src=x onerror=alert(1)> ${word}`;
      const latencies = [];
      const firstIds = [];
      for (let i = 1; i <= 5; i++) {
        const text = i < 5 ? `hello ${word} ${i}` : markup;
        const sentAt = await a.page.evaluate((t) => {
          const at = Date.now();
          window.__myvidWatch.chat.send(t);
          return at;
        }, text);
        const seenAt = await v.page.waitForFunction(
          (t) => window.__chatLog.messages.find((m) => m.text === t)?.seenAt,
          text,
          { timeout: LIVE_TIMEOUT, polling: 'raf' },
        );
        latencies.push((await seenAt.jsonValue()) - sentAt);
        firstIds.push(await lineShown(v, text));
      }
      for (const p of all) {
        await lineShown(p, markup);
        assert.equal(await p.page.locator('[data-testid="chat-lines"] img').count(), 0, `${p.name}: chat text stays text`);
      }

      // B signs in (through the link) and comes back: it can write now, and gets the history.
      await v.page.getByTestId('chat-sign-in').click();
      await v.page.waitForURL(/login\.html/);
      await pages.signUp(v.page, uniqueWord('v_').slice(0, 14), `watch.html?v=${id}`);
      await pages.waitForState(v.page, 'live-status', 'playing');
      await panelJoined(v);
      assert.equal(await endpointOf(v, '__myvidWatch'), 1, 'B still signals through endpoint 2');
      await recordChat(v, '__myvidWatch');
      await v.page.getByTestId('chat-form').waitFor();
      await lineShown(v, `hello ${word} 1`);

      // Six quick sends: the sixth is refused by the rate limit, and the page says so.
      await v.page.evaluate((w) => {
        for (let i = 1; i <= 6; i++) window.__myvidWatch.chat.send(`burst ${w} ${i}`);
      }, word);
      await v.page.waitForFunction(() => window.__chatLog.refused.some((r) => r.code === 'rate_limited'));
      const notice = v.page.getByTestId('chat-notice');
      await notice.waitFor();
      assert.equal(await notice.getAttribute('data-code'), 'rate_limited');
      assert.match(await notice.textContent(), /Slow down/);
      await lineShown(a, `burst ${word} 5`);
      assert.equal(await a.page.getByTestId('chat-line').filter({ hasText: `burst ${word} 6` }).count(), 0, 'the sixth never went out');

      // Through the input too: typing counts down.
      await v.page.getByTestId('chat-input').fill('12345');
      assert.equal(await v.page.getByTestId('chat-left').textContent(), '295 left');

      // The broadcaster deletes A's first message: gone on every page.
      const victim = firstIds[0];
      await b.page.locator(`[data-testid="chat-line"][data-id="${victim}"] [data-testid="chat-delete"]`).click();
      for (const p of all) {
        await p.page.locator(`[data-testid="chat-line"][data-id="${victim}"]`).waitFor({ state: 'detached', timeout: LIVE_TIMEOUT });
      }

      // The broadcaster mutes B: B's next message is refused.
      const bLine = await lineShown(b, `burst ${word} 1`);
      await b.page.locator(`[data-testid="chat-line"][data-id="${bLine}"] [data-testid="chat-mute"]`).click();
      await v.page.waitForFunction(() => window.__chatLog.muted.some((m) => m.until_ms > 0), null, { timeout: LIVE_TIMEOUT });
      await v.page.evaluate(() => {
        window.__chatLog.refused = [];
        window.__myvidWatch.chat.send('am I muted?');
      });
      await v.page.waitForFunction(() => window.__chatLog.refused.some((r) => r.code === 'muted'), null, { timeout: LIVE_TIMEOUT });

      // Everyone sees the count: two viewers.
      await pages.expectViewerCount(b, 2);
      for (const p of [a, v]) {
        await p.page.waitForFunction(
          () => document.querySelector('[data-testid="viewer-count"]')?.textContent === '2 watching',
          null,
          { timeout: LIVE_TIMEOUT },
        );
      }
      for (const p of all) await p.shot('chat');
      for (const p of all) assert.deepEqual(p.pageErrors, [], `no page errors on ${p.name}`);

      const figures = path.join(ARTIFACTS, 'product-figures.json');
      let existing = {};
      try {
        existing = JSON.parse(await readFile(figures, 'utf8'));
      } catch {
        // first writer
      }
      existing.chat_message_latency_ms = { samples: latencies, median: median(latencies), path: 'viewer A → endpoint 1 → SFU → endpoint 2 → viewer B' };
      await writeFile(figures, `${JSON.stringify(existing, null, 2)}\n`);
      console.log(`# chat latency A→B (ms): ${latencies.join(', ')}; median ${median(latencies)}`);
    } catch (err) {
      for (const p of all) {
        await p.shot('FAILED').catch(() => {});
        const count = await p.page
          .evaluate(() => [document.querySelector('[data-testid="viewer-count"]')?.textContent, JSON.stringify(window.__chatLog?.viewers)])
          .catch(() => null);
        console.log(`# ${p.name} shows viewer count: ${count}`);
        if (p.logs.length) console.log(`# ${p.name} console:\n#   ${p.logs.slice(-20).join('\n#   ')}`);
      }
      throw err;
    } finally {
      for (const p of all) await p.close().catch(() => {});
    }
  });
});

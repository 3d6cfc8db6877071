// Screenshots of the pages people see most — home, a channel, a watch page with Up
// next, and a live stream — in light and dark, on a desktop (1280×860) and a phone
// (390×844, touch), against the real server with seeded data: two users, a follow,
// three short uploads (worker off: the originals play), some views and a live
// broadcast from Chromium's fake camera. Each shot is also checked: no sideways
// scrolling, a phone header at most 64 px high, the skip link as the first tab stop,
// a named player, and a dark page background in dark mode.
//
//   MYVID_BIN=/path/to/myvid npm run test:screens
//
// Writes test-artifacts/screens/{home,channel,watch,live}-{light,dark}-{desktop,phone}.png.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { startServer } from './support/server.mjs';
import { makeMedia } from './support/media.mjs';
import { launchBrowser } from './support/browser.mjs';
import { ARTIFACTS, livePages, sleep } from './support/live-pages.mjs';
import { call, freshName, signUpApi, uploadAndPublish } from './support/seed.mjs';

const SCREENS = path.join(ARTIFACTS, 'screens');
mkdirSync(SCREENS, { recursive: true });

const DEVICES = {
  desktop: { viewport: { width: 1280, height: 860 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
const SCHEMES = ['light', 'dark'];
/** The tallest a phone header may be: one row (logo mark, search, Menu). */
const PHONE_HEADER_MAX_PX = 64;

/** A viewer id as the pages make them: 22 URL-safe characters. */
function viewerId() {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** Relative luminance (WCAG) of a CSS `rgb(…)` colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('screenshots of the main pages', () => {
  let server;
  let media;
  let browser;
  let live;
  /** What the seeding made. */
  const seed = {};

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'screens-server.log'), env: { MYVID_WORKER__ENABLED: 'false' } });
    media = await makeMedia();
    browser = await launchBrowser();
    live = livePages({ browser, baseUrl: () => server.url, prefix: 'screens' });
  });

  after(async () => {
    await seed.broadcaster?.context.close().catch(() => {});
    await live?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
    await media?.cleanup();
  });

  /** A context signed in as `session` (or anonymous), with relative `goto`. */
  async function openAs(session, options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
    if (session) {
      await context.addInitScript(([token, user]) => {
        localStorage.setItem('myvid.token', token);
        localStorage.setItem('myvid.user', JSON.stringify(user));
      }, [session.token, session.user]);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const goto = page.goto.bind(page);
    page.goto = (u, opts) => goto(new URL(u, server.url).href, opts);
    return { context, page, errors };
  }

  test('seed: two users, a follow, three uploads, views and a live stream', { timeout: 180_000 }, async () => {
    const creatorName = freshName('maker_');
    seed.creator = await signUpApi(server.url, creatorName);
    seed.follower = await signUpApi(server.url, freshName('fan_'));
    const followed = await call(server.url, 'PUT', `/v1/channels/${creatorName}/follow`, { token: seed.follower.token });
    assert.equal(followed.status, 200, followed.text);
    assert.deepEqual(followed.json, { following: true, followers: 1 });

    seed.videos = [];
    for (const [title, description] of [
      ['Sunrise over the harbour #timelapse', 'Four seconds of test pattern, standing in for a sunrise. #timelapse'],
      ['Making bread at home #cooking', 'Flour, water, salt and patience. #cooking'],
      ['A very long title that goes on and on to show how cards wrap their words on a narrow phone screen', 'Long titles wrap.'],
    ]) {
      seed.videos.push(await uploadAndPublish(server.url, seed.creator.token, { title, description, file: media.clip }));
    }

    // Views: three anonymous viewers (the most one address may bring) watch the first
    // two (watched together); the last one the third as well.
    const [a, b, c] = seed.videos.map((v) => v.id);
    for (let i = 0; i < 3; i += 1) {
      const viewer = viewerId();
      for (const id of i === 2 ? [a, b, c] : [a, b]) {
        const r = await call(server.url, 'POST', `/v1/videos/${id}/views`, { body: { viewer } });
        assert.equal(r.status, 202, r.text);
      }
    }
    // Counts are flushed in batches (about every 10 s): wait for them.
    const deadline = Date.now() + 30_000;
    let views = 0;
    while (Date.now() < deadline) {
      views = (await call(server.url, 'GET', `/API/VIDEO/${a}`)).json.views;
      if (views >= 3) break;
      await sleep(500);
    }
    assert.equal(views, 3, 'three viewers counted');

    // The creator goes live from the broadcast page (one layer, not recorded).
    const broadcaster = await openAs(seed.creator);
    seed.broadcaster = broadcaster;
    const page = broadcaster.page;
    await page.goto('/broadcast.html?simulcast=0');
    await page.getByTestId('broadcast-form').waitFor();
    await page.waitForFunction(() => {
      const v = document.querySelector('[data-testid="camera-preview"]');
      return v && v.videoWidth > 0 && v.currentTime > 0;
    });
    await page.getByTestId('live-title').fill('Live from the workshop');
    await page.getByTestId('live-description').fill('Building a bookshelf, live.');
    await page.getByTestId('live-record').uncheck();
    await page.getByTestId('go-live').click();
    await live.waitForState(page, 'live-status', 'live');
    seed.streamId = await page.evaluate(() => window.__myvidPublish && window.__myvidPublish.streamId);
    assert.ok(seed.streamId, 'the stream has an id');
  });

  const PAGES = {
    home: {
      path: () => '/index.html?tab=latest',
      ready: async (page) => {
        await page.locator('[data-testid="video-grid"] [data-testid="video-card"]').nth(2).waitFor();
      },
    },
    channel: {
      path: () => `/c/${seed.creator.user.username}`,
      ready: async (page) => {
        await page.getByTestId('channel-name').waitFor();
        await page.locator('[data-testid="video-grid"] [data-testid="video-card"]').nth(2).waitFor();
        await page.getByTestId('channel-live').waitFor();
        assert.equal(await page.getByTestId('follow-button').getAttribute('aria-pressed'), 'true', 'the follower sees Following');
      },
    },
    watch: {
      path: () => `/watch.html?v=${encodeURIComponent(seed.videos[0].id)}`,
      player: true,
      ready: async (page) => {
        await page.getByTestId('watch').waitFor({ state: 'visible' });
        await page.getByTestId('up-next').waitFor({ state: 'visible' });
        assert.ok((await page.getByTestId('up-next').getByTestId('video-card').count()) >= 1, 'Up next has videos');
        assert.match(await page.getByTestId('watch-views').textContent(), /^3 views$/);
      },
    },
    live: {
      path: () => `/watch.html?v=${encodeURIComponent(seed.streamId)}`,
      player: true,
      ready: async (page) => {
        await page.getByTestId('watch').waitFor({ state: 'visible' });
        await live.waitForState(page, 'live-status', 'playing');
      },
    },
  };

  for (const [name, spec] of Object.entries(PAGES)) {
    for (const scheme of SCHEMES) {
      for (const [device, options] of Object.entries(DEVICES)) {
        test(`${name}, ${scheme}, ${device}`, { timeout: 90_000 }, async () => {
          assert.ok(seed.streamId, 'seeded');
          const { context, page, errors } = await openAs(seed.follower, { ...options, colorScheme: scheme });
          try {
            await page.goto(spec.path());
            await spec.ready(page);
            // Every image has loaded (or failed and been replaced).
            await page.waitForFunction(() => [...document.images].every((img) => img.complete));
            const file = path.join(SCREENS, `${name}-${scheme}-${device}.png`);
            await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide', mask: [page.locator('video')] });

            const layout = await page.evaluate(() => ({
              scrollWidth: document.documentElement.scrollWidth,
              clientWidth: document.documentElement.clientWidth,
              header: document.getElementById('site-header').getBoundingClientRect().height,
              background: getComputedStyle(document.body).backgroundColor,
              player: document.querySelector('[data-testid="video-player"]')?.getAttribute('aria-label') ?? null,
            }));
            assert.ok(layout.scrollWidth <= layout.clientWidth, `no horizontal overflow (${layout.scrollWidth} > ${layout.clientWidth})`);
            if (device === 'phone') assert.ok(layout.header <= PHONE_HEADER_MAX_PX, `phone header ${layout.header}px ≤ ${PHONE_HEADER_MAX_PX}px`);
            if (spec.player) assert.match(layout.player || '', /^(Live video|Video): \S/, 'the player has an accessible name');
            if (scheme === 'dark') assert.ok(luminance(layout.background) < 0.2, `dark background ${layout.background}`);

            // The first Tab lands on the skip link.
            await page.evaluate(() => document.activeElement && document.activeElement.blur());
            await page.keyboard.press('Tab');
            assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link', 'the skip link is the first tab stop');

            if (name === 'channel' && scheme === 'light' && device === 'desktop') {
              // Every link on the channel page leads somewhere.
              const hrefs = await page.evaluate(() => [...new Set([...document.querySelectorAll('a[href]')].map((a) => a.href))]);
              for (const href of hrefs.filter((h) => h.startsWith(server.url) && !h.includes('#'))) {
                const res = await fetch(href);
                assert.equal(res.status, 200, `${href} answers 200`);
              }
            }
            assert.deepEqual(errors, [], 'no uncaught errors in the page');
          } catch (err) {
            await page.screenshot({ path: path.join(ARTIFACTS, `screens-FAILED-${name}-${scheme}-${device}.png`), fullPage: true }).catch(() => {});
            throw err;
          } finally {
            await context.close();
          }
        });
      }
    }
  }
});

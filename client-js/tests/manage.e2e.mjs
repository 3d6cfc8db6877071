// Managing a video from its watch page, in a real browser against the real server:
// the owner edits the title (the counter stops at 200; a 200-character unbroken title
// stays within the viewport) and makes the video unlisted; a stranger opens the link
// and it plays, while search does not list it; then Delete, through its dialog, lands
// on the owner's channel and the old link shows the in-layout "not found".
//
//   MYVID_BIN=/path/to/myvid npm run test:manage

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { startServer } from './support/server.mjs';
import { makeMedia } from './support/media.mjs';
import { launchBrowser } from './support/browser.mjs';
import { ARTIFACTS } from './support/live-pages.mjs';
import { call, freshName, signUpApi, uploadAndPublish } from './support/seed.mjs';

/** Whether the page scrolls sideways, and how far the title reaches. */
function layoutOf(page) {
  return page.evaluate(() => {
    const title = document.querySelector('[data-testid="watch-title"]').getBoundingClientRect();
    return {
      overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
      titleRight: title.right,
      viewport: document.documentElement.clientWidth,
    };
  });
}

/** Start the player (muted, so autoplay rules allow it) and wait for `playing`. */
function playToPlaying(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const v = document.querySelector('[data-testid="video-player"]');
        const timer = setTimeout(() => reject(new Error(`no "playing" within 20 s (readyState ${v.readyState}, error ${v.error && v.error.message})`)), 20_000);
        v.addEventListener('playing', () => {
          clearTimeout(timer);
          resolve(true);
        }, { once: true });
        v.muted = true;
        v.play().catch(() => {});
      }),
  );
}

describe('managing a video', () => {
  let server;
  let media;
  let browser;
  const contexts = [];

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'manage-server.log'), env: { MYVID_WORKER__ENABLED: 'false' } });
    media = await makeMedia();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await media?.cleanup();
  });

  async function open(session, name) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    if (session) {
      await context.addInitScript(([token, user]) => {
        if (!sessionStorage.getItem('seeded')) {
          localStorage.setItem('myvid.token', token);
          localStorage.setItem('myvid.user', JSON.stringify(user));
          sessionStorage.setItem('seeded', '1');
        }
      }, [session.token, session.user]);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const goto = page.goto.bind(page);
    page.goto = (u, opts) => goto(new URL(u, server.url).href, opts);
    const shot = (step) => page.screenshot({ path: path.join(ARTIFACTS, `manage-${name}-${step}.png`), fullPage: true });
    return { page, errors, shot };
  }

  test('edit, unlisted plays by link but is not listed, delete through the dialog', { timeout: 240_000 }, async () => {
    const username = freshName('own_');
    const session = await signUpApi(server.url, username);
    const word = freshName('zm');
    const video = await uploadAndPublish(server.url, session.token, { title: `Managed ${word}`, description: 'To be edited.', file: media.clip });
    const id = video.id;

    const owner = await open(session, 'owner');
    const { page } = owner;
    try {
      await page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
      await page.getByTestId('watch').waitFor({ state: 'visible' });
      const panel = page.getByTestId('owner-panel');
      await panel.waitFor({ state: 'visible' });
      await page.getByTestId('edit-open').click();

      // The counter counts code points, trimmed, and stops Save past 200.
      const title = page.getByTestId('edit-title');
      const count = page.getByTestId('edit-title-count');
      const long = `${word}${'W'.repeat(200 - word.length)}`;
      await title.fill(long);
      assert.equal(await count.textContent(), '200 / 200');
      assert.equal(await count.getAttribute('data-over'), 'false');
      assert.ok(await page.getByTestId('edit-save').isEnabled());
      await title.fill(`${long}X`);
      assert.equal(await count.textContent(), '201 / 200');
      assert.equal(await count.getAttribute('data-over'), 'true');
      assert.equal(await title.getAttribute('aria-invalid'), 'true');
      assert.ok(await page.getByTestId('edit-save').isDisabled(), 'Save is disabled over the limit');
      await title.fill(`  ${long}  `);
      assert.equal(await count.textContent(), '200 / 200', 'white space around it does not count');

      // Unlisted, with its one line.
      const unlisted = page.getByTestId('edit-visibility-unlisted');
      assert.ok(await unlisted.isEnabled(), 'a published video may change its visibility');
      assert.equal(await page.getByTestId('edit-visibility-public').isChecked(), true);
      await unlisted.check();
      assert.match(await page.locator('#visibility-unlisted-line').textContent(), /link/);
      await page.getByTestId('edit-save').click();
      await page.getByTestId('edit-saved').waitFor();
      assert.equal((await page.getByTestId('watch-title').textContent()).trim(), long);
      assert.equal((await page.getByTestId('watch-visibility').textContent()).trim(), 'unlisted');
      await owner.shot('edited');

      // The server has it too.
      const stored = await call(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`);
      assert.equal(stored.status, 200, stored.text);
      assert.equal(stored.json.title, long);
      assert.equal(stored.json.visibility, 'unlisted');

      // The unbroken 200-character title wraps: no sideways scrolling, on a desktop
      // and on a phone.
      for (const [width, height] of [[1280, 860], [390, 844]]) {
        await page.setViewportSize({ width, height });
        const layout = await layoutOf(page);
        assert.equal(layout.overflow, false, `no horizontal overflow at ${width}px`);
        assert.ok(layout.titleRight <= layout.viewport, `the title stays within ${width}px (right edge ${layout.titleRight})`);
      }
      await owner.shot('long-title-phone');
      await page.setViewportSize({ width: 1280, height: 860 });

      // A stranger with the link: it plays.
      const stranger = await open(null, 'stranger');
      await stranger.page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
      await stranger.page.getByTestId('watch').waitFor({ state: 'visible' });
      assert.equal((await stranger.page.getByTestId('watch-title').textContent()).trim(), long);
      assert.equal(await stranger.page.getByTestId('owner-panel').isHidden(), true, 'no owner panel for a stranger');
      assert.equal(await playToPlaying(stranger.page), true);
      await stranger.shot('playing');

      // …but nothing lists it: search (page and API) and the latest videos.
      await stranger.page.goto(`/search.html?q=${encodeURIComponent(word)}`);
      await stranger.page.getByTestId('no-results').waitFor();
      assert.equal(await stranger.page.getByTestId('video-card').count(), 0);
      const search = await call(server.url, 'GET', `/v1/videos?q=${encodeURIComponent(word)}`);
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.json.items, []);
      const latest = await call(server.url, 'GET', '/v1/videos?sort=latest&limit=100');
      assert.equal(latest.status, 200, latest.text);
      assert.equal(latest.json.items.filter((v) => v.id === id).length, 0, 'not among the latest');
      assert.deepEqual(stranger.errors, []);

      // Delete: the dialog first (Cancel keeps it), then for real.
      await page.getByTestId('delete-open').click();
      const dialog = page.getByTestId('delete-dialog');
      await dialog.waitFor({ state: 'visible' });
      assert.equal(await dialog.evaluate((d) => d.open && d.matches(':modal')), true, 'a modal dialog');
      await page.getByTestId('delete-cancel').click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal((await call(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`)).status, 200, 'Cancel deletes nothing');

      await page.getByTestId('delete-open').click();
      await dialog.waitFor({ state: 'visible' });
      await owner.shot('delete-dialog');
      await page.getByTestId('delete-confirm').click();
      await page.waitForURL((u) => u.pathname === `/c/${username}`);
      await page.getByTestId('channel-name').waitFor();
      assert.equal((await page.getByTestId('channel-name').textContent()).trim(), username);
      assert.equal(await page.locator(`[data-testid="video-card"][data-video-id="${id}"]`).count(), 0);
      await owner.shot('channel-after-delete');

      // The old link: the in-layout "not found", with a way on.
      await page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
      const notFound = page.getByTestId('not-found');
      await notFound.waitFor();
      assert.match(await notFound.locator('h1').textContent(), /Video not found/);
      assert.equal(await page.getByTestId('site-header').isVisible(), true, 'inside the layout');
      assert.equal(await notFound.getByTestId('not-found-home').getAttribute('href'), '/index.html');
      assert.equal((await call(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`)).status, 404);
      await owner.shot('old-link');
      assert.deepEqual(owner.errors, [], 'no uncaught errors in the page');
    } catch (err) {
      await owner.shot('FAILED').catch(() => {});
      throw err;
    }
  });
});

// End-to-end test: the real MyVid server ($MYVID_BIN) + Debian's Chromium.
//
//   MYVID_BIN=/path/to/myvid npm test
//
// Screenshots of every step (and the server log) go to test-artifacts/.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from './support/server.mjs';
import { makeMedia } from './support/media.mjs';
import { launchBrowser } from './support/browser.mjs';
import { apiJson } from './support/live-pages.mjs';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** A random lowercase word that no other video will contain. */
function uniqueWord(prefix) {
  return prefix + Array.from(randomBytes(10), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('');
}

/** Open a fresh browser context + page that records uncaught page errors. */
async function openPage(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const pageErrors = [];
  const failedRequests = [];
  page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('response', (res) => {
    if (res.status() >= 500) failedRequests.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
  let n = 0;
  const shot = async (step) => {
    n += 1;
    const file = path.join(ARTIFACTS, `${name}-${String(n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  return { context, page, shot, pageErrors, failedRequests };
}

/** Run the test body; on failure save a screenshot of the page state. */
async function withFailureShot(ctx, fn) {
  try {
    await fn();
  } catch (err) {
    await ctx.shot('FAILED').catch(() => {});
    throw err;
  } finally {
    await ctx.context.close();
  }
}

/** Sign up a new user through login.html and land on upload.html. */
async function signUp(page, shot, username) {
  await page.goto('/login.html?next=upload.html');
  await page.getByTestId('signup-username').fill(username);
  await page.getByTestId('signup-email').fill(`${username}@example.test`);
  await page.getByTestId('signup-password').fill('correct horse battery');
  await shot('signup-form');
  await page.getByTestId('signup-submit').click();

  const signupError = page.getByTestId('signup-error');
  await Promise.race([
    page.waitForURL(/\/upload\.html$/),
    signupError.waitFor({ state: 'visible' }).then(async () => {
      throw new Error(`sign up failed on the page: ${await signupError.textContent()}`);
    }),
  ]);
  await page.getByTestId('nav-username').waitFor();
  assert.equal((await page.getByTestId('nav-username').textContent()).trim(), username, 'header shows the new username');
  assert.equal(await page.getByTestId('nav-logout').count(), 1, 'header offers Log out');
  const token = await page.evaluate(() => localStorage.getItem('myvid.token'));
  assert.ok(token && token.length > 8, 'a session token is stored');
  await page.getByTestId('upload-form').waitFor();
}

/**
 * Fill the upload form (the preview image only if given), upload, and wait until the
 * progress bars are at 100 % and the server's check of the video file is shown.
 *
 * @returns {Promise<{state: string, text: string}>} The check's verdict on the page
 *   (`data-state` playable, unplayable or unknown, and its line).
 */
async function uploadThroughPage(page, { title, description, preview, video }) {
  await page.getByTestId('upload-title').fill(title);
  await page.getByTestId('upload-description').fill(description);
  if (preview) await page.getByTestId('upload-preview').setInputFiles(preview);
  await page.getByTestId('upload-video').setInputFiles(video);
  await page.getByTestId('upload-submit').click();
  await page.getByTestId('upload-progress').waitFor({ state: 'visible' });

  const errorBox = page.getByTestId('upload-error');
  await Promise.race([
    page.waitForFunction(
      () =>
        document.querySelector('[data-testid="video-progress"]')?.value === 100 &&
        ['playable', 'unplayable', 'unknown'].includes(document.querySelector('[data-testid="check-result"]')?.dataset.state) &&
        /upload complete/i.test(document.querySelector('[data-testid="upload-status"]')?.textContent),
      null,
      { timeout: 30_000 },
    ),
    errorBox.waitFor({ state: 'visible', timeout: 30_000 }).then(async () => {
      throw new Error(`upload failed on the page: ${await errorBox.textContent()}`);
    }),
  ]);
  assert.equal(await page.getByTestId('video-progress-text').textContent(), '100%');
  assert.equal(await page.getByTestId('video-progress').getAttribute('max'), '100');
  if (preview) {
    assert.equal(await page.getByTestId('preview-progress-text').textContent(), '100%');
  } else {
    assert.ok(await page.getByTestId('preview-progress').isHidden(), 'no preview bar without a preview');
  }
  const check = page.getByTestId('check-result');
  return { state: await check.getAttribute('data-state'), text: await check.textContent() };
}

/** Search from the header search box on the current page. */
async function searchFromHeader(page, words) {
  const input = page.getByTestId('search-input');
  await input.fill(words);
  await input.press('Enter');
  await page.waitForURL((u) => u.pathname.endsWith('/search.html') && u.searchParams.get('q') === words);
  await page.waitForFunction(() => !document.querySelector('[data-testid="loading"]'));
  const error = page.getByTestId('error');
  if ((await error.count()) > 0) throw new Error(`search failed on the page: ${await error.textContent()}`);
}

describe('MyVid browser client end to end', () => {
  let server;
  let media;
  let browser;

  before(async () => {
    server = await startServer({ logFile: path.join(ARTIFACTS, 'server.log') });
    media = await makeMedia();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    await media?.cleanup();
  });

  const newPage = async (name) => {
    const ctx = await openPage(browser, name);
    await ctx.context.setDefaultNavigationTimeout(20_000);
    // Resolve relative page.goto() paths against the server.
    const goto = ctx.page.goto.bind(ctx.page);
    ctx.page.goto = (u, opts) => goto(new URL(u, server.url).href, opts);
    return ctx;
  };

  test('sign up, upload with progress, publish, search, watch', { timeout: 180_000 }, async () => {
    const ctx = await newPage('happy');
    const { page, shot, pageErrors, failedRequests } = ctx;
    await withFailureShot(ctx, async () => {
      const username = uniqueWord('u_').slice(0, 14);
      const word = uniqueWord('zq');
      const title = `Test pattern ${word} clip`;
      const description = `Four seconds of colour bars.\nUploaded by the end-to-end test (${word}).`;

      // 1. Sign up through login.html.
      await signUp(page, shot, username);
      await shot('upload-page');

      // 2. Upload the clip + preview; both progress bars reach 100 %, and the server's
      // check of the file says what it is before Publish.
      assert.equal(
        (await page.locator('label', { has: page.getByTestId('upload-preview') }).textContent()).trim(),
        'Preview image (optional: we take a frame of the video)',
      );
      const verdict = await uploadThroughPage(page, { title, description, preview: media.preview, video: media.clip });
      assert.deepEqual(verdict, { state: 'playable', text: '320×240 · 0:04 — ready to publish' });
      assert.match(await page.getByTestId('upload-status').textContent(), /^Upload complete\. Publish it/);
      assert.ok(await page.getByTestId('publish-button').isEnabled(), 'Publish is enabled after a good check');
      await shot('uploaded-100-percent');

      // Not public before publishing.
      const before = await apiJson(server.url, 'GET', `/v1/videos?q=${encodeURIComponent(word)}`);
      assert.equal(before.status, 200, `search API: ${before.text}`);
      assert.equal(before.json.items.length, 0, 'an unpublished video is not in search results');

      // 3. Publish.
      await page.getByTestId('publish-button').click();
      const watchLink = page.getByTestId('watch-link');
      const errorBox = page.getByTestId('upload-error');
      await Promise.race([
        watchLink.waitFor({ state: 'visible' }),
        errorBox.waitFor({ state: 'visible' }).then(async () => {
          throw new Error(`publish failed on the page: ${await errorBox.textContent()}`);
        }),
      ]);
      const href = await watchLink.getAttribute('href');
      const id = new URL(href, server.url).searchParams.get('v');
      assert.match(href, /^\/watch\.html\?v=/);
      assert.ok(id, 'the watch link carries the video id');
      assert.match(await watchLink.textContent(), new RegExp(word));
      assert.match(await page.getByTestId('publish-success').textContent(), /^Your video is published: Watch “/);
      assert.ok(await errorBox.isHidden(), 'no error after publishing');
      await shot('published');

      const published = await apiJson(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`);
      assert.equal(published.status, 200, `GET /API/VIDEO/{id}: ${published.text}`);
      assert.equal(published.json.title, title);
      assert.equal(published.json.visibility, 'public');
      assert.equal(published.json.owner, username);

      // 4. The home page shows it among the random videos.
      await page.getByTestId('nav-home').click();
      await page.waitForURL(/\/index\.html$|\/$/);
      const homeCard = page.locator(`[data-testid="video-card"][data-video-id="${id}"]`);
      await homeCard.waitFor();
      assert.equal((await homeCard.getByTestId('video-title').textContent()).trim(), title);
      await page.waitForFunction(
        (vid) => {
          const img = document.querySelector(`[data-video-id="${vid}"] img`);
          return img && img.complete && img.naturalWidth > 0;
        },
        id,
      );
      await shot('home');

      // 5. Search for the unique word from the header search box.
      await searchFromHeader(page, word);
      const results = page.getByTestId('search-results').getByTestId('video-card');
      assert.ok((await results.count()) >= 1, 'at least one search result');
      assert.equal(await results.first().getAttribute('data-video-id'), id, 'the new video is the best match');
      assert.equal((await results.first().getByTestId('video-title').textContent()).trim(), title);
      assert.equal(await page.getByTestId('no-results').count(), 0);
      assert.equal(await page.getByTestId('search-input').inputValue(), word, 'the search box keeps the query');
      await shot('search-results');

      // 6. Open it: the watch page plays the video.
      await results.first().click();
      await page.waitForURL((u) => u.pathname.endsWith('/watch.html') && u.searchParams.get('v') === id);
      await page.getByTestId('watch').waitFor({ state: 'visible' });
      assert.equal((await page.getByTestId('watch-title').textContent()).trim(), title);
      assert.match(await page.getByTestId('watch-owner').textContent(), new RegExp(`\\b${username}\\b`));
      assert.equal(await page.getByTestId('watch-description').textContent(), description);
      const player = page.getByTestId('video-player');
      assert.equal(await player.evaluate((v) => v.tagName), 'VIDEO');
      assert.equal(await player.getAttribute('aria-label'), `Video: ${title}`, 'the player has an accessible name');
      assert.equal(await player.evaluate((v) => v.controls), true, 'the video has controls');
      // The worker may already have made the HLS rendition (a 4 s clip takes it a second or
      // two): then hls.js plays it through MSE, otherwise the element plays the original.
      await page.waitForFunction(() => window.__myvidPlayback !== undefined);
      const engine = await page.evaluate(() => window.__myvidPlayback.engine);
      const src = await player.evaluate((v) => v.currentSrc || v.src);
      if (engine === 'hls.js') assert.ok(src.startsWith('blob:'), `hls.js plays through MSE (${src})`);
      else assert.ok(engine === 'original' && src.startsWith('http'), `the original plays from an absolute URL (${engine}: ${src})`);

      const playError = await player.evaluate(async (v) => {
        v.muted = true;
        try {
          await v.play();
          return null;
        } catch (e) {
          return String(e);
        }
      });
      assert.equal(playError, null, `video.play() failed: ${playError}`);
      await page.waitForFunction(
        () => document.querySelector('[data-testid="video-player"]').currentTime > 1.0,
        null,
        { timeout: 20_000 },
      );
      const state = await player.evaluate((v) => ({
        time: v.currentTime,
        duration: v.duration,
        width: v.videoWidth,
        height: v.videoHeight,
        error: v.error && v.error.code,
      }));
      assert.ok(state.time > 1.0, `currentTime advanced (${state.time})`);
      assert.equal(state.error, null);
      assert.equal(state.width, 320);
      assert.equal(state.height, 240);
      assert.ok(Math.abs(state.duration - 4) < 0.5, `duration is about 4 s (${state.duration})`);
      assert.equal(await page.getByTestId('player-error').count(), 0);
      await shot('watch-playing');

      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
      assert.deepEqual(failedRequests, [], 'no 5xx responses');
    });
  });

  test('log out, then log in again with the email', { timeout: 120_000 }, async () => {
    const ctx = await newPage('relogin');
    const { page, shot, pageErrors, failedRequests } = ctx;
    await withFailureShot(ctx, async () => {
      const username = uniqueWord('l_').slice(0, 14);
      await signUp(page, shot, username);

      // Log out from the header: the upload page now asks to log in.
      await page.getByTestId('nav-logout').click();
      await page.getByTestId('nav-login').waitFor();
      assert.equal(await page.getByTestId('nav-username').count(), 0);
      assert.equal(await page.evaluate(() => localStorage.getItem('myvid.token')), null, 'the token is forgotten');
      await page.getByTestId('login-required').waitFor();
      assert.equal(await page.getByTestId('upload-form').count(), 0);
      await shot('logged-out');

      // A wrong password shows the server's error on the form.
      await page.getByTestId('login-link').click();
      await page.waitForURL(/\/login\.html\?next=upload\.html$/);
      await page.getByTestId('login-credential').fill(`${username}@example.test`);
      await page.getByTestId('login-password').fill('not the password');
      await page.getByTestId('login-submit').click();
      const loginError = page.getByTestId('login-error');
      await loginError.waitFor({ state: 'visible' });
      // The message is for people; the code stays on the element for tests.
      assert.equal(await loginError.getAttribute('data-code'), 'invalid_credentials');
      assert.match(await loginError.textContent(), /^(?!invalid_credentials)\S/);
      await shot('wrong-password');

      // The right password logs in and returns to the upload page.
      await page.getByTestId('login-password').fill('correct horse battery');
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/upload\.html$/);
      await page.getByTestId('upload-form').waitFor();
      assert.equal((await page.getByTestId('nav-username').textContent()).trim(), username);
      await shot('logged-in-again');

      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
      assert.deepEqual(failedRequests, [], 'no 5xx responses');
    });
  });

  test('a video uploaded without a preview publishes with a frame of it as its preview', { timeout: 180_000 }, async () => {
    const ctx = await newPage('no-preview');
    const { page, shot, pageErrors, failedRequests } = ctx;
    await withFailureShot(ctx, async () => {
      const username = uniqueWord('n_').slice(0, 14);
      const word = uniqueWord('zn');
      const title = `No preview ${word}`;

      await signUp(page, shot, username);
      const verdict = await uploadThroughPage(page, { title, description: 'A frame will do.', preview: null, video: media.clip });
      assert.deepEqual(verdict, { state: 'playable', text: '320×240 · 0:04 — ready to publish' });
      await shot('uploaded-without-preview');

      await page.getByTestId('publish-button').click();
      const errorBox = page.getByTestId('upload-error');
      await Promise.race([
        page.getByTestId('watch-link').waitFor({ state: 'visible' }),
        errorBox.waitFor({ state: 'visible' }).then(async () => {
          throw new Error(`publish failed on the page: ${await errorBox.textContent()}`);
        }),
      ]);
      const id = new URL(await page.getByTestId('watch-link').getAttribute('href'), server.url).searchParams.get('v');

      // The server made a preview (a JPEG) from the video.
      const video = await apiJson(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`);
      assert.equal(video.status, 200, video.text);
      assert.ok(video.json.preview_url, `a preview_url: ${video.text}`);
      const image = await fetch(video.json.preview_url);
      assert.equal(image.status, 200);
      assert.equal(image.headers.get('content-type'), 'image/jpeg');
      const bytes = new Uint8Array(await image.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');

      // …and the pages show it: the search result's card has the image, loaded.
      await searchFromHeader(page, word);
      const card = page.locator(`[data-testid="video-card"][data-video-id="${id}"]`);
      await card.waitFor();
      await page.waitForFunction(
        (vid) => {
          const img = document.querySelector(`[data-testid="video-card"][data-video-id="${vid}"] img[data-testid="video-preview"]`);
          return img && img.complete && img.naturalWidth === 320 && img.naturalHeight === 240;
        },
        id,
      );
      await shot('search-with-made-preview');

      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
      assert.deepEqual(failedRequests, [], 'no 5xx responses');
    });
  });

  test('a fake video cannot be published and stays out of search', { timeout: 180_000 }, async () => {
    const ctx = await newPage('fake');
    const { page, shot, pageErrors, failedRequests } = ctx;
    await withFailureShot(ctx, async () => {
      const username = uniqueWord('f_').slice(0, 14);
      const word = uniqueWord('zf');
      const title = `Not really a video ${word}`;

      await signUp(page, shot, username);
      // A text file named fake.webm: the check after the upload says so, and Publish
      // is never offered.
      const verdict = await uploadThroughPage(page, { title, description: 'Plain text in disguise.', preview: media.preview, video: media.fake });
      assert.equal(verdict.state, 'unplayable');
      assert.match(verdict.text, /^This file isn't a video we can play: \S/);
      const publishButton = page.getByTestId('publish-button');
      assert.ok(await publishButton.isDisabled(), 'Publish is disabled for a file that does not play');
      assert.ok(await page.getByTestId('upload-reset').isVisible(), 'the page offers to upload another video');
      assert.ok(await page.getByTestId('upload-error').isHidden(), 'not an upload error: the upload itself worked');
      await shot('not-a-video-check');

      // The user's own list shows it as an unpublished draft; publishing it from there
      // anyway is refused by the server's own check.
      await page.getByTestId('mine-item').first().waitFor();
      const mine = page.getByTestId('mine-item').filter({ hasText: word });
      assert.equal(await mine.count(), 1, 'the draft is listed under "Your videos"');
      assert.match(await mine.textContent(), /draft/);
      await mine.getByTestId('mine-publish').click();
      const mineError = mine.getByTestId('mine-publish-error');
      await mineError.filter({ hasText: /\S/ }).waitFor();
      const errorText = await mineError.textContent();
      assert.equal(await mineError.getAttribute('data-code'), 'not_a_video', `the list shows the not_a_video error (got "${errorText}")`);
      assert.match(errorText, /^(?!not_a_video)\S/, `the message only, without its code (got "${errorText}")`);
      assert.equal(await mineError.getAttribute('role'), 'alert');
      assert.ok(await publishButton.isDisabled(), 'Publish stayed disabled');
      assert.equal(await page.getByTestId('watch-link').count(), 0, 'no watch link for a rejected video');
      await shot('not-a-video-error');

      // Not searchable, neither from the page nor through either search API.
      await searchFromHeader(page, word);
      const noResults = page.getByTestId('no-results');
      await noResults.waitFor();
      assert.equal((await noResults.textContent()).trim(), `No videos match “${word}”.`);
      assert.equal(await page.getByTestId('video-card').count(), 0);
      await shot('search-no-results');

      const v1 = await apiJson(server.url, 'GET', `/v1/videos?q=${encodeURIComponent(word)}`);
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.json.items.length, 0);
      const legacy = await apiJson(server.url, 'POST', '/API/VIDEO/', { search: word });
      assert.equal(legacy.status, 200, legacy.text);
      assert.ok(Array.isArray(legacy.json), 'POST /API/VIDEO/ returns an array');
      assert.equal(legacy.json.filter((v) => v.title === title).length, 0);

      // The failed upload can be deleted from "Your videos", after a confirmation.
      await page.goto('/upload.html');
      const draft = page.getByTestId('mine-item').filter({ hasText: word });
      await draft.waitFor();
      assert.match(await draft.getByTestId('mine-visibility').textContent(), /private · draft/);
      const draftId = await draft.getAttribute('data-video-id');
      page.once('dialog', (dialog) => dialog.accept());
      await draft.getByTestId('mine-delete').click();
      await draft.waitFor({ state: 'detached' });
      const token = await page.evaluate(() => localStorage.getItem('myvid.token'));
      const gone = await fetch(new URL(`/API/VIDEO/${encodeURIComponent(draftId)}`, server.url), { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(gone.status, 404, 'the draft is gone, for its owner too');

      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
      assert.deepEqual(failedRequests, [], 'no 5xx responses');
    });
  });
  test('long titles, the title counter, not-found states, the site 404, skip link, phone header, dark theme', { timeout: 180_000 }, async () => {
    const ctx = await newPage('polish');
    const { page, shot, pageErrors, failedRequests } = ctx;
    /** The page is no wider than the window (a long unbroken title wraps). */
    const assertNoOverflow = async (p, where) => {
      const [scroll, inner] = await p.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
      assert.ok(scroll <= inner, `${where}: the page is ${scroll} px wide in a ${inner} px window`);
    };
    await withFailureShot(ctx, async () => {
      const username = uniqueWord('t_').slice(0, 14);
      await signUp(page, shot, username);

      // The counter counts characters as the server does (code points, trimmed), and
      // holds the submit back over the limit.
      const title = page.getByTestId('upload-title');
      const count = page.getByTestId('upload-title-count');
      const submit = page.getByTestId('upload-submit');
      assert.equal(await count.textContent(), '0 / 200');
      assert.ok((await title.getAttribute('aria-describedby')).split(' ').includes(await count.getAttribute('id')), 'the counter describes the title');
      await title.fill('😀'.repeat(150));
      assert.equal(await count.textContent(), '150 / 200', 'an emoji is one character, not two UTF-16 units');
      await title.fill('x'.repeat(201));
      assert.equal(await count.textContent(), '201 / 200');
      assert.equal(await count.getAttribute('data-over'), 'true');
      assert.equal(await title.getAttribute('aria-invalid'), 'true');
      assert.ok(await submit.isDisabled(), 'no upload with a title over the limit');
      const red = await count.evaluate((el) => getComputedStyle(el).color);
      await shot('title-over-the-limit');
      const long = uniqueWord('w').padEnd(200, 'w');
      await title.fill(`${long}  `);
      assert.equal(await count.textContent(), '200 / 200', 'white space around the title does not count');
      assert.equal(await count.getAttribute('data-over'), 'false');
      assert.notEqual(await count.evaluate((el) => getComputedStyle(el).color), red, 'red only over the limit');
      assert.ok(await submit.isEnabled());

      // A 200-character unbroken title neither widens the upload page…
      const verdict = await uploadThroughPage(page, { title: `${long}  `, description: long, preview: null, video: media.clip });
      assert.equal(verdict.state, 'playable');
      await page.getByTestId('publish-button').click();
      await page.getByTestId('watch-link').waitFor({ state: 'visible' });
      await page.getByTestId('mine-item').filter({ hasText: long }).waitFor();
      await assertNoOverflow(page, 'upload page');
      await shot('long-title-published');
      const id = new URL(await page.getByTestId('watch-link').getAttribute('href'), server.url).searchParams.get('v');
      const stored = await apiJson(server.url, 'GET', `/API/VIDEO/${encodeURIComponent(id)}`);
      assert.equal(stored.json.title, long, 'the title is kept trimmed');

      // …nor the watch page, the home page or a search for it.
      await page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
      await page.getByTestId('watch').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('video-player').getAttribute('aria-label'), `Video: ${long}`);
      await assertNoOverflow(page, 'watch page');
      await page.goto(`/search.html?q=${long}`);
      await page.waitForFunction(() => !document.querySelector('[data-testid="loading"]'));
      await assertNoOverflow(page, 'search page');
      await page.goto('/');
      await page.getByTestId('video-grid').waitFor();
      await assertNoOverflow(page, 'home page');

      // Skip link: the first tab stop, hidden until focused, to the main element.
      await page.keyboard.press('Tab');
      const skip = await page.evaluate(() => {
        const el = document.activeElement;
        const box = el.getBoundingClientRect();
        return { cls: el.className, text: el.textContent, href: el.getAttribute('href'), visible: box.bottom > 0 && box.top < innerHeight };
      });
      assert.deepEqual(skip, { cls: 'skip-link', text: 'Skip to content', href: '#main', visible: true });
      assert.equal(await page.locator('main#main').count(), 1);
      await page.keyboard.press('Tab');
      const hidden = await page.locator('.skip-link').evaluate((el) => el.getBoundingClientRect().bottom <= 0);
      assert.ok(hidden, 'the skip link is out of sight once it loses the focus');

      // A video that is not there: a page in the layout with a way on.
      await page.goto('/watch.html?v=doesnotexist');
      const gone = page.getByTestId('not-found');
      await gone.waitFor();
      assert.equal((await gone.locator('h1').textContent()).trim(), 'Video not found');
      assert.equal(await gone.getByTestId('not-found-home').getAttribute('href'), '/index.html');
      assert.equal(await gone.locator('form[role="search"]').getAttribute('action'), '/search.html');
      assert.ok(await page.getByTestId('site-header').getByTestId('search-input').isVisible(), 'in the site layout');
      assert.ok(await page.getByTestId('watch').isHidden());
      await shot('watch-not-found');

      // The site 404, at any depth: status 404, the layout, a search box and a way home.
      const response = await page.goto('/no/such/page.html');
      assert.equal(response.status(), 404);
      await page.getByTestId('nav-username').waitFor();
      assert.equal((await page.getByTestId('not-found').locator('h1').textContent()).trim(), 'Page not found');
      assert.equal(await page.getByTestId('not-found-home').getAttribute('href'), '/index.html');
      await page.getByTestId('not-found-search').locator('input').fill('anything');
      await page.getByTestId('not-found-search').locator('input').press('Enter');
      await page.waitForURL((u) => u.pathname === '/search.html' && u.searchParams.get('q') === 'anything');
      await shot('site-404-search');

      // A phone in the dark: a header of one row, no page wider than the screen, a dark page.
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
      try {
        const p = await phone.newPage();
        p.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
        await p.goto(new URL(`/watch.html?v=${encodeURIComponent(id)}`, server.url).href);
        await p.getByTestId('watch').waitFor({ state: 'visible' });
        const header = await p.evaluate(() => {
          const box = (sel) => document.querySelector(sel).getBoundingClientRect();
          const [logo, search, menu] = [box('.logo'), box('.site-header .search-form'), box('.nav-menu > summary')];
          return { height: box('#site-header').height, row: logo.bottom > search.top && search.bottom > menu.top && menu.bottom > logo.top };
        });
        assert.ok(header.height <= 64, `the phone header is ${header.height} px high`);
        assert.ok(header.row, 'logo, search and Menu share one row');
        await assertNoOverflow(p, 'watch page on a phone');
        const luminance = await p.evaluate(() => {
          const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number).map((c) => {
            const v = c / 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        });
        assert.ok(luminance < 0.2, `the dark page's background has luminance ${luminance}`);
        assert.ok(await p.getByTestId('nav-upload').isHidden(), 'the nav is folded into the menu');
        await p.getByTestId('nav-menu-button').click();
        await p.getByTestId('nav-upload').waitFor({ state: 'visible' });
        await p.screenshot({ path: path.join(ARTIFACTS, 'polish-phone-dark-menu.png'), fullPage: true });
        await p.keyboard.press('Escape');
        await p.getByTestId('nav-upload').waitFor({ state: 'hidden' });
      } finally {
        await phone.close();
      }

      assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
      assert.deepEqual(failedRequests, [], 'no 5xx responses');
    });
  });
});

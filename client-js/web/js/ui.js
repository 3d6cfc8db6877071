/**
 * Small DOM helpers shared by the MyVid pages: element builder, the site
 * header, video cards and formatting.
 *
 * @module ui
 */

import * as myvid from './myvid.js';
import { startNotifications } from './notify.js';

/**
 * Create an element. Text children are added as text nodes (never parsed as HTML).
 *
 * @param {string} tag
 * @param {Record<string, any>|null} [attrs] Attributes; `class`, `dataset`,
 *   `on<event>` handlers and boolean attributes are supported.
 * @param {...(Node|string|number|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'testid') {
      el.setAttribute('data-testid', value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * @param {string} name
 * @returns {string|null} A query-string parameter of the current page.
 */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/**
 * Format seconds as `m:ss` or `h:mm:ss`.
 *
 * @param {number|null|undefined} seconds
 * @returns {string} Empty string when unknown.
 */
export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/**
 * @param {number|null|undefined} unixSeconds
 * @returns {string} Localized date, or empty string.
 */
export function formatDate(unixSeconds) {
  if (typeof unixSeconds !== 'number' || !Number.isFinite(unixSeconds)) return '';
  return new Date(unixSeconds * 1000).toLocaleDateString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
  });
}

/**
 * What to tell a person about an error: its message only. The machine-readable code
 * of an SDK error goes on the element that shows it ({@link markErrorCode}).
 *
 * @param {unknown} err
 * @returns {string}
 */
export function errorText(err) {
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}

/**
 * @param {unknown} err
 * @returns {string|null} The stable code of an SDK or live-signalling error
 *   (`not_a_video`, `invalid_credentials`…), or null for an error without one.
 */
export function errorCode(err) {
  const code = err && typeof err === 'object' && 'code' in err ? err.code : null;
  return typeof code === 'string' && code ? code : null;
}

/**
 * Keep the code of the error an element shows as its `data-code` (tests match on it,
 * people read the message), or remove it when `err` has none.
 *
 * @template {HTMLElement} T
 * @param {T} el
 * @param {unknown} err
 * @returns {T}
 */
export function markErrorCode(el, err) {
  const code = errorCode(err);
  if (code) el.dataset.code = code;
  else delete el.dataset.code;
  return el;
}

/** Longest title the server accepts, in characters (`MAX_TITLE_CHARS` in core/src/limits.rs). */
export const MAX_TITLE_CHARS = 200;

/**
 * The length of a text field as the server counts it: Unicode code points once
 * trimmed (an emoji is one, where `maxlength` would count two UTF-16 units).
 *
 * @param {string} text
 * @returns {number}
 */
export function textLength(text) {
  return [...String(text).trim()].length;
}

/**
 * A live "{n} / {max}" counter for a text input: it turns red over the limit, marks
 * the input `aria-invalid`, and describes the input (`aria-describedby`).
 *
 * @param {HTMLInputElement|HTMLTextAreaElement} input Must have an `id`.
 * @param {{max?: number, testid?: string, onChange?: (over: boolean) => void}} [options]
 *   `onChange` is called on every update with whether the text is too long.
 * @returns {{element: HTMLElement, update: () => boolean}} `update` recounts (after a
 *   change made by script, which fires no `input` event) and returns whether it is over.
 */
export function charCounter(input, { max = MAX_TITLE_CHARS, testid, onChange } = {}) {
  const element = h('small', { class: 'char-count', id: `${input.id}-count`, testid });
  input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), element.id].filter(Boolean).join(' '));
  const update = () => {
    const n = textLength(input.value);
    const over = n > max;
    element.textContent = `${n} / ${max}`;
    element.dataset.over = String(over);
    if (over) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    if (onChange) onChange(over);
    return over;
  };
  input.addEventListener('input', update);
  update();
  return { element, update };
}

/**
 * @param {string} [page] Page to go to after logging in (default: the current page).
 * @returns {string} Link to the login page.
 */
export function loginHref(page) {
  const here = location.pathname.replace(/^\/+/, '');
  if (page === undefined && here.endsWith('login.html')) return `/login.html${location.search}`;
  const next = page ?? here + location.search;
  return `/login.html?next=${encodeURIComponent(next || 'index.html')}`;
}

/**
 * The watch page link of a video.
 *
 * @param {string} id
 * @returns {string}
 */
export function watchHref(id) {
  return `/watch.html?v=${encodeURIComponent(id)}`;
}

/**
 * A channel's page link. Root-absolute like every link of the pages: the channel page
 * itself lives at `/c/{name}`, and the pages' CSP (`base-uri 'none'`) leaves no base.
 *
 * @param {string} username
 * @returns {string}
 */
export function channelHref(username) {
  return `/c/${encodeURIComponent(username)}`;
}

/**
 * "1 view", "1,234 views".
 *
 * @param {number|null|undefined} n
 * @returns {string} Empty string when unknown.
 */
export function formatViews(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '';
  return `${n.toLocaleString('en-US')} ${n === 1 ? 'view' : 'views'}`;
}

/**
 * A red "LIVE" badge.
 *
 * @param {string} [extraClass]
 * @returns {HTMLElement}
 */
export function liveBadge(extraClass = '') {
  return h(
    'span',
    { class: `live-badge ${extraClass}`.trim(), testid: 'live-badge' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'live-label' }, 'LIVE'),
  );
}

/**
 * Mark a {@link liveBadge} with a watch or broadcast state: grey "ENDED" once over.
 *
 * @param {HTMLElement} badge
 * @param {string} state
 */
export function setBadgeState(badge, state) {
  badge.dataset.state = state;
  const label = badge.querySelector('.live-label');
  if (label) label.textContent = state === 'ended' ? 'ENDED' : 'LIVE';
}

function placeholder(live) {
  return live
    ? h('div', { class: 'thumb-placeholder thumb-live', 'aria-hidden': 'true', testid: 'live-placeholder' }, h('span', { class: 'live-glyph' }, '((•))'))
    : h('div', { class: 'thumb-placeholder', 'aria-hidden': 'true' }, '▶');
}

/**
 * Preview image (or a placeholder) with the duration badge; live streams get a
 * placeholder and a red LIVE badge instead.
 *
 * @param {import('./myvid.js').Video} video
 * @returns {HTMLElement}
 */
export function thumbnail(video) {
  const live = myvid.isLive(video);
  if (live) return h('div', { class: 'thumb' }, placeholder(true), liveBadge('thumb-badge'));
  const duration = formatDuration(video.duration_seconds);
  const img = video.preview_url
    ? h('img', { src: video.preview_url, alt: '', loading: 'lazy', testid: 'video-preview' })
    : placeholder(false);
  if (img.tagName === 'IMG') {
    img.addEventListener('error', () => img.replaceWith(placeholder(false)));
  }
  return h(
    'div',
    { class: 'thumb' },
    img,
    duration ? h('span', { class: 'duration', testid: 'video-duration' }, duration) : null,
  );
}

/**
 * A video card for grids and result lists: an `<article>` whose title link is
 * stretched over the whole card (style.css `.card-link::after`), and, above it, a
 * separate link to the owner's channel — two sibling links, never one inside another.
 *
 * @param {import('./myvid.js').Video} video
 * @param {{showDescription?: boolean, showOwner?: boolean}} [options] `showOwner`
 *   false leaves the owner out (on the owner's own channel page).
 * @returns {HTMLElement}
 */
export function videoCard(video, { showDescription = false, showOwner = true } = {}) {
  const live = myvid.isLive(video);
  const when = live ? 'live now' : formatDate(video.published_at ?? video.created_at);
  const views = live ? '' : formatViews(video.views);
  const owner = showOwner && video.owner
    ? h('a', { class: 'card-owner', href: video.owner_url || channelHref(video.owner), testid: 'video-owner' }, video.owner)
    : null;
  const rest = [views ? h('span', { testid: 'video-views' }, views) : null, when].filter(Boolean);
  const meta = [owner, ...rest].filter(Boolean).flatMap((part, i) => (i === 0 ? [part] : [' · ', part]));
  return h(
    'article',
    { class: `card${live ? ' card-live' : ''}`, testid: 'video-card', dataset: live ? { videoId: video.id, live: 'true' } : { videoId: video.id } },
    thumbnail(video),
    h(
      'div',
      { class: 'card-body' },
      h(
        'h3',
        { class: 'card-title', testid: 'video-title', title: video.title },
        h('a', { class: 'card-link', href: watchHref(video.id), testid: 'video-link' }, video.title || 'Untitled'),
      ),
      meta.length ? h('p', { class: 'card-meta', testid: 'video-meta' }, ...meta) : null,
      showDescription && video.description
        ? h('p', { class: 'card-desc', testid: 'video-description' }, video.description)
        : null,
    ),
  );
}

/**
 * A message box (error, info, success) with `role="alert"` for errors.
 *
 * @param {'error'|'info'|'success'} kind
 * @param {string|Node} content
 * @param {string} [testid]
 * @returns {HTMLElement}
 */
export function message(kind, content, testid) {
  return h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid }, content);
}

/** Phones get the nav folded into a "Menu" (the same width as in style.css). */
const PHONE = '(max-width: 640px)';

/**
 * Render the shared site header (logo, search box, Upload, Go live, login state) into
 * `<header id="site-header">`. Re-renders itself when the session changes. The nav
 * sits in a `<details>` "Menu": open, with its summary hidden, on wide screens; folded
 * on phones, so that the header stays one row (logo mark, search, Menu). Its links are
 * root-absolute: the site 404 page shows the header at any path.
 *
 * @param {{query?: string}} [options] Prefill the search box.
 */
export function renderHeader({ query = '' } = {}) {
  const header = document.getElementById('site-header');
  if (!header) return;
  const phone = typeof matchMedia === 'function' ? matchMedia(PHONE) : null;

  const draw = () => {
    const user = myvid.currentUser();
    const input = header.querySelector('input[name="q"]');
    const currentQuery = input ? input.value : query;
    const here = `/${location.pathname.replace(/^.*\//, '') || 'index.html'}`;
    const navLink = (href, text, testid) =>
      h('a', { href, class: here === href ? 'active' : null, testid, 'aria-current': here === href ? 'page' : null }, text);

    const account = user
      ? [
          h('a', { class: 'nav-user', href: channelHref(user.username), testid: 'nav-username', title: user.email || '' }, user.username),
          h(
            'button',
            {
              type: 'button',
              class: 'link-button',
              testid: 'nav-logout',
              onclick: async (e) => {
                e.currentTarget.disabled = true;
                try {
                  await myvid.logout();
                } catch {
                  // The local session is cleared anyway.
                }
                location.reload();
              },
            },
            'Log out',
          ),
        ]
      : [navLink(loginHref(), 'Log in', 'nav-login')];

    const menu = h(
      'details',
      { class: 'nav-menu', testid: 'nav-menu', open: !(phone && phone.matches) },
      h('summary', { class: 'nav-menu-button', testid: 'nav-menu-button' }, 'Menu'),
      h(
        'nav',
        { class: 'nav', 'aria-label': 'Main' },
        navLink('/index.html', 'Home', 'nav-home-link'),
        navLink('/upload.html', 'Upload', 'nav-upload'),
        navLink('/broadcast.html', 'Go live', 'nav-go-live'),
        user ? navLink('/following.html', 'Following', 'nav-following') : null,
        ...account,
      ),
    );
    // Escape folds the phone menu and gives the focus back to its button.
    menu.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !menu.open || !(phone && phone.matches)) return;
      menu.open = false;
      menu.querySelector('summary').focus();
    });

    header.replaceChildren(
      h(
        'div',
        { class: 'header-inner' },
        h(
          'a',
          { href: '/index.html', class: 'logo', testid: 'nav-home', 'aria-label': 'MyVid home' },
          h('span', { class: 'logo-mark', 'aria-hidden': 'true' }, '▶'),
          h('span', { class: 'logo-text' }, 'MyVid'),
        ),
        h(
          'form',
          { class: 'search-form', action: '/search.html', method: 'get', role: 'search', testid: 'search-form' },
          h('input', {
            type: 'search',
            name: 'q',
            placeholder: 'Search videos',
            'aria-label': 'Search videos',
            value: currentQuery,
            testid: 'search-input',
            maxlength: '200',
            required: true,
          }),
          h('button', { type: 'submit', testid: 'search-submit' }, 'Search'),
        ),
        menu,
      ),
    );
  };

  draw();
  // Live notifications for signed-in users; re-marks the Following link each render.
  startNotifications();
  addEventListener('myvid:auth', () => startNotifications());
  addEventListener('storage', (e) => {
    if (e.key === null || e.key.startsWith('myvid.')) draw();
  });
  if (phone) {
    // Crossing the breakpoint (a rotated phone, a resized window): open on wide
    // screens, folded on phones.
    phone.addEventListener('change', () => {
      const menu = header.querySelector('details.nav-menu');
      if (menu) menu.open = !phone.matches;
    });
    // A tap outside the open phone menu folds it.
    document.addEventListener('click', (e) => {
      const menu = header.querySelector('details.nav-menu');
      if (phone.matches && menu && menu.open && !menu.contains(/** @type {Node} */ (e.target))) menu.open = false;
    });
  }

  // Check that the stored token is still valid; a 401 clears it (and redraws).
  if (myvid.isLoggedIn()) {
    myvid.me().then(draw, () => draw());
  }
}

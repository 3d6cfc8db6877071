/**
 * Live notifications for signed-in pages: one WebSocket to `GET /v1/me/notifications`
 * per page. When a followed channel goes live the page shows a toast ("alice is live:
 * {title} — Watch"), and the header's "Following" link carries a dot while a followed
 * channel is live (until the page reloads: the socket tells of streams starting, not ending).
 *
 * ```text
 *  renderHeader ─▶ startNotifications() ─▶ WebSocket ─▶ {"type":"auth","token"}
 *     ◀─ ready {live:[…]}     the followed channels live now (dot, no toast)
 *     ◀─ went_live {…}        a toast, the dot
 *  lost: reconnect after 250 ms, doubling to 4 s; 4401 / 4429: give up
 * ```
 *
 * @module notify
 */

import * as myvid from './myvid.js';

/** First reconnection delay after the socket is lost; doubles per try (like live.js). */
export const RECONNECT_FIRST_DELAY_MS = 250;
/** Longest delay between reconnection tries. */
export const RECONNECT_MAX_DELAY_MS = 4000;
/** How long a toast stays up. */
export const TOAST_MS = 20_000;

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([4401, 4429]);

/**
 * @typedef {object} LiveNotice
 * @property {string} channel The broadcaster's username.
 * @property {string} video_id
 * @property {string} title
 * @property {number} started_at Unix seconds.
 */

const state = {
  /** @type {WebSocket|null} */
  socket: null,
  /** @type {string|null} The token the socket is for. */
  token: null,
  delay: RECONNECT_FIRST_DELAY_MS,
  /** @type {ReturnType<typeof setTimeout>|null} */
  timer: null,
  /** @type {Map<string, LiveNotice>} Followed streams known to be live, by video id. */
  live: new Map(),
  listening: false,
};

/**
 * Connect (once) for the signed-in user, or disconnect after a log-out; then mark the
 * header's "Following" link. Safe to call on every header render.
 */
export function startNotifications() {
  if (!state.listening) {
    state.listening = true;
    // A log-in or log-out in another tab.
    addEventListener('storage', (e) => {
      if (e.key === null || e.key.startsWith('myvid.')) startNotifications();
    });
  }
  const token = myvid.getToken();
  if (token !== state.token) {
    stop();
    state.token = token;
    if (token && typeof WebSocket === 'function') connect();
  }
  markFollowingLink();
}

/** @returns {LiveNotice[]} Followed streams this page knows to be live. */
export function liveNow() {
  return [...state.live.values()];
}

function stop() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000);
  setSocketState('off');
  state.live.clear();
  state.delay = RECONNECT_FIRST_DELAY_MS;
}

/**
 * Where the socket is, on the document (`data-notify`: `connecting`, `ready`,
 * `reconnecting`, `refused`, `off`), for tests and styles.
 *
 * @param {string} value
 */
function setSocketState(value) {
  document.documentElement.dataset.notify = value;
}

function socketUrl() {
  const url = new URL('/v1/me/notifications', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

function connect() {
  const token = state.token;
  const socket = new WebSocket(socketUrl());
  state.socket = socket;
  setSocketState('connecting');
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ type: 'auth', token }));
  });
  socket.addEventListener('message', (e) => {
    if (state.socket !== socket) return;
    let message;
    try {
      message = JSON.parse(String(e.data));
    } catch {
      return;
    }
    handle(message);
  });
  socket.addEventListener('close', (e) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (FINAL_CLOSE_CODES.has(e.code)) {
      setSocketState('refused');
      return;
    }
    setSocketState('reconnecting');
    const delay = state.delay;
    state.delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
    state.timer = setTimeout(() => {
      state.timer = null;
      if (state.token === token) connect();
    }, delay);
  });
}

/** @param {any} message */
function handle(message) {
  if (message.type === 'ready' && Array.isArray(message.live)) {
    state.delay = RECONNECT_FIRST_DELAY_MS;
    state.live = new Map(message.live.map((n) => [n.video_id, n]));
    setSocketState('ready');
    markFollowingLink();
  } else if (message.type === 'went_live' && typeof message.video_id === 'string') {
    const receivedAt = Date.now();
    // A stream can be in `ready` and in a `went_live` right after: show it once.
    if (state.live.has(message.video_id)) return;
    state.live.set(message.video_id, message);
    markFollowingLink();
    showToast(message, receivedAt);
  }
}

/**
 * Put the dot on the header's "Following" link while a followed channel is live. The
 * mark is on the document (`data-followed-live`, drawn by style.css), so that it holds
 * across the header's re-renders.
 */
function markFollowingLink() {
  const live = state.live.size > 0;
  document.documentElement.dataset.followedLive = String(live);
  const link = document.querySelector('[data-testid="nav-following"]');
  if (link) link.title = live ? 'Someone you follow is live' : '';
}

function toastArea() {
  let area = document.getElementById('live-toasts');
  if (!area) {
    area = document.createElement('div');
    area.id = 'live-toasts';
    area.className = 'live-toasts';
    document.body.append(area);
  }
  return area;
}

/**
 * @param {LiveNotice} notice
 * @param {number} receivedAt `Date.now()` when it arrived.
 */
function showToast(notice, receivedAt) {
  const toast = document.createElement('div');
  toast.className = 'live-toast';
  toast.setAttribute('role', 'status');
  toast.setAttribute('data-testid', 'live-toast');
  toast.dataset.receivedAt = String(receivedAt);
  toast.dataset.videoId = notice.video_id;
  const text = document.createElement('span');
  text.textContent = `${notice.channel} is live: ${notice.title} — `;
  const watch = document.createElement('a');
  watch.href = `/watch.html?v=${encodeURIComponent(notice.video_id)}`;
  watch.textContent = 'Watch';
  watch.setAttribute('data-testid', 'live-toast-watch');
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'link-button live-toast-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => toast.remove());
  const body = document.createElement('span');
  body.className = 'live-toast-text';
  body.append(text, watch);
  toast.append(body, close);
  toastArea().append(toast);
  setTimeout(() => toast.remove(), TOAST_MS);
}

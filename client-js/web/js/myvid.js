/**
 * MyVid browser SDK.
 *
 * A thin wrapper around the MyVid HTTP API. Plain ES module, no dependencies.
 * Live streaming (go live, watch live) is in `live.js`, re-exported here as
 * `live` (`myvid.live.publish(…)`) and as `newStream`, `iceServers`,
 * `publishLive` and `watch`.
 * The session token is kept in `localStorage` (falls back to memory when
 * `localStorage` is not available, e.g. under Node for tests).
 *
 * Every failed request rejects with a {@link MyVidError} whose `code` and
 * `status` come from the server's JSON error body
 * (`{"error":{"code":"...","message":"..."}}`).
 *
 * @module myvid
 */

/**
 * @typedef {object} User
 * @property {string|number} id
 * @property {string} username
 * @property {string} email
 */

/**
 * @typedef {object} Session
 * @property {string} token Bearer token.
 * @property {User} user
 */

/**
 * @typedef {object} Video
 * @property {string} id
 * @property {string} title
 * @property {string} description
 * @property {"HTTP"|"WebRTC"} type `HTTP`: fetch `url`. `WebRTC`: a live stream,
 *   watch it with {@link watch} (`live.js`).
 * @property {string} url Absolute (possibly time-limited, signed) URL of the video;
 *   for live streams the signalling WebSocket (same as `ws_url`).
 * @property {string|null} preview_url Absolute URL of the preview image, if any
 *   (live streams have none).
 * @property {string|null} owner Username of the owner, if any.
 * @property {"public"|"unlisted"|"private"} visibility `unlisted`: plays for anyone
 *   with the link, listed nowhere.
 * @property {number} [views] How many times it was watched (stored and external videos;
 *   counted once per viewer per hour, shown within about 10 s).
 * @property {string|null} [owner_url] The owner's channel page (`/c/{name}`), if any.
 * @property {"MYVID"|"HTTP"|"LIVE"} source
 * @property {"pending"|"live"|"ended"} [live_state] Live streams only.
 * @property {boolean} [record] Live streams only: whether it is recorded (once it
 *   ends, its recording becomes the video at the same id).
 * @property {string} [ws_url] Live streams: signalling WebSocket.
 * @property {string} [whep_url] Live streams: WHEP URL.
 * @property {import('./live.js').IceServer[]} [ice_servers] Live streams: STUN/TURN servers.
 * @property {number|null} duration_seconds
 * @property {number} created_at Unix seconds.
 * @property {number|null} published_at Unix seconds, or null while unpublished.
 * @property {string} [hls_url] Stored videos, once transcoded: signed URL of the
 *   HLS master playlist (play it with `player.js`; `url` stays the original).
 * @property {"processing"|"ready"|"failed"} [transcode] Stored videos: where making
 *   the HLS renditions stands ({@link transcodeStatus} has the detail). Absent for
 *   live streams and imported (external) videos.
 */

/**
 * @typedef {object} Rendition
 * @property {string} name e.g. `720p`.
 * @property {number} width
 * @property {number} height
 * @property {number} bandwidth Peak bits per second, as in the master playlist.
 */

/**
 * @typedef {object} TranscodeStatus
 * @property {"PENDING_TRANSCODE"|"TRANSCODING"|"READY"|"FAILED"} state
 * @property {number|null} percent 0–100 while `TRANSCODING` (100 once `READY`), else null.
 * @property {Rendition[]} renditions The renditions, once `READY`, highest first.
 * @property {string|null} error Why it `FAILED`; only the owner is told.
 * @property {number} [attempts] Runs so far (a failed run is retried).
 * @property {number} [max_attempts] Runs before it is given up as `FAILED`.
 * @property {number|null} [next_attempt_at] Unix seconds of the next retry, if one waits.
 */

/**
 * @typedef {object} VideoPage
 * @property {Video[]} items
 * @property {string|null} next_cursor Pass back as `cursor` to get the next page.
 */

/**
 * @typedef {object} Channel
 * @property {string} username
 * @property {string} url Its page, `/c/{username}`.
 * @property {number} created_at Unix seconds.
 * @property {number} followers
 * @property {boolean|null} following Whether the signed-in user follows it; null when
 *   asked anonymously.
 * @property {Video|null} live Its live stream, if it is live now.
 */

/**
 * @typedef {object} FollowState
 * @property {boolean} following
 * @property {number} followers The channel's follower count after the change.
 */

/**
 * @typedef {object} FollowedChannel
 * @property {{username: string, url: string}} channel
 * @property {Video|null} live Its live stream, if it is live now.
 * @property {number} followed_at Unix seconds.
 */

/**
 * @typedef {object} RelatedVideo
 * @property {"watched_together"|"similar"|"popular"} reason Why it was chosen.
 * @property {Video} video
 */

/**
 * @typedef {object} PendingUpload
 * @property {string} id Id of the (not yet published) video.
 * @property {string} preview_upload_url Signed URL to PUT the preview image to. Optional:
 *   a video published without one gets a frame of itself as its preview.
 * @property {string} video_upload_url Signed URL to PUT the video file to.
 * @property {number} [multipart_threshold] Video files above this many bytes go up in
 *   parts, resumably (`resumable.js`).
 * @property {number} [part_size] The server's part size for such uploads.
 * @property {string} endpoint Upload endpoint that created the upload.
 */

/**
 * @typedef {object} UploadCheck The server's verdict on an uploaded video file
 *   ({@link checkUpload}). The sizes, length and sound are given for a playable file.
 * @property {boolean} playable Whether MyVid can play (and transcode) it.
 * @property {string|null} reason Why not, in words for the uploader.
 * @property {number|null} width Picture width in pixels.
 * @property {number|null} height Picture height in pixels.
 * @property {number|null} duration_seconds Length, measured by decoding it.
 * @property {boolean|null} has_audio Whether it has sound.
 */

/**
 * @typedef {object} UploadProgress
 * @property {number} loaded Bytes sent so far.
 * @property {number} total Total bytes to send (0 if unknown).
 * @property {number} fraction `loaded / total`, between 0 and 1.
 */

const TOKEN_KEY = 'myvid.token';
const USER_KEY = 'myvid.user';

/** Fallback codes for error responses that carry no JSON error body. */
const STATUS_CODES = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
};

/**
 * Error thrown by every SDK call that fails.
 */
export class MyVidError extends Error {
  /**
   * @param {string} message Human readable message (from the server when available).
   * @param {string} code Machine readable code, e.g. `not_found`, `not_a_video`.
   * @param {number} status HTTP status, or 0 when the request never got a response.
   */
  constructor(message, code, status) {
    super(message);
    this.name = 'MyVidError';
    /** @type {string} */
    this.code = code;
    /** @type {number} */
    this.status = status;
  }

  /** @returns {string} `code: message`, suitable to show to the user. */
  toString() {
    return `${this.code}: ${this.message}`;
  }
}

/**
 * Build a {@link MyVidError} from an HTTP error response.
 *
 * Uses `error.code` / `error.message` from a JSON body shaped like
 * `{"error":{"code":"...","message":"..."}}`; otherwise falls back to a code
 * derived from the status and the raw body text as message.
 *
 * @param {number} status HTTP status code.
 * @param {string} bodyText Raw response body.
 * @param {string} [statusText] HTTP status text, used when the body is empty.
 * @returns {MyVidError}
 */
export function errorFromResponse(status, bodyText, statusText = '') {
  let parsed = null;
  if (bodyText) {
    try {
      parsed = JSON.parse(bodyText);
    } catch {
      parsed = null;
    }
  }
  const err = parsed && typeof parsed === 'object' ? parsed.error : null;
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    const message = typeof err.message === 'string' && err.message ? err.message : err.code;
    return new MyVidError(message, err.code, status);
  }
  const code = STATUS_CODES[status] || (status >= 500 ? 'server_error' : `http_${status}`);
  const text = (bodyText || '').trim();
  const message = text && text.length <= 300 ? text : statusText || `HTTP ${status}`;
  return new MyVidError(message, code, status);
}

// ---------------------------------------------------------------------------
// Configuration and session storage
// ---------------------------------------------------------------------------

function defaultStorage() {
  try {
    const ls = globalThis.localStorage;
    if (ls) {
      const probe = '__myvid_probe__';
      ls.setItem(probe, '1');
      ls.removeItem(probe);
      return ls;
    }
  } catch {
    // localStorage may throw (disabled storage); use memory instead.
  }
  const map = new Map();
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}

const config = {
  baseUrl: '',
  /** @type {{getItem(k:string):string|null,setItem(k:string,v:string):void,removeItem(k:string):void}} */
  storage: defaultStorage(),
};

/**
 * Change SDK settings. Pages never need this; it exists for tests and for
 * using the SDK from another origin.
 *
 * @param {object} options
 * @param {string} [options.baseUrl] Server origin, e.g. `http://127.0.0.1:8080`
 *   (default: empty, i.e. same origin as the page).
 * @param {{getItem:Function,setItem:Function,removeItem:Function}} [options.storage]
 *   Where to keep the session (default: `localStorage`).
 */
export function configure({ baseUrl, storage } = {}) {
  if (baseUrl !== undefined) config.baseUrl = String(baseUrl).replace(/\/+$/, '');
  if (storage !== undefined) config.storage = storage;
}

/** @returns {string|null} The stored session token, if logged in. */
export function getToken() {
  return config.storage.getItem(TOKEN_KEY);
}

/** @returns {User|null} The user stored with the session, if logged in. */
export function currentUser() {
  const raw = config.storage.getItem(USER_KEY);
  if (!raw || !getToken()) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/** @returns {boolean} Whether a session token is stored. */
export function isLoggedIn() {
  return Boolean(getToken());
}

function saveSession(token, user) {
  config.storage.setItem(TOKEN_KEY, token);
  if (user) config.storage.setItem(USER_KEY, JSON.stringify(user));
  notifyAuthChange();
}

/** Forget the stored session (does not contact the server). */
export function clearSession() {
  const had = getToken() !== null;
  config.storage.removeItem(TOKEN_KEY);
  config.storage.removeItem(USER_KEY);
  if (had) notifyAuthChange();
}

function notifyAuthChange() {
  if (typeof globalThis.dispatchEvent === 'function' && typeof globalThis.Event === 'function') {
    globalThis.dispatchEvent(new Event('myvid:auth'));
  }
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

function resolveUrl(path) {
  if (/^https?:\/\//i.test(path)) return path;
  return config.baseUrl + path;
}

/**
 * Send a JSON request to the API.
 *
 * @param {string} method
 * @param {string} path Absolute URL or path starting with `/`.
 * @param {object} [options]
 * @param {unknown} [options.body] Serialized as JSON when given.
 * @param {boolean} [options.auth] Send the bearer token; fails with
 *   `unauthorized` before sending when not logged in.
 * @returns {Promise<any>} Parsed JSON body, or `null` for empty bodies (204).
 */
export async function request(method, path, { body, auth = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const token = getToken();
    if (!token) throw new MyVidError('You need to log in first.', 'unauthorized', 401);
    headers.Authorization = `Bearer ${token}`;
  }
  let res;
  try {
    res = await fetch(resolveUrl(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new MyVidError(`Could not reach the server (${e && e.message ? e.message : e}).`, 'network_error', 0);
  }
  const text = await res.text();
  if (!res.ok) {
    const err = errorFromResponse(res.status, text, res.statusText);
    if (auth && res.status === 401) clearSession();
    throw err;
  }
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new MyVidError('The server sent an invalid JSON response.', 'bad_response', res.status);
  }
}

function itemsOf(page) {
  return page && Array.isArray(page.items) ? page.items : [];
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

/**
 * Create an account and log in with it.
 *
 * @param {{username: string, email: string, password: string}} fields
 *   Username: 3–32 letters, digits, `_`, `.` or `-`. Password: 8–128 characters.
 * @returns {Promise<Session>}
 * @throws {MyVidError} `conflict` if the username or email is taken, `invalid_input`.
 */
export async function signup({ username, email, password }) {
  const session = await request('POST', '/v1/auth/signup', { body: { username, email, password } });
  saveSession(session.token, session.user);
  return session;
}

/**
 * Log in.
 *
 * @param {{credential: string, password: string}} fields `credential` is the
 *   username or the email address.
 * @returns {Promise<Session>}
 * @throws {MyVidError} `invalid_credentials`.
 */
export async function login({ credential, password }) {
  const session = await request('POST', '/v1/auth/login', { body: { credential, password } });
  saveSession(session.token, session.user);
  return session;
}

/**
 * Log out: revoke the token on the server and forget it locally. The local
 * session is cleared even if the server call fails.
 *
 * @returns {Promise<void>}
 */
export async function logout() {
  try {
    if (getToken()) await request('POST', '/v1/auth/logout', { auth: true });
  } finally {
    clearSession();
  }
}

/**
 * Fetch the logged-in user (also refreshes the stored copy). A rejected
 * token (401) clears the local session.
 *
 * @returns {Promise<User>}
 */
export async function me() {
  const user = await request('GET', '/v1/me', { auth: true });
  if (user && getToken()) config.storage.setItem(USER_KEY, JSON.stringify(user));
  return user;
}

// ---------------------------------------------------------------------------
// Videos
// ---------------------------------------------------------------------------

/**
 * Search public videos, one page at a time.
 *
 * @param {string} words Search words.
 * @param {{limit?: number, cursor?: string|null}} [options]
 * @returns {Promise<VideoPage>} Best match first.
 */
export async function searchVideosPage(words, { limit = 20, cursor = null } = {}) {
  const params = new URLSearchParams({ q: String(words ?? ''), limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  const page = await request('GET', `/v1/videos?${params}`);
  return { items: itemsOf(page), next_cursor: (page && page.next_cursor) || null };
}

/**
 * Search public videos.
 *
 * @param {string} words Search words.
 * @returns {Promise<Video[]>} First page of results, best match first.
 */
export async function searchVideos(words) {
  return (await searchVideosPage(words)).items;
}

/**
 * Random public videos.
 *
 * @param {number} [limit=12]
 * @returns {Promise<Video[]>}
 */
export async function randomVideos(limit = 12) {
  return itemsOf(await request('GET', `/v1/videos/random?limit=${encodeURIComponent(limit)}`));
}

/**
 * Get one video. Sends the token when logged in so owners can see their
 * private videos.
 *
 * @param {string} id
 * @returns {Promise<Video>}
 * @throws {MyVidError} `not_found`.
 */
export async function getVideo(id) {
  return getAsViewer(`/API/VIDEO/${encodeURIComponent(id)}`);
}

/** GET with the token when logged in (owners see more), anonymously otherwise. */
async function getAsViewer(path) {
  if (!isLoggedIn()) return request('GET', path);
  try {
    return await request('GET', path, { auth: true });
  } catch (e) {
    // A stale token must not hide a public video: retry anonymously.
    if (e instanceof MyVidError && e.status === 401) return request('GET', path);
    throw e;
  }
}

/**
 * Where transcoding a stored video stands: queued, running (with a percentage),
 * ready or failed. Anyone who may view the video may ask; the failure's `error` is
 * only given to its owner, so the token is sent when logged in.
 *
 * @param {string} id
 * @returns {Promise<TranscodeStatus>}
 * @throws {MyVidError} `not_found` (also for live streams and imported videos).
 */
export async function transcodeStatus(id) {
  return getAsViewer(`/v1/videos/${encodeURIComponent(id)}/transcode`);
}

/**
 * The logged-in user's videos, including private and unpublished ones.
 * Follows `next_cursor` up to `maxPages` pages.
 *
 * @param {{maxPages?: number}} [options]
 * @returns {Promise<Video[]>}
 */
export async function myVideos({ maxPages = 10 } = {}) {
  const all = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const path = cursor ? `/v1/me/videos?cursor=${encodeURIComponent(cursor)}` : '/v1/me/videos';
    const page = await request('GET', path, { auth: true });
    all.push(...itemsOf(page));
    cursor = page && page.next_cursor;
    if (!cursor) break;
  }
  return all;
}

/**
 * Start an upload: asks the server for an upload endpoint, then registers the
 * video there. Returns the signed URLs to send the files to with
 * {@link uploadFile}. The video stays private until {@link publish}.
 *
 * @param {object} fields
 * @param {string} fields.title
 * @param {string} [fields.description]
 * @param {File|{name: string}|null} [fields.previewFile] Preview image (only its name is
 *   sent here); without one, publishing takes a frame of the video.
 * @param {File|{name: string}} fields.videoFile Video file (only its name is sent here).
 * @returns {Promise<PendingUpload>}
 */
export async function createUpload({ title, description = '', previewFile, videoFile }) {
  const { endpoint } = await request('POST', '/API/NEWUPLOAD/', { auth: true });
  if (!endpoint) throw new MyVidError('The server gave no upload endpoint.', 'bad_response', 200);
  const created = await request('POST', `${String(endpoint).replace(/\/+$/, '')}/NEWVIDEOUPLOAD`, {
    auth: true,
    body: {
      title,
      description,
      preview_filename: previewFile ? previewFile.name : '',
      video_filename: videoFile ? videoFile.name : '',
    },
  });
  return { ...created, endpoint };
}

/**
 * Whether the video file of an unpublished upload is one MyVid can play, asked as soon
 * as it is uploaded (a single PUT, or a multipart upload completed) so the uploader
 * learns it before pressing Publish. The server probes and decodes the file, so this
 * takes about as long as decoding it. Advisory: publishing checks the file again.
 *
 * @param {string} id The upload's (video's) id.
 * @returns {Promise<UploadCheck>}
 * @throws {MyVidError} `upload_incomplete` (409) before the video file is uploaded,
 *   `conflict` (409) once published, `not_found`, `forbidden`, `unavailable` (503: the
 *   checker could not run).
 */
export async function checkUpload(id) {
  return request('POST', `/v1/uploads/${encodeURIComponent(id)}/check`, { auth: true });
}

/** How long an upload may go without progress before it is given up as stalled. */
export const UPLOAD_STALL_MS = 60_000;

/**
 * Aborts `xhr` when neither upload progress nor an answer came for `ms`: a storage
 * server that lost quorum can hold a request open forever. Returns `stalled()`, true
 * once it fired (the caller's `abort` handler tells a stall from a cancel with it).
 *
 * @param {XMLHttpRequest} xhr
 * @param {number} [ms]
 * @returns {() => boolean}
 */
export function watchStall(xhr, ms = UPLOAD_STALL_MS) {
  let fired = false;
  let timer = null;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fired = true;
      xhr.abort();
    }, ms);
  };
  xhr.upload.addEventListener('progress', arm);
  xhr.addEventListener('loadend', () => clearTimeout(timer));
  arm();
  return () => fired;
}

/** The error of an upload request given up by {@link watchStall}. */
export function stalledError(ms = UPLOAD_STALL_MS) {
  return new MyVidError(
    `The upload stalled: nothing moved for ${Math.round(ms / 1000)} s (the storage may be unavailable). Try again shortly.`,
    'upload_stalled',
    0,
  );
}

/**
 * PUT a file's raw bytes to a signed upload URL, reporting progress.
 * Uses XMLHttpRequest because `fetch` cannot report upload progress.
 *
 * @param {string} url Signed upload URL from {@link createUpload}.
 * @param {Blob} file
 * @param {(progress: UploadProgress) => void} [onProgress]
 * @returns {Promise<any>} Parsed JSON body of the response (or `null`).
 * @throws {MyVidError} e.g. `payload_too_large` (413), `forbidden` (403, URL
 *   expired or tampered with), `network_error`, `aborted`, `upload_stalled`.
 */
export function uploadFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', resolveUrl(url));
    const stalled = watchStall(xhr);
    const total = file && typeof file.size === 'number' ? file.size : 0;
    const report = (loaded, size) => {
      if (!onProgress) return;
      const t = size || total;
      onProgress({ loaded, total: t, fraction: t > 0 ? Math.min(1, loaded / t) : 0 });
    };
    xhr.upload.addEventListener('progress', (e) => report(e.loaded, e.lengthComputable ? e.total : total));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress({ loaded: total, total, fraction: 1 });
        let body = null;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          body = xhr.responseText;
        }
        resolve(body);
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText, xhr.statusText));
      }
    });
    xhr.addEventListener('error', () =>
      reject(new MyVidError('The upload failed: could not reach the server.', 'network_error', 0)),
    );
    xhr.addEventListener('abort', () => reject(stalled() ? stalledError() : new MyVidError('The upload was cancelled.', 'aborted', 0)));
    xhr.send(file);
  });
}

/**
 * Publish an uploaded video (makes it public).
 *
 * @param {string} id
 * @returns {Promise<Video>} The video, now public.
 * @throws {MyVidError} `upload_incomplete` (409), `not_a_video` (422),
 *   `forbidden` (403), `not_found` (404).
 */
export async function publish(id) {
  return request('POST', `/API/PUBLISH/${encodeURIComponent(id)}`, { auth: true });
}

// ---------------------------------------------------------------------------
// Managing one's videos
// ---------------------------------------------------------------------------

/**
 * Change a video's title, description or visibility (owner only). Only the fields
 * given are sent.
 *
 * @param {string} id
 * @param {{title?: string, description?: string, visibility?: "public"|"unlisted"|"private"}} changes
 * @returns {Promise<Video>} The video as it is now.
 * @throws {MyVidError} `invalid_input` (empty or too long title), `forbidden`,
 *   `not_found`, `conflict` (the visibility of an unpublished upload or a live stream).
 */
export async function updateVideo(id, { title, description, visibility } = {}) {
  const body = {};
  if (title !== undefined) body.title = title;
  if (description !== undefined) body.description = description;
  if (visibility !== undefined) body.visibility = visibility;
  return request('PATCH', `/v1/videos/${encodeURIComponent(id)}`, { auth: true, body });
}

/**
 * Delete a video for good (owner only): it disappears from every list at once, its
 * files soon after.
 *
 * @param {string} id
 * @returns {Promise<void>}
 * @throws {MyVidError} `forbidden`, `not_found`, `conflict` (a stream that is live:
 *   end the broadcast first).
 */
export async function deleteVideo(id) {
  await request('DELETE', `/v1/videos/${encodeURIComponent(id)}`, { auth: true });
}

// ---------------------------------------------------------------------------
// Channels and follows
// ---------------------------------------------------------------------------

function channelPath(username) {
  return `/v1/channels/${encodeURIComponent(username)}`;
}

/**
 * A channel: its name, follower count, whether the signed-in user follows it, and its
 * live stream if it is live. Sends the token when logged in.
 *
 * @param {string} username
 * @returns {Promise<Channel>}
 * @throws {MyVidError} `not_found`.
 */
export async function channel(username) {
  return getAsViewer(channelPath(username));
}

/**
 * A channel's public videos, newest first, one page at a time.
 *
 * @param {string} username
 * @param {{cursor?: string|null, limit?: number}} [options]
 * @returns {Promise<VideoPage>}
 * @throws {MyVidError} `not_found`.
 */
export async function channelVideos(username, { cursor = null, limit } = {}) {
  const params = new URLSearchParams();
  if (cursor) params.set('cursor', cursor);
  if (limit !== undefined) params.set('limit', String(limit));
  const query = params.toString() ? `?${params}` : '';
  return pageOf(await request('GET', `${channelPath(username)}/videos${query}`));
}

/**
 * Follow a channel (idempotent).
 *
 * @param {string} username
 * @returns {Promise<FollowState>}
 * @throws {MyVidError} `unauthorized`, `not_found`, `invalid_input` (one's own channel).
 */
export async function follow(username) {
  return request('PUT', `${channelPath(username)}/follow`, { auth: true });
}

/**
 * Stop following a channel (idempotent).
 *
 * @param {string} username
 * @returns {Promise<FollowState>}
 */
export async function unfollow(username) {
  return request('DELETE', `${channelPath(username)}/follow`, { auth: true });
}

/**
 * The channels the signed-in user follows, live ones first, one page at a time.
 *
 * @param {{cursor?: string|null}} [options]
 * @returns {Promise<{items: FollowedChannel[], next_cursor: string|null}>}
 */
export async function following({ cursor = null } = {}) {
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
  return pageOf(await request('GET', `/v1/me/following${query}`, { auth: true }));
}

// ---------------------------------------------------------------------------
// Listings, Up next and views
// ---------------------------------------------------------------------------

/**
 * Public videos in one order, one page at a time: `latest` (newest first), `popular`
 * (most viewed first) or `live` (the streams live now).
 *
 * @param {{sort?: "latest"|"popular"|"live", cursor?: string|null, limit?: number}} [options]
 * @returns {Promise<VideoPage>}
 */
export async function listVideos({ sort = 'latest', cursor = null, limit } = {}) {
  const params = new URLSearchParams({ sort });
  if (cursor) params.set('cursor', cursor);
  if (limit !== undefined) params.set('limit', String(limit));
  return pageOf(await request('GET', `/v1/videos?${params}`));
}

/**
 * Videos to watch after this one, each with why it was chosen.
 *
 * @param {string} id
 * @param {{limit?: number}} [options]
 * @returns {Promise<RelatedVideo[]>}
 * @throws {MyVidError} `not_found`.
 */
export async function related(id, { limit = 8 } = {}) {
  const page = await getAsViewer(`/v1/videos/${encodeURIComponent(id)}/related?limit=${encodeURIComponent(limit)}`);
  return itemsOf(page);
}

/** Where the anonymous viewer id is kept. */
const VIEWER_KEY = 'myvid.viewer';

/** The alphabet of viewer ids (URL-safe base64). */
const VIEWER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * This browser's viewer id: 22 random URL-safe characters (132 bits), made once and
 * kept in storage, so that a viewer who reloads is counted once per hour.
 *
 * @returns {string}
 */
export function viewerId() {
  const stored = config.storage.getItem(VIEWER_KEY);
  if (stored && /^[A-Za-z0-9_-]{22}$/.test(stored)) return stored;
  const bytes = new Uint8Array(22);
  globalThis.crypto.getRandomValues(bytes);
  const id = Array.from(bytes, (b) => VIEWER_ALPHABET[b & 63]).join('');
  config.storage.setItem(VIEWER_KEY, id);
  return id;
}

/**
 * Count a view of a stored or external video (call it when it first plays; live
 * streams are not counted). Sends the token when logged in, and this browser's
 * {@link viewerId}.
 *
 * @param {string} id
 * @returns {Promise<void>}
 */
export async function countView(id) {
  const path = `/v1/videos/${encodeURIComponent(id)}/views`;
  const body = { viewer: viewerId() };
  if (isLoggedIn()) {
    try {
      await request('POST', path, { auth: true, body });
      return;
    } catch (e) {
      if (!(e instanceof MyVidError && e.status === 401)) throw e;
    }
  }
  await request('POST', path, { body });
}

function pageOf(page) {
  return { items: itemsOf(page), next_cursor: (page && page.next_cursor) || null };
}

/**
 * True for a live stream entry (`type` `WebRTC`).
 *
 * @param {Video|null|undefined} video
 * @returns {boolean}
 */
export function isLive(video) {
  return Boolean(video) && (video.type === 'WebRTC' || video.source === 'LIVE');
}

// Live streaming (see live.js). `publish` there is re-exported as `publishLive`
// because `publish` here publishes an uploaded video.
export * as live from './live.js';
export { newStream, iceServers, watch, publish as publishLive } from './live.js';

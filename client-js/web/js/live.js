/**
 * MyVid live streaming: go live from the browser and watch live streams.
 *
 * Signalling is JSON over one WebSocket per session (`ws_url`), one message per
 * text frame, each an object with a `type` field (see `proto/src/signal.rs`):
 *
 * ```text
 *  broadcaster                     server (SFU)                      viewer
 *  {"type":"publish",token,sdp} ─▶            ◀─ {"type":"join"}
 *           ◀─ {"type":"answer",sdp}          {"type":"offer",sdp} ─▶
 *                                             ◀─ {"type":"answer",sdp}
 *  {"type":"candidate","candidate","sdp_mid","sdp_mline_index"}  both ways
 *           ◀─ {"type":"viewers",count}       {"type":"ended",reason} ─▶
 *  {"type":"error",code,message} (session continues) · {"type":"bye",reason} (closing)
 *  chat (opt-in, after the answer/offer): chat_join{token?} chat_send{text,nonce}
 *    chat_delete{id} chat_mute{id,seconds} ─▶  ◀─ chat_joined chat_message chat_deleted
 *    chat_muted chat_refused, and `viewers` for chat members (handle.chat)
 * ```
 *
 * An `error` before the server's answer (broadcaster) or offer (viewer) means the
 * `publish`/`join` was refused, and fails the session; later ones are reported
 * through `onError` and the session goes on. A `bye` from the server fails the
 * session too (the server ends sessions that way when media fails); a viewer's
 * normal end is `ended`.
 *
 * The server is ICE-lite: its SDP already carries its candidates, so it may trickle
 * none; this side always trickles its own. Frames over {@link MAX_FRAME_BYTES} are
 * never sent; malformed frames from the server are ignored with a console warning.
 *
 * Everything here is also re-exported by `myvid.js` (`myvid.live.publish`, …).
 *
 * @module live
 */

import { request, getVideo, MyVidError } from './myvid.js';

/** Largest frame either side may send (the server refuses larger ones). */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Largest SDP the server accepts inside a frame. */
export const MAX_SDP_BYTES = 32 * 1024;
/** Longest `reason` the server accepts in a `bye`. */
const MAX_REASON_BYTES = 512;
/** Simulcast is used only when the camera is at least this wide. */
export const SIMULCAST_MIN_WIDTH = 640;
/** First reconnection delay after the signalling socket is lost; doubles per try. */
export const RECONNECT_FIRST_DELAY_MS = 250;
/** Longest delay between reconnection tries. */
export const RECONNECT_MAX_DELAY_MS = 4000;
/** How long the server keeps a lost session, unless its `session` message says otherwise. */
export const DEFAULT_RESUME_GRACE_MS = 30_000;

/**
 * Where to reconnect: the first of `urls` (least loaded first) that is not the one
 * just lost, else the lost one (it may have come back), else null.
 *
 * @param {string[]} urls
 * @param {string} lost
 * @returns {string|null}
 */
export function pickReconnectUrl(urls, lost) {
  const list = Array.isArray(urls) ? urls.filter((u) => typeof u === 'string' && /^wss?:\/\//i.test(u)) : [];
  return list.find((u) => u !== lost) || list[0] || null;
}
/** Simulcast layers, lowest first: rid and how much each is scaled down. */
export const SIMULCAST_LAYERS = Object.freeze([
  Object.freeze({ rid: 'q', scaleResolutionDownBy: 4 }),
  Object.freeze({ rid: 'h', scaleResolutionDownBy: 2 }),
  Object.freeze({ rid: 'f', scaleResolutionDownBy: 1 }),
]);
/** How long a session may take to start playing before it is given up. */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/**
 * @typedef {object} IceServer Same shape as the browser's `RTCIceServer`.
 * @property {string[]|string} urls
 * @property {string} [username]
 * @property {string} [credential]
 */

/**
 * @typedef {object} StreamGrant What {@link newStream} returns.
 * @property {string} stream_id Also the id of the stream's video entry (watch page).
 * @property {string} endpoint
 * @property {string} ws_url Signalling WebSocket.
 * @property {string} whip_url
 * @property {string} whep_url
 * @property {string} token Publish token, sent in `publish`.
 * @property {IceServer[]} ice_servers
 * @property {boolean} record Whether the stream is recorded.
 */

/**
 * @typedef {"connecting"|"live"|"reconnecting"|"failed"|"ended"} PublishState
 * @typedef {"connecting"|"playing"|"reconnecting"|"failed"|"ended"} WatchState
 */

/**
 * @typedef {object} StateDetail Second argument of `onState`.
 * @property {string} [reason] Why the session ended (`ended`), for people.
 * @property {MyVidError} [error] What went wrong (`failed`).
 */

/**
 * @typedef {object} PublishHandle
 * @property {PublishState} state Current state.
 * @property {number|null} viewers Last viewer count from the server.
 * @property {RTCPeerConnection|null} pc The peer connection (for `getStats()`).
 * @property {string} streamId
 * @property {ChatHandle} chat The stream's chat (join it to take part).
 * @property {MyVidError|null} error Why it failed, once `failed`.
 * @property {(reason?: string) => void} stop Sends `bye`, closes the socket and the
 *   peer connection (the camera tracks are left to the caller). State becomes `ended`.
 * @property {Promise<{state: PublishState, reason?: string, error?: MyVidError}>} closed
 *   Settles once the session is over.
 */

/**
 * @typedef {object} WatchHandle
 * @property {WatchState} state Current state.
 * @property {RTCPeerConnection|null} pc The peer connection (for `getStats()`).
 * @property {MediaStream|null} stream The remote stream, once tracks arrived.
 * @property {ChatHandle} chat The stream's chat (join it to take part).
 * @property {MyVidError|null} error Why it failed, once `failed`.
 * @property {{start: number, offer: number|null, connected: number|null, firstFrame: number|null}} timing
 *   `performance.now()` when `watch` was called, when the offer arrived, when ICE and
 *   DTLS were connected and when the first frame was shown (null until then).
 * @property {number|null} maxBitrate The bit rate cap in force (`null`: none).
 * @property {(bps: number|null) => void} setMaxBitrate Caps what is received at `bps`
 *   bit/s (no simulcast layer above it); `null` or 0 lifts the cap.
 * @property {(reason?: string) => void} stop Sends `bye` and closes everything.
 * @property {Promise<{state: WatchState, reason?: string, error?: MyVidError}>} closed
 */

// ---------------------------------------------------------------------------
// HTTP calls
// ---------------------------------------------------------------------------

/**
 * Create a live stream (login required). It stays private and unlisted until the
 * broadcast actually starts, and is listed only while live.
 *
 * @param {{title: string, description?: string, record?: boolean}} fields Title: 1–200
 *   characters. `record` (default true): record the stream, which becomes a video at
 *   its id once it ends.
 * @returns {Promise<StreamGrant>}
 * @throws {MyVidError} `unauthorized`, `invalid_input`.
 */
export async function newStream({ title, description = '', record = true }) {
  const grant = await request('POST', '/API/NEWSTREAM/', { auth: true, body: { title, description, record } });
  if (!grant || typeof grant.ws_url !== 'string' || typeof grant.token !== 'string' || !grant.stream_id) {
    throw new MyVidError('The server gave an incomplete answer to NEWSTREAM.', 'bad_response', 200);
  }
  return grant;
}

/**
 * STUN/TURN servers to use for watching.
 *
 * @returns {Promise<IceServer[]>}
 */
export async function iceServers() {
  const answer = await request('GET', '/API/ICE');
  return sanitizeIceServers(answer && answer.ice_servers);
}

/**
 * @typedef {object} ChatGrant
 * @property {string} token Send it with {@link ChatHandle#join}.
 * @property {number} expires_at Unix seconds (6 hours from now).
 * @property {string} name The name shown on your messages.
 * @property {boolean} moderator Whether you may delete messages and mute people.
 */

/**
 * A chat token for a live stream (login required).
 *
 * @param {string} streamId
 * @returns {Promise<ChatGrant>}
 * @throws {MyVidError} `unauthorized`, `not_found`, `stream_ended`.
 */
export async function chatToken(streamId) {
  const grant = await request('POST', `/v1/streams/${encodeURIComponent(streamId)}/chat-token`, { auth: true });
  if (!grant || typeof grant.token !== 'string') {
    throw new MyVidError('The server gave an incomplete answer for a chat token.', 'bad_response', 200);
  }
  return grant;
}

/**
 * Keep only well-formed ICE server entries (a bad entry would make the
 * `RTCPeerConnection` constructor throw).
 *
 * @param {unknown} list
 * @returns {IceServer[]}
 */
export function sanitizeIceServers(list) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const s of list) {
    if (!s || typeof s !== 'object') continue;
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => typeof u === 'string' && /^(stuns?|turns?):/i.test(u));
    if (urls.length === 0) continue;
    const server = { urls };
    if (typeof s.username === 'string') server.username = s.username;
    if (typeof s.credential === 'string') server.credential = s.credential;
    out.push(server);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();

/** @param {string} text @returns {number} UTF-8 length. */
export function byteLength(text) {
  return encoder.encode(text).length;
}

function truncateUtf8(text, max) {
  // `max` characters are at least `max` bytes: start there, then trim to fit.
  let s = String(text ?? '').slice(0, max);
  while (byteLength(s) > max) s = s.slice(0, -1);
  return s;
}

/**
 * The `candidate` message for a local ICE candidate; `null` (gathering finished)
 * gives the end-of-candidates message (empty `candidate`).
 *
 * @param {RTCIceCandidate|RTCIceCandidateInit|null} candidate
 * @returns {{type: "candidate", candidate: string, sdp_mid?: string, sdp_mline_index?: number}}
 */
export function candidateToWire(candidate) {
  const msg = { type: 'candidate', candidate: candidate && typeof candidate.candidate === 'string' ? candidate.candidate : '' };
  if (candidate && candidate.sdpMid !== null && candidate.sdpMid !== undefined) msg.sdp_mid = String(candidate.sdpMid);
  if (candidate && Number.isInteger(candidate.sdpMLineIndex) && candidate.sdpMLineIndex >= 0) {
    msg.sdp_mline_index = candidate.sdpMLineIndex;
  }
  return msg;
}

/**
 * The `RTCIceCandidateInit` for a received `candidate` message.
 *
 * @param {{candidate: string, sdp_mid?: string|null, sdp_mline_index?: number|null}} msg
 * @returns {RTCIceCandidateInit}
 */
export function candidateFromWire(msg) {
  const init = { candidate: msg.candidate };
  if (typeof msg.sdp_mid === 'string') init.sdpMid = msg.sdp_mid;
  if (Number.isInteger(msg.sdp_mline_index)) init.sdpMLineIndex = msg.sdp_mline_index;
  return init;
}

const isString = (v) => typeof v === 'string';
const optString = (v) => v === undefined || v === null || typeof v === 'string';
const optIndex = (v) => v === undefined || v === null || (Number.isInteger(v) && v >= 0 && v <= 65535);

/** Field checks per server message type. */
const SERVER_MESSAGES = {
  answer: (m) => isString(m.sdp) && m.sdp.length > 0,
  offer: (m) => isString(m.sdp) && m.sdp.length > 0,
  candidate: (m) => isString(m.candidate) && optString(m.sdp_mid) && optIndex(m.sdp_mline_index),
  viewers: (m) => Number.isInteger(m.count) && m.count >= 0,
  ended: (m) => optString(m.reason),
  error: (m) => isString(m.code) && optString(m.message),
  bye: (m) => optString(m.reason),
  session: (m) => isString(m.resume) && m.resume.length > 0 && Number.isInteger(m.grace_ms) && m.grace_ms >= 0,
  resumed: () => true,
  chat_joined: (m) =>
    typeof m.can_write === 'boolean' && typeof m.moderator === 'boolean' && optString(m.name) &&
    Array.isArray(m.history) && m.history.every(isChatLine) && Number.isInteger(m.viewers) && m.viewers >= 0 &&
    Number.isInteger(m.max_chars) && m.max_chars > 0,
  chat_message: (m) => isChatLine(m),
  chat_deleted: (m) => isString(m.id),
  chat_muted: (m) => isString(m.user) && Number.isInteger(m.until_ms) && m.until_ms >= 0,
  chat_refused: (m) => isString(m.code) && isString(m.message) && optString(m.nonce) &&
    (m.retry_after_ms === undefined || m.retry_after_ms === null || (Number.isInteger(m.retry_after_ms) && m.retry_after_ms >= 0)),
};

/** Whether `m` has the fields of a chat line (`chat_message`, `chat_joined`'s history). */
function isChatLine(m) {
  return !!m && isString(m.id) && isString(m.user) && isString(m.text) && Number.isInteger(m.at_ms) && optString(m.nonce);
}

/**
 * Parse one frame from the server. Anything that is not a well-formed server
 * message (binary, oversize, not JSON, unknown `type`, wrong field types) gives
 * `null` and a console warning.
 *
 * @param {unknown} data `MessageEvent.data`
 * @returns {{type: string, [key: string]: any}|null}
 */
export function parseServerMessage(data) {
  const warn = (why) => {
    console.warn(`myvid live: ignoring a malformed signalling frame (${why})`);
    return null;
  };
  if (typeof data !== 'string') return warn('not a text frame');
  if (data.length > MAX_FRAME_BYTES || byteLength(data) > MAX_FRAME_BYTES) return warn(`over ${MAX_FRAME_BYTES} bytes`);
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return warn('not JSON');
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return warn('not a JSON object');
  if (typeof msg.type !== 'string') return warn('no "type"');
  const check = Object.hasOwn(SERVER_MESSAGES, msg.type) ? SERVER_MESSAGES[msg.type] : null;
  if (!check) return warn(`unknown type "${msg.type.slice(0, 40)}"`);
  if (!check(msg)) return warn(`bad fields for "${msg.type}"`);
  if (msg.type === 'ended' || msg.type === 'bye') msg.reason = msg.reason || '';
  if (msg.type === 'error') msg.message = msg.message || msg.code;
  return msg;
}

/** Readable texts for the error codes the endpoint and SFU send. */
const ERROR_TEXTS = {
  no_media_server: 'No media server is available right now. Try again in a moment.',
  media_server_timeout: 'The media server did not answer in time. Try again.',
  media_server_gone: 'The media server went away. Try again.',
  draining: 'The media server is shutting down. Try again.',
  busy: 'The live service is busy right now. Try again shortly.',
  unauthorized: 'The server refused the stream token. Start a new broadcast.',
  stream_ended: 'This broadcast has ended and cannot go live again. Start a new broadcast.',
  not_found: 'This live stream does not exist or is not live.',
};

/**
 * A {@link MyVidError} for a server `error` message, with a readable text.
 *
 * @param {{code: string, message?: string}} msg
 * @returns {MyVidError}
 */
export function liveError(msg) {
  const text = ERROR_TEXTS[msg.code] || msg.message || msg.code;
  return new MyVidError(text, msg.code, 0);
}

// ---------------------------------------------------------------------------
// Signalling socket
// ---------------------------------------------------------------------------

/**
 * One signalling WebSocket: queues messages until it is open, refuses frames over
 * {@link MAX_FRAME_BYTES}, parses what arrives.
 */
export class SignalChannel {
  /**
   * @param {string} url
   * @param {object} handlers
   * @param {(msg: object) => void} handlers.onMessage A well-formed server message.
   * @param {(event: {code: number, reason: string}) => void} handlers.onClose The socket closed
   *   (not called after {@link SignalChannel#close}).
   * @param {typeof WebSocket} [WebSocketImpl]
   */
  constructor(url, { onMessage, onClose }, WebSocketImpl = globalThis.WebSocket) {
    if (typeof WebSocketImpl !== 'function') {
      throw new MyVidError('This browser does not support WebSockets.', 'unsupported', 0);
    }
    /** @type {string[]} */
    this.queue = [];
    this.closed = false;
    this.url = url;
    try {
      this.ws = new WebSocketImpl(url);
    } catch (e) {
      throw new MyVidError(`Cannot open the signalling connection to ${url} (${e && e.message ? e.message : e}).`, 'network_error', 0);
    }
    this.ws.addEventListener('open', () => {
      const pending = this.queue;
      this.queue = [];
      for (const frame of pending) this.ws.send(frame);
    });
    this.ws.addEventListener('message', (e) => {
      if (this.closed) return;
      const msg = parseServerMessage(e.data);
      if (msg) onMessage(msg);
    });
    this.ws.addEventListener('close', (e) => {
      if (this.closed) return;
      this.closed = true;
      onClose({ code: e.code, reason: e.reason || '' });
    });
    // Errors are always followed by `close`, which is where they are handled.
    this.ws.addEventListener('error', () => {});
  }

  /**
   * Send a message (queued until the socket is open).
   *
   * @param {object} msg
   * @throws {MyVidError} `frame_too_large` (nothing sent) or `closed`.
   */
  send(msg) {
    const frame = JSON.stringify(msg);
    const size = byteLength(frame);
    if (size > MAX_FRAME_BYTES) {
      throw new MyVidError(`The "${msg.type}" message is ${size} bytes, over the ${MAX_FRAME_BYTES}-byte frame limit; not sent.`, 'frame_too_large', 0);
    }
    if (this.closed || this.ws.readyState > 1) throw new MyVidError('The signalling connection is closed.', 'closed', 0);
    if (this.ws.readyState === 1) this.ws.send(frame);
    else this.queue.push(frame);
  }

  /**
   * Send `bye` (if the socket is open or opening) and close.
   *
   * @param {string} [reason]
   */
  close(reason = 'closing') {
    if (this.closed) return;
    const open = this.ws.readyState === 1;
    if (this.ws.readyState <= 1) {
      const frame = JSON.stringify({ type: 'bye', reason: truncateUtf8(reason, MAX_REASON_BYTES) });
      if (open) this.ws.send(frame);
    }
    this.closed = true;
    this.queue = [];
    try {
      this.ws.close(1000, 'bye');
    } catch {
      // already closing
    }
  }
}

// ---------------------------------------------------------------------------
// Peer connection helpers
// ---------------------------------------------------------------------------

/**
 * The `sendEncodings` for a camera track: three simulcast layers (rid `q`, `h`,
 * `f` at 1/4, 1/2 and full size) when simulcast is on and the camera is at least
 * {@link SIMULCAST_MIN_WIDTH} pixels wide, one plain encoding otherwise.
 *
 * @param {number|undefined} width Camera width in pixels.
 * @param {boolean} simulcast
 * @returns {RTCRtpEncodingParameters[]}
 */
export function videoEncodings(width, simulcast) {
  if (!simulcast || !Number.isFinite(width) || width < SIMULCAST_MIN_WIDTH) return [{}];
  return SIMULCAST_LAYERS.map((l) => ({ rid: l.rid, scaleResolutionDownBy: l.scaleResolutionDownBy, active: true }));
}

/**
 * Put `mimeType` first in a transceiver's codec preferences (the others stay, in
 * their order, so RTX/RED/FEC keep working).
 *
 * @param {RTCRtpTransceiver} transceiver
 * @param {string} mimeType e.g. `video/VP8`
 * @param {{RTCRtpReceiver?: any, RTCRtpSender?: any}} [env]
 * @returns {boolean} Whether the preference was applied.
 */
export function preferCodec(transceiver, mimeType, env = globalThis) {
  if (!transceiver || typeof transceiver.setCodecPreferences !== 'function') return false;
  const kind = mimeType.split('/')[0];
  const wanted = mimeType.toLowerCase();
  for (const source of [env.RTCRtpReceiver, env.RTCRtpSender]) {
    const caps = source && typeof source.getCapabilities === 'function' ? source.getCapabilities(kind) : null;
    if (!caps || !Array.isArray(caps.codecs)) continue;
    const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
    if (first.length === 0) return false;
    const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
    try {
      transceiver.setCodecPreferences([...first, ...rest]);
      return true;
    } catch {
      // Try the other capability list (browsers differ on which one they check).
    }
  }
  return false;
}

function errorOf(e, code = 'webrtc_error') {
  if (e instanceof MyVidError) return e;
  const text = e && e.message ? e.message : String(e);
  return new MyVidError(text, code, 0);
}

const now = () => (globalThis.performance && typeof performance.now === 'function' ? performance.now() : Date.now());

// ---------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------

/** How long "Mute 10 min" mutes, in seconds. */
export const CHAT_MUTE_SECONDS = 600;

/** Chat lines a handle remembers (for de-duplication and `messages`). */
const CHAT_LINES_KEPT = 500;

let chatNonces = 0;

/**
 * @typedef {object} ChatLine
 * @property {string} id The room's id (`m42`).
 * @property {string} user The author's name.
 * @property {string} text Plain text: show it with `textContent`, never as HTML.
 * @property {number} at_ms When the server accepted it (ms since the epoch).
 * @property {string} [nonce] Yours, on your own messages (what {@link ChatHandle#send} returned).
 */

/**
 * A live session's chat. Nothing is sent until {@link ChatHandle#join}; the server
 * sends nothing chat-related to a session that never joined.
 *
 * Events ({@link ChatHandle#on}): `joined` `{canWrite, moderator, name, maxChars, viewers}`,
 * `message` (a {@link ChatLine}; history lines after a (re)join come once each, by id),
 * `deleted` `{id}`, `muted` `{user, until_ms}` (`until_ms` 0: unmuted), `refused`
 * `{code, message, retry_after_ms?, nonce?}` (`rate_limited`, `too_long`, `empty`,
 * `muted`, `sign_in_required`, `not_moderator`, `not_live`, `bad_token`) and
 * `viewers` (a number, at most once a second).
 *
 * @typedef {object} ChatHandle
 * @property {(token?: string|null) => void} join Join the stream's chat, with a token
 *   from {@link chatToken} to write (without one: read only). Sent once the offer and
 *   answer are exchanged, and again after the session resumes on another endpoint.
 * @property {(text: string) => string|null} send Send a message; returns its nonce
 *   (the same comes back on the `message`, or on a `refused`), null if not sent.
 * @property {(id: string) => void} delete Delete a message for everyone (moderators).
 * @property {(id: string, seconds?: number) => void} mute Mute the author of message `id`
 *   for `seconds` (default 600; 0 unmutes; moderators).
 * @property {(event: string, callback: (detail: any) => void) => () => void} on Listen;
 *   returns a function that stops listening.
 * @property {boolean} joined Whether `chat_joined` arrived.
 * @property {boolean} canWrite
 * @property {boolean} moderator
 * @property {string|null} name Your name in the chat (signed in).
 * @property {number} maxChars Most characters in a message.
 * @property {number|null} viewers The latest viewer count.
 * @property {ChatLine[]} messages The lines shown now, oldest first.
 */
class ChatSession {
  /** @param {LiveSession} session */
  constructor(session) {
    this.session = session;
    this.wanted = false;
    this.token = null;
    this.isReady = false;
    this.joined = false;
    this.canWrite = false;
    this.moderator = false;
    this.name = null;
    this.maxChars = 300;
    this.viewers = null;
    /** @type {Map<string, ChatLine>} */
    this.lines = new Map();
    /** @type {Set<string>} */
    this.deleted = new Set();
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    const chat = this;
    /** @type {ChatHandle} */
    this.handle_ = {
      join: (token) => chat.join(token),
      send: (text) => chat.sendText(text),
      delete: (id) => chat.sendFrame({ type: 'chat_delete', id: String(id) }),
      mute: (id, seconds = CHAT_MUTE_SECONDS) =>
        chat.sendFrame({ type: 'chat_mute', id: String(id), seconds: Math.max(0, Math.floor(Number(seconds) || 0)) }),
      on: (event, callback) => chat.on(event, callback),
      get joined() {
        return chat.joined;
      },
      get canWrite() {
        return chat.canWrite;
      },
      get moderator() {
        return chat.moderator;
      },
      get name() {
        return chat.name;
      },
      get maxChars() {
        return chat.maxChars;
      },
      get viewers() {
        return chat.viewers;
      },
      get messages() {
        return [...chat.lines.values()];
      },
    };
  }

  on(event, callback) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(callback);
    return () => this.listeners.get(event).delete(callback);
  }

  emit(event, detail) {
    for (const callback of this.listeners.get(event) || []) {
      try {
        callback(detail);
      } catch (e) {
        console.error(`myvid live: a chat "${event}" listener threw`, e);
      }
    }
  }

  /** The offer/answer exchange is done: the stream is hosted where the socket leads. */
  ready() {
    if (this.isReady) return;
    this.isReady = true;
    if (this.wanted) this.sendJoin();
  }

  /** A resumed session's new socket: join again (history is de-duplicated by id). */
  rejoin() {
    if (this.wanted && this.isReady) this.sendJoin();
  }

  join(token) {
    this.wanted = true;
    this.token = typeof token === 'string' && token ? token : null;
    if (this.isReady) this.sendJoin();
  }

  sendJoin() {
    const msg = { type: 'chat_join' };
    if (this.token) msg.token = this.token;
    this.sendFrame(msg);
  }

  sendFrame(msg) {
    try {
      return this.session.send(msg);
    } catch (e) {
      console.warn(`myvid live: chat frame not sent: ${e && e.message ? e.message : e}`);
      return false;
    }
  }

  sendText(text) {
    chatNonces += 1;
    const nonce = `n${chatNonces}`;
    return this.sendFrame({ type: 'chat_send', text: String(text), nonce }) ? nonce : null;
  }

  /** Remembers and announces a line not seen (nor deleted) before. */
  addLine(line) {
    if (this.lines.has(line.id) || this.deleted.has(line.id)) return;
    this.lines.set(line.id, line);
    if (this.lines.size > CHAT_LINES_KEPT) this.lines.delete(this.lines.keys().next().value);
    this.emit('message', line);
  }

  /** A chat message from the server (or a `viewers` count). */
  handle(msg) {
    switch (msg.type) {
      case 'chat_joined':
        this.joined = true;
        this.canWrite = msg.can_write;
        this.moderator = msg.moderator;
        this.name = msg.name ?? null;
        this.maxChars = msg.max_chars;
        this.viewers = msg.viewers;
        this.emit('joined', {
          canWrite: this.canWrite,
          moderator: this.moderator,
          name: this.name,
          maxChars: this.maxChars,
          viewers: this.viewers,
        });
        for (const line of msg.history) this.addLine(line);
        return;
      case 'chat_message': {
        const { type, ...line } = msg;
        this.addLine(line);
        return;
      }
      case 'chat_deleted':
        this.deleted.add(msg.id);
        if (this.deleted.size > CHAT_LINES_KEPT) this.deleted.delete(this.deleted.values().next().value);
        this.lines.delete(msg.id);
        this.emit('deleted', { id: msg.id });
        return;
      case 'chat_muted':
        this.emit('muted', { user: msg.user, until_ms: msg.until_ms });
        return;
      case 'chat_refused': {
        const { type, ...refusal } = msg;
        this.emit('refused', refusal);
        return;
      }
      case 'viewers':
        this.viewers = msg.count;
        if (this.joined) this.emit('viewers', msg.count);
        return;
      default:
    }
  }
}

/**
 * What publishing and watching share: the socket, the peer connection, the
 * serialized handling of server messages, trickle ICE, state and closing.
 */
class LiveSession {
  /**
   * @param {object} o
   * @param {string} o.role `publish` or `watch`, for messages.
   * @param {string} o.url Signalling WebSocket URL.
   * @param {string} o.activeState State once media flows (`live` or `playing`).
   * @param {Function} [o.onState]
   * @param {Function} [o.onError]
   * @param {number} [o.timeoutMs]
   * @param {'all'|'relay'} [o.iceTransportPolicy] `relay`: use TURN only.
   * @param {any} [o.WebSocket]
   * @param {any} [o.RTCPeerConnection]
   */
  constructor(o) {
    this.role = o.role;
    this.url = o.url;
    this.activeState = o.activeState;
    this.onStateCb = typeof o.onState === 'function' ? o.onState : () => {};
    this.onErrorCb = typeof o.onError === 'function' ? o.onError : () => {};
    this.WebSocketImpl = o.WebSocket || globalThis.WebSocket;
    this.PeerConnection = o.RTCPeerConnection || globalThis.RTCPeerConnection;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.iceTransportPolicy = o.iceTransportPolicy === 'relay' ? 'relay' : 'all';
    /** @type {string} */
    this.state = 'connecting';
    /** The last state reported through onState. */
    this.reported = null;
    this.error = null;
    this.pc = null;
    this.signal = null;
    this.lastServerError = null;
    this.pendingCandidates = [];
    /** Whether the server's answer (publisher) or offer (viewer) has arrived. */
    this.negotiated = false;
    this.chain = Promise.resolve();
    this.finished = false;
    this.timer = null;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    /** The session's chat (joined only when asked). */
    this.chat = new ChatSession(this);
  }

  /** Report a state (once per change). */
  setState(state, detail = {}) {
    if (this.reported === state || this.finished) return;
    this.state = state;
    this.reported = state;
    try {
      this.onStateCb(state, detail);
    } catch (e) {
      console.error('myvid live: onState threw', e);
    }
  }

  /** Open the signalling socket and the peer connection. */
  open(iceServerList) {
    if (typeof this.PeerConnection !== 'function') {
      throw new MyVidError('This browser does not support WebRTC, which live video needs.', 'unsupported', 0);
    }
    if (typeof this.url !== 'string' || !/^wss?:\/\//i.test(this.url)) {
      throw new MyVidError('This stream has no valid signalling URL.', 'bad_response', 0);
    }
    const config = { iceServers: sanitizeIceServers(iceServerList), bundlePolicy: 'max-bundle' };
    // Only when asked: the browser's default ('all') stays implicit.
    if (this.iceTransportPolicy === 'relay') config.iceTransportPolicy = 'relay';
    this.pc = new this.PeerConnection(config);
    this.pc.addEventListener('icecandidate', (e) => this.localCandidate(e.candidate));
    this.pc.addEventListener('connectionstatechange', () => this.connectionChanged());
    this.signal = this.channel(this.url);
    if (this.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        if (!this.finished && this.state !== this.activeState) {
          this.fail(this.lastServerError || new MyVidError('Timed out connecting to the live stream.', 'timeout', 0));
        }
      }, this.timeoutMs);
    }
  }

  /** A signalling channel to `url` whose messages and close go through the chain. */
  channel(url) {
    const signal = new SignalChannel(
      url,
      {
        onMessage: (msg) => {
          if (signal !== this.signal) return; // a socket we have moved on from
          // Remember an error at once: the socket may close before its turn comes.
          if (msg.type === 'error') this.lastServerError = liveError(msg);
          this.chain = this.chain.then(() => this.handle(msg)).catch((e) => this.fail(errorOf(e)));
        },
        // After the messages that came before it.
        onClose: (e) => {
          if (signal !== this.signal) return;
          this.chain = this.chain.then(() => this.socketClosed(e));
        },
      },
      this.WebSocketImpl,
    );
    return signal;
  }

  /** Send a message; oversize frames are refused (never sent). */
  send(msg) {
    if (!this.signal || this.finished) return false;
    this.signal.send(msg);
    return true;
  }

  localCandidate(candidate) {
    if (this.finished) return;
    // `null` ends gathering; an RTCIceCandidate with an empty string is the same
    // notice per m-line in some browsers: send the end marker once, on `null`.
    if (candidate && !candidate.candidate) return;
    try {
      this.send(candidateToWire(candidate));
    } catch (e) {
      console.warn(`myvid live: candidate not sent: ${e.message}`);
    }
  }

  async remoteCandidate(msg) {
    if (!this.pc) return;
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(msg);
      return;
    }
    try {
      await this.pc.addIceCandidate(candidateFromWire(msg));
    } catch (e) {
      console.warn(`myvid live: could not use a server candidate: ${e && e.message ? e.message : e}`);
    }
  }

  async flushCandidates() {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of pending) await this.remoteCandidate(c);
  }

  /** Messages both roles handle; returns false for the ones left to the role. */
  async handleCommon(msg) {
    switch (msg.type) {
      case 'candidate':
        await this.remoteCandidate(msg);
        return true;
      case 'error': {
        const err = liveError(msg);
        this.lastServerError = err;
        if (err.code === 'resume_failed') {
          this.fail(new MyVidError('The live session could not be resumed after the connection was lost.', 'connection_lost', 0));
          return true;
        }
        try {
          this.onErrorCb(err);
        } catch (e) {
          console.error('myvid live: onError threw', e);
        }
        // Before the server's first reply (answer or offer), an error means our publish
        // or join was refused: nothing more will come.
        if (!this.negotiated) this.fail(err);
        return true;
      }
      case 'bye':
        this.byeReason = msg.reason || 'no reason given';
        this.serverClosing();
        return true;
      case 'session':
        if (typeof msg.resume === 'string' && msg.resume) {
          this.resumeKey = msg.resume;
          this.resumeGraceMs = msg.grace_ms;
        }
        return true;
      case 'resumed':
        this.resumed();
        return true;
      case 'chat_joined':
      case 'chat_message':
      case 'chat_deleted':
      case 'chat_muted':
      case 'chat_refused':
        this.chat.handle(msg);
        return true;
      default:
        return false;
    }
  }

  /** The server said `bye` (it ends sessions that way only when something went wrong). */
  serverClosing() {
    if (this.lastServerError && this.state !== this.activeState) this.fail(this.lastServerError);
    else this.fail(new MyVidError(`The server closed the session (${this.byeReason}).`, 'closed_by_server', 0));
  }

  connectionChanged() {
    if (this.finished || !this.pc) return;
    const s = this.pc.connectionState;
    if (s === 'connected') this.connected();
    else if (s === 'failed') {
      this.fail(
        new MyVidError(
          'The media connection failed (a firewall may be blocking WebRTC traffic).',
          'ice_failed',
          0,
        ),
      );
    }
  }

  /** Overridden: the peer connection is up. */
  connected() {}

  socketClosed({ code, reason }) {
    if (this.finished) return;
    if (this.byeReason !== undefined) return this.serverClosing();
    // The endpoint went away, not the SFU: media still flows; find another way in.
    if (this.reconnecting) return this.retry();
    if (this.resumeKey && this.pc && this.pc.connectionState !== 'failed') return this.reconnect();
    if (this.lastServerError && this.state !== this.activeState) return this.fail(this.lastServerError);
    const why = reason ? ` (${reason})` : code && code !== 1000 && code !== 1005 ? ` (code ${code})` : '';
    this.fail(new MyVidError(`The connection to the live server was lost${why}.`, 'connection_lost', 0));
  }

  /**
   * The signalling socket was lost while media flows: say `reconnecting`, and retry
   * with backoff — each time asking the API which endpoints are live and preferring
   * one other than the lost one — sending `resume` with the key from `session`, until
   * `resumed` or the server's grace period is over.
   */
  reconnect() {
    const lostUrl = this.signal ? this.signal.url : this.url;
    this.reconnecting = { since: now(), attempt: 0, lostUrl };
    this.resumeState = this.state;
    this.setState('reconnecting');
    this.retry();
  }

  retry() {
    const r = this.reconnecting;
    if (this.finished || !r) return;
    if (now() - r.since > (this.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS)) {
      this.fail(new MyVidError('The connection to the live server was lost and could not be restored.', 'connection_lost', 0));
      return;
    }
    const delay = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** r.attempt);
    r.attempt += 1;
    setTimeout(async () => {
      if (this.finished || this.reconnecting !== r) return;
      let url = r.lostUrl;
      try {
        url = pickReconnectUrl(await this.endpointUrls(), r.lostUrl) || r.lostUrl;
      } catch (e) {
        console.warn(`myvid live: could not ask for live endpoints: ${e && e.message ? e.message : e}`);
      }
      if (this.finished || this.reconnecting !== r) return;
      try {
        this.signal = this.channel(url);
        this.signal.send({ type: 'resume', resume: this.resumeKey });
      } catch (e) {
        console.warn(`myvid live: reconnect to ${url} failed: ${e && e.message ? e.message : e}`);
        this.retry();
      }
    }, delay);
  }

  /** Signalling WebSocket URLs of the live endpoints for this stream (role-specific). */
  async endpointUrls() {
    const video = await getVideo(this.streamId);
    if (Array.isArray(video && video.ws_urls)) return video.ws_urls.filter((u) => typeof u === 'string');
    return video && typeof video.ws_url === 'string' ? [video.ws_url] : [];
  }

  /** `resumed`: this socket holds the media session again. */
  resumed() {
    if (!this.reconnecting) return;
    this.reconnecting = null;
    this.url = this.signal.url;
    const back = this.resumeState === 'reconnecting' ? 'connecting' : this.resumeState;
    this.reported = null;
    this.setState(back || 'connecting');
    // The new socket is a new connection for the SFU: join the chat again.
    this.chat.rejoin();
  }

  fail(error) {
    if (this.finished) return;
    this.error = errorOf(error);
    this.setState('failed', { error: this.error });
    this.teardown('failed');
    this.resolveClosed({ state: 'failed', error: this.error });
  }

  end(reason) {
    if (this.finished) return;
    this.setState('ended', { reason });
    this.teardown(reason);
    this.resolveClosed({ state: 'ended', reason });
  }

  /** Stop by the user: `bye`, close, state `ended`. */
  stop(reason) {
    this.end(reason || (this.role === 'publish' ? 'the broadcaster stopped' : 'the viewer left'));
  }

  teardown(reason) {
    this.finished = true;
    clearTimeout(this.timer);
    if (this.signal) this.signal.close(reason);
    if (this.pc) {
      try {
        this.pc.close();
      } catch {
        // already closed
      }
    }
  }
}

/**
 * A handle on `session`: what both roles share (live getters for `state`, `pc`,
 * `error` and `signalUrl`, `stop`, `closed`) plus the role's own properties in
 * `extra` (getters stay getters).
 */
function liveHandle(session, extra) {
  const handle = {
    get state() {
      return session.state;
    },
    get pc() {
      return session.pc;
    },
    get error() {
      return session.error;
    },
    /** The signalling WebSocket URL in use (it changes when a lost endpoint is replaced). */
    get signalUrl() {
      return session.signal ? session.signal.url : session.url;
    },
    stop: (reason) => session.stop(reason),
    closed: session.closed,
  };
  return Object.defineProperties(handle, Object.getOwnPropertyDescriptors(extra));
}

// ---------------------------------------------------------------------------
// Broadcasting
// ---------------------------------------------------------------------------

class Publisher extends LiveSession {
  constructor(o) {
    super({ ...o, role: 'publish', url: o.stream && o.stream.ws_url, activeState: 'live' });
    this.stream = o.stream;
    this.streamId = o.stream && o.stream.stream_id;
    this.onViewersCb = typeof o.onViewers === 'function' ? o.onViewers : () => {};
    this.viewers = null;
  }

  async start({ mediaStream, simulcast, codec }) {
    if (this.finished) return;
    this.setState('connecting');
    if (!this.stream || typeof this.stream.token !== 'string') {
      throw new MyVidError('publish() needs the stream returned by newStream().', 'invalid_input', 0);
    }
    const tracks = mediaStream && typeof mediaStream.getTracks === 'function' ? mediaStream.getTracks() : [];
    const video = tracks.find((t) => t.kind === 'video');
    const audio = tracks.find((t) => t.kind === 'audio');
    if (!video && !audio) throw new MyVidError('There is no camera or microphone track to broadcast.', 'no_media', 0);
    this.open(this.stream.ice_servers);
    if (audio) this.pc.addTransceiver(audio, { direction: 'sendonly', streams: [mediaStream] });
    if (video) {
      const settings = typeof video.getSettings === 'function' ? video.getSettings() : {};
      this.encodings = videoEncodings(settings.width, simulcast);
      const init = { direction: 'sendonly', streams: [mediaStream] };
      if (this.encodings.length > 1) init.sendEncodings = this.encodings;
      const transceiver = this.pc.addTransceiver(video, init);
      if (codec) preferCodec(transceiver, codec);
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    if (this.finished) return;
    const sdp = (this.pc.localDescription && this.pc.localDescription.sdp) || offer.sdp;
    if (byteLength(sdp) > MAX_SDP_BYTES) {
      throw new MyVidError(`The offer is ${byteLength(sdp)} bytes, over the server's ${MAX_SDP_BYTES}-byte limit.`, 'sdp_too_large', 0);
    }
    this.send({ type: 'publish', token: this.stream.token, sdp });
  }

  async handle(msg) {
    if (this.finished) return;
    if (await this.handleCommon(msg)) return;
    switch (msg.type) {
      case 'answer':
        if (this.pc.signalingState !== 'have-local-offer') {
          console.warn(`myvid live: ignoring an answer in signalling state ${this.pc.signalingState}`);
          return;
        }
        this.negotiated = true;
        await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        // The stream is hosted where this socket leads: chat may join now.
        this.chat.ready();
        await this.flushCandidates();
        return;
      case 'viewers':
        this.viewers = msg.count;
        this.chat.handle(msg);
        try {
          this.onViewersCb(msg.count);
        } catch (e) {
          console.error('myvid live: onViewers threw', e);
        }
        return;
      default:
        console.warn(`myvid live: ignoring an unexpected "${msg.type}" message while broadcasting`);
    }
  }

  connected() {
    this.setState('live');
  }
}

/**
 * Broadcast a camera/microphone stream to the stream created by {@link newStream}.
 *
 * Creates an `RTCPeerConnection` with the stream's ICE servers, adds the tracks
 * send-only (the video as three simulcast layers `q`/`h`/`f` when `simulcast` is
 * on and the camera is at least 640 px wide), prefers VP8, sends `publish` with the
 * offer, applies the answer and trickles candidates. States: `connecting` → `live`
 * (media flowing) → `ended` (stopped, or the server said `bye`), or `failed`.
 * Callbacks are never called before `publish` has returned.
 *
 * @param {object} options
 * @param {StreamGrant} options.stream From {@link newStream}.
 * @param {MediaStream} options.mediaStream From `getUserMedia`.
 * @param {boolean} [options.simulcast=true]
 * @param {string} [options.codec='video/VP8'] Preferred video codec (`null`: browser default).
 * @param {(count: number) => void} [options.onViewers] Viewer count changes.
 * @param {(state: PublishState, detail: StateDetail) => void} [options.onState]
 * @param {(error: MyVidError) => void} [options.onError] Errors the server reports
 *   while the session goes on.
 * @param {number} [options.timeoutMs=30000] Give up (`failed`) if not live by then; 0: never.
 * @param {'all'|'relay'} [options.iceTransportPolicy='all'] `relay`: through TURN only.
 * @param {typeof WebSocket} [options.WebSocket] For tests.
 * @param {typeof RTCPeerConnection} [options.RTCPeerConnection] For tests.
 * @returns {PublishHandle}
 */
export function publish({ stream, mediaStream, simulcast = true, codec = 'video/VP8', ...options }) {
  const session = new Publisher({ stream, ...options });
  // Started after this returns, so that callbacks never run before the caller has the handle.
  Promise.resolve()
    .then(() => session.start({ mediaStream, simulcast, codec }))
    .catch((e) => session.fail(errorOf(e)));
  return liveHandle(session, {
    get viewers() {
      return session.viewers;
    },
    get encodings() {
      return session.encodings || null;
    },
    streamId: stream && stream.stream_id,
    chat: session.chat.handle_,
  });
}

// ---------------------------------------------------------------------------
// Watching
// ---------------------------------------------------------------------------

class Viewer extends LiveSession {
  constructor(o) {
    super({ ...o, role: 'watch', url: o.video && (o.video.ws_url || o.video.url), activeState: 'playing' });
    this.video = o.video;
    this.streamId = o.video && o.video.id;
    this.element = o.element || null;
    this.stream = null;
    this.timing = { start: now(), offer: null, connected: null, firstFrame: null };
    this.maxBitrate = null;
    this.answered = false;
    if (o.maxBitrate !== undefined && o.maxBitrate !== null) this.setMaxBitrate(o.maxBitrate);
  }

  /**
   * Caps what this viewer receives at `bps` bit/s (`null` or 0 lifts the cap): the
   * server sends no simulcast layer above it. Sent at once when the session is up,
   * else right after the answer.
   */
  setMaxBitrate(bps) {
    const cap = bps === null || bps === 0 ? null : bps;
    if (cap !== null && !(Number.isSafeInteger(cap) && cap > 0)) {
      throw new MyVidError('maxBitrate must be a positive whole number of bits per second, or null.', 'invalid_input', 0);
    }
    this.maxBitrate = cap;
    if (this.answered) this.send({ type: 'max_bitrate', bps: cap ?? 0 });
  }

  async start() {
    if (this.finished) return;
    this.setState('connecting');
    if (!this.video || typeof this.video !== 'object') throw new MyVidError('watch() needs a video object.', 'invalid_input', 0);
    if (this.video.type !== 'WebRTC') throw new MyVidError('This video is not a live stream.', 'invalid_input', 0);
    if (this.video.live_state === 'ended') {
      this.end('the broadcast has ended');
      return;
    }
    let ice = this.video.ice_servers;
    if (!Array.isArray(ice)) ice = await iceServers().catch(() => []);
    if (this.finished) return;
    this.open(ice);
    this.pc.addEventListener('track', (e) => this.track(e));
    if (this.element) this.watchElement(this.element);
    this.send({ type: 'join' });
  }

  watchElement(el) {
    const first = () => {
      if (this.finished) return;
      if (this.timing.firstFrame === null) this.timing.firstFrame = now();
      this.setState('playing');
    };
    el.addEventListener('playing', first);
    if (typeof el.requestVideoFrameCallback === 'function') el.requestVideoFrameCallback(first);
  }

  track(e) {
    if (!this.stream) {
      const Stream = globalThis.MediaStream;
      this.stream = (e.streams && e.streams[0]) || (Stream ? new Stream() : null);
    }
    if (this.stream && !this.stream.getTracks().includes(e.track)) this.stream.addTrack(e.track);
    const el = this.element;
    if (el && el.srcObject !== this.stream) {
      el.muted = true;
      el.autoplay = true;
      el.playsInline = true;
      el.setAttribute('playsinline', '');
      el.srcObject = this.stream;
      const played = el.play();
      if (played && typeof played.catch === 'function') {
        played.catch((err) => {
          if (err && err.name !== 'AbortError') console.warn(`myvid live: autoplay refused: ${err.message}`);
        });
      }
    }
  }

  async handle(msg) {
    if (this.finished) return;
    if (await this.handleCommon(msg)) return;
    switch (msg.type) {
      case 'offer': {
        if (this.timing.offer === null) this.timing.offer = now();
        this.negotiated = true;
        await this.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        for (const t of this.pc.getTransceivers ? this.pc.getTransceivers() : []) {
          if (t.direction !== 'stopped') t.direction = 'recvonly';
        }
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        if (this.finished) return;
        const sdp = (this.pc.localDescription && this.pc.localDescription.sdp) || answer.sdp;
        if (byteLength(sdp) > MAX_SDP_BYTES) {
          throw new MyVidError(`The answer is ${byteLength(sdp)} bytes, over the server's ${MAX_SDP_BYTES}-byte limit.`, 'sdp_too_large', 0);
        }
        this.send({ type: 'answer', sdp });
        if (!this.answered) {
          // The server keeps the cap for the media session (renegotiation included).
          this.answered = true;
          if (this.maxBitrate !== null) this.send({ type: 'max_bitrate', bps: this.maxBitrate });
        }
        this.chat.ready();
        await this.flushCandidates();
        return;
      }
      case 'viewers':
        this.chat.handle(msg);
        return;
      case 'ended':
        this.end(msg.reason || 'the broadcast has ended');
        return;
      default:
        console.warn(`myvid live: ignoring an unexpected "${msg.type}" message while watching`);
    }
  }

  connected() {
    if (this.timing.connected === null) this.timing.connected = now();
    // Without an element to watch, a connected peer connection is as close to
    // "playing" as we can tell.
    if (!this.element) {
      if (this.timing.firstFrame === null) this.timing.firstFrame = now();
      this.setState('playing');
    }
  }
}

/**
 * Watch a live stream: opens its signalling WebSocket, sends `join`, answers the
 * server's offer (receive-only), and plays the remote stream in `element` (muted,
 * autoplay, inline). States: `connecting` → `playing` (first frame shown) →
 * `ended` (the broadcast ended, or {@link WatchHandle#stop}), or `failed`.
 * Callbacks are never called before `watch` has returned.
 *
 * @param {object} options
 * @param {import('./myvid.js').Video} options.video A video whose `type` is `WebRTC`
 *   (from `getVideo`, search or random).
 * @param {HTMLVideoElement} [options.element] Where to play it.
 * @param {(state: WatchState, detail: StateDetail) => void} [options.onState]
 * @param {(error: MyVidError) => void} [options.onError] Errors reported by the
 *   server while the session goes on.
 * @param {number} [options.timeoutMs=30000] Give up (`failed`) if not playing by then; 0: never.
 * @param {'all'|'relay'} [options.iceTransportPolicy='all'] `relay` sends all media
 *   through the TURN server from the video's `ice_servers` (tests, strict networks).
 * @param {number|null} [options.maxBitrate] Receive no simulcast layer above this many
 *   bit/s (a small player, a metered link); change it later with
 *   `handle.setMaxBitrate(bps)` (`null` lifts it).
 * @param {typeof WebSocket} [options.WebSocket] For tests.
 * @param {typeof RTCPeerConnection} [options.RTCPeerConnection] For tests.
 * @returns {WatchHandle}
 */
export function watch({ video, element, ...options }) {
  const session = new Viewer({ video, element, ...options });
  // Started after this returns, so that callbacks never run before the caller has the handle.
  Promise.resolve()
    .then(() => session.start())
    .catch((e) => session.fail(errorOf(e)));
  return liveHandle(session, {
    get stream() {
      return session.stream;
    },
    /** The bit rate cap in force (`null`: none). */
    get maxBitrate() {
      return session.maxBitrate;
    },
    setMaxBitrate: (bps) => session.setMaxBitrate(bps),
    timing: session.timing,
    chat: session.chat.handle_,
  });
}

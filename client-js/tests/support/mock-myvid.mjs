#!/usr/bin/env node
// A small in-memory stand-in for the MyVid server, written from the HTTP API
// contract. It is only a development aid for the client: it lets the pages and
// the test harness be exercised before/without the Rust server, e.g.
//
//   MYVID_BIN=tests/support/mock-myvid.mjs node --test tests/
//
// It accepts the same command line as the real binary
// (`dev --listen HOST:PORT --data-dir DIR`) and prints
// `listening on http://HOST:PORT` on stdout. It can also be imported
// (`startMock()`) for in-process tests. It is NOT the real server: passing
// tests against it say nothing about the Rust implementation.
//
// Live streams: NEWSTREAM, ICE and the signalling WebSocket (/ENDPOINT/{id}) are
// served too; the media part is a headless Chromium page (mock-media.mjs) started on
// the first publish. MOCK_MEDIA=none leaves it out, so every signalling session gets
// `no_media_server` like a server without an SFU.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { acceptWebSocket } from './ws-server.mjs';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const MAX_UPLOAD = 50 * 1024 * 1024;
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const id = () => randomBytes(8).toString('hex');
const now = () => Math.floor(Date.now() / 1000);
const words = (s) => (String(s || '').toLowerCase().match(/[\p{L}\p{N}]+/gu) || []);

/**
 * Probe a media file with ffprobe; resolves to its duration, picture size and whether it
 * has sound, or null if not a video.
 */
function probe(buf) {
  return new Promise((resolve) => {
    mkdtemp(path.join(tmpdir(), 'mock-probe-')).then(async (dir) => {
      const file = path.join(dir, 'media');
      await writeFile(file, buf);
      execFile(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'stream=codec_type,width,height:format=duration', '-of', 'json', file],
        async (err, stdout) => {
          await rm(dir, { recursive: true, force: true });
          if (err) return resolve(null);
          try {
            const info = JSON.parse(stdout);
            const streams = info.streams || [];
            const video = streams.find((st) => st.codec_type === 'video');
            if (!video) return resolve(null);
            const d = Number(info.format && info.format.duration);
            resolve({
              duration: Number.isFinite(d) ? d : null,
              width: video.width ?? null,
              height: video.height ?? null,
              hasAudio: streams.some((st) => st.codec_type === 'audio'),
            });
          } catch {
            resolve(null);
          }
        },
      );
    });
  });
}

/**
 * Start the mock server.
 * @param {{host?: string, port?: number}} [options]
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startMock({ host = '127.0.0.1', port = 0, media = process.env.MOCK_MEDIA !== 'none' } = {}) {
  const users = new Map(); // id -> {id, username, email, password}
  const tokens = new Map(); // token -> user id
  const videos = new Map(); // id -> record
  const sigs = new Map(); // signature -> {videoId, kind, mode}
  let origin = '';

  const publicUser = (u) => ({ id: u.id, username: u.username, email: u.email });

  function sign(videoId, kind, mode) {
    const sig = randomBytes(12).toString('hex');
    sigs.set(sig, { videoId, kind, mode });
    return `${origin}/mockfiles/${mode}/${videoId}/${kind}?sig=${sig}`;
  }

  const wsOrigin = () => origin.replace(/^http/, 'ws');

  function toJson(v) {
    if (v.live) {
      return {
        id: v.id,
        title: v.title,
        description: v.description,
        type: 'WebRTC',
        url: `${wsOrigin()}/ENDPOINT/${v.id}`,
        preview_url: null,
        owner: users.get(v.ownerId)?.username ?? null,
        visibility: v.visibility,
        source: 'LIVE',
        live_state: v.live.state,
        ws_url: `${wsOrigin()}/ENDPOINT/${v.id}`,
        whep_url: `${origin}/whep/${v.id}`,
        ice_servers: [],
        duration_seconds: null,
        created_at: v.created_at,
        published_at: v.published_at,
      };
    }
    return {
      id: v.id,
      title: v.title,
      description: v.description,
      type: 'HTTP',
      url: sign(v.id, 'video', 'get'),
      preview_url: v.preview ? sign(v.id, 'preview', 'get') : null,
      owner: users.get(v.ownerId)?.username ?? null,
      visibility: v.visibility,
      source: 'MYVID',
      duration_seconds: v.duration,
      created_at: v.created_at,
      published_at: v.published_at,
    };
  }

  function optionalUser(req) {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    const uid = m && tokens.get(m[1]);
    return uid ? users.get(uid) : null;
  }

  function authUser(req) {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    const uid = m && tokens.get(m[1]);
    if (!uid) throw new ApiError(401, 'unauthorized', 'missing or invalid token');
    return users.get(uid);
  }

  async function readBody(req, limit = 1024 * 1024) {
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > limit) throw new ApiError(413, 'payload_too_large', `body larger than ${limit} bytes`);
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  async function readJson(req) {
    const buf = await readBody(req);
    if (buf.length === 0) return {};
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch {
      throw new ApiError(400, 'invalid_input', 'body is not valid JSON');
    }
  }

  function search(q) {
    const terms = words(q);
    const pub = [...videos.values()].filter((v) => v.visibility === 'public');
    if (terms.length === 0) return pub;
    return pub
      .map((v) => {
        const t = words(v.title);
        const d = words(v.description);
        const score = terms.reduce((s, w) => s + (t.includes(w) ? 2 : 0) + (d.includes(w) ? 1 : 0), 0);
        return { v, score };
      })
      .filter((x) => x.score > 0)
      .sort((a, b) => b.score - a.score || b.v.published_at - a.v.published_at)
      .map((x) => x.v);
  }

  const shuffled = (arr) => arr.map((v) => [Math.random(), v]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);

  async function api(req, res, url) {
    const send = (status, body) => {
      res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const p = url.pathname;
    const m = req.method;

    if (m === 'POST' && p === '/v1/auth/signup') {
      const { username, email, password } = await readJson(req);
      if (typeof username !== 'string' || !/^[A-Za-z0-9_.-]{3,32}$/.test(username)) throw new ApiError(400, 'invalid_input', 'username must be 3-32 letters, digits, _ . -');
      if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)) throw new ApiError(400, 'invalid_input', 'invalid email');
      if (typeof password !== 'string' || password.length < 8 || password.length > 128) throw new ApiError(400, 'invalid_input', 'password must be 8-128 characters');
      for (const u of users.values()) {
        if (u.username.toLowerCase() === username.toLowerCase() || u.email.toLowerCase() === email.toLowerCase()) throw new ApiError(409, 'conflict', 'username or email already taken');
      }
      const u = { id: id(), username, email, password };
      users.set(u.id, u);
      const token = id() + id();
      tokens.set(token, u.id);
      return send(201, { token, user: publicUser(u) });
    }
    if (m === 'POST' && p === '/v1/auth/login') {
      const { credential, password } = await readJson(req);
      const c = String(credential || '').toLowerCase();
      const u = [...users.values()].find((x) => (x.username.toLowerCase() === c || x.email.toLowerCase() === c) && x.password === password);
      if (!u) throw new ApiError(401, 'invalid_credentials', 'wrong username/email or password');
      const token = id() + id();
      tokens.set(token, u.id);
      return send(200, { token, user: publicUser(u) });
    }
    if (m === 'POST' && p === '/v1/auth/logout') {
      authUser(req);
      tokens.delete(req.headers.authorization.slice(7));
      return send(204);
    }
    if (m === 'GET' && p === '/v1/me') return send(200, publicUser(authUser(req)));
    if (m === 'GET' && p === '/v1/me/videos') {
      const u = authUser(req);
      const items = [...videos.values()].filter((v) => v.ownerId === u.id).sort((a, b) => b.created_at - a.created_at);
      return send(200, { items: items.map(toJson), next_cursor: null });
    }
    if (m === 'GET' && p === '/v1/videos/random') {
      const limit = Math.min(50, Number(url.searchParams.get('limit')) || 12);
      return send(200, { items: shuffled(search('')).slice(0, limit).map(toJson) });
    }
    if (m === 'GET' && p === '/v1/videos') {
      const limit = Math.min(50, Number(url.searchParams.get('limit')) || 20);
      const start = Number(url.searchParams.get('cursor')) || 0;
      const all = search(url.searchParams.get('q'));
      const items = all.slice(start, start + limit);
      return send(200, { items: items.map(toJson), next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    if (m === 'POST' && (p === '/API/VIDEO/' || p === '/API/VIDEO')) {
      const body = await readJson(req);
      const list = body.search ? search(body.search) : shuffled(search(''));
      return send(200, list.map(toJson));
    }
    let match;
    if (m === 'GET' && (match = /^\/API\/VIDEO\/([^/]+)$/.exec(p))) {
      const v = videos.get(decodeURIComponent(match[1]));
      const viewer = optionalUser(req);
      if (!v || (v.visibility !== 'public' && (!viewer || viewer.id !== v.ownerId))) throw new ApiError(404, 'not_found', 'no such video');
      return send(200, toJson(v));
    }
    if (m === 'POST' && (p === '/API/NEWSTREAM/' || p === '/API/NEWSTREAM' || p === '/v1/streams')) {
      const u = authUser(req);
      const body = await readJson(req);
      if (typeof body.title !== 'string' || !body.title.trim() || body.title.length > 200) throw new ApiError(400, 'invalid_input', 'title must be 1-200 characters');
      const v = {
        id: id(),
        ownerId: u.id,
        title: body.title.trim(),
        description: String(body.description || ''),
        visibility: 'private',
        duration: null,
        created_at: now(),
        published_at: null,
        preview: null,
        video: null,
        live: { state: 'pending', token: `v1.${id()}${id()}` },
      };
      videos.set(v.id, v);
      return send(p === '/v1/streams' ? 201 : 200, {
        stream_id: v.id,
        endpoint: origin,
        ws_url: `${wsOrigin()}/ENDPOINT/${v.id}`,
        whip_url: `${origin}/whip/${v.id}`,
        whep_url: `${origin}/whep/${v.id}`,
        token: v.live.token,
        ice_servers: [],
      });
    }
    if (m === 'GET' && (p === '/API/ICE' || p === '/API/ICE/' || p === '/v1/ice')) {
      return send(200, { ice_servers: [] });
    }
    if (m === 'POST' && p === '/API/NEWUPLOAD/') {
      authUser(req);
      return send(200, { endpoint: origin });
    }
    if (m === 'POST' && p === '/NEWVIDEOUPLOAD') {
      const u = authUser(req);
      const body = await readJson(req);
      if (typeof body.title !== 'string' || !body.title.trim()) throw new ApiError(400, 'invalid_input', 'title is required');
      const v = {
        id: id(),
        ownerId: u.id,
        title: body.title.trim(),
        description: String(body.description || ''),
        visibility: 'private',
        duration: null,
        created_at: now(),
        published_at: null,
        preview: null,
        video: null,
      };
      videos.set(v.id, v);
      return send(200, { id: v.id, preview_upload_url: sign(v.id, 'preview', 'put'), video_upload_url: sign(v.id, 'video', 'put') });
    }
    if (m === 'POST' && (match = /^\/v1\/uploads\/([^/]+)\/check$/.exec(p))) {
      const u = authUser(req);
      const v = videos.get(decodeURIComponent(match[1]));
      if (!v || (v.ownerId !== u.id && v.visibility !== 'public')) throw new ApiError(404, 'not_found', 'no such video');
      if (v.ownerId !== u.id) throw new ApiError(403, 'forbidden', 'not your video');
      if (v.published_at) throw new ApiError(409, 'conflict', 'only an unpublished upload can be checked');
      if (!v.video || !v.video.length) throw new ApiError(409, 'upload_incomplete', 'the video file has not been uploaded yet');
      const info = await probe(v.video);
      if (!info) return send(200, { playable: false, reason: 'ffprobe finds no video stream in it', width: null, height: null, duration_seconds: null, has_audio: null });
      return send(200, { playable: true, reason: null, width: info.width, height: info.height, duration_seconds: info.duration, has_audio: info.hasAudio });
    }
    if (m === 'POST' && (match = /^\/API\/PUBLISH\/([^/]+)$/.exec(p))) {
      const u = authUser(req);
      const v = videos.get(decodeURIComponent(match[1]));
      if (!v) throw new ApiError(404, 'not_found', 'no such video');
      if (v.ownerId !== u.id) throw new ApiError(403, 'forbidden', 'not your video');
      if (v.live) throw new ApiError(409, 'conflict', 'a live stream cannot be published');
      // The preview is optional (the real server then takes a frame; the mock shows none).
      if (!v.video || !v.video.length) throw new ApiError(409, 'upload_incomplete', 'the video file has not been uploaded yet');
      const info = await probe(v.video);
      if (!info) throw new ApiError(422, 'not_a_video', 'the uploaded video file is not a playable video');
      v.duration = info.duration;
      v.visibility = 'public';
      v.published_at = v.published_at ?? now();
      return send(200, toJson(v));
    }
    if ((match = /^\/mockfiles\/(put|get)\/([^/]+)\/(preview|video)$/.exec(p))) {
      const s = sigs.get(url.searchParams.get('sig') || '');
      if (!s || s.mode !== match[1] || s.videoId !== match[2] || s.kind !== match[3]) throw new ApiError(403, 'forbidden', 'bad or expired signature');
      const v = videos.get(s.videoId);
      if (!v) throw new ApiError(404, 'not_found', 'no such video');
      if (s.mode === 'put' && m === 'PUT') {
        const len = Number(req.headers['content-length'] || 0);
        if (len > MAX_UPLOAD) throw new ApiError(413, 'payload_too_large', 'file too large');
        v[s.kind] = await readBody(req, MAX_UPLOAD);
        return send(200, { ok: true, bytes: v[s.kind].length });
      }
      if (s.mode === 'get' && (m === 'GET' || m === 'HEAD')) {
        const buf = v[s.kind];
        if (!buf) throw new ApiError(404, 'not_found', 'file not uploaded');
        const type = s.kind === 'video' ? 'video/webm' : 'image/png';
        const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range || '');
        if (range) {
          const start = range[1] === '' ? Math.max(0, buf.length - Number(range[2])) : Number(range[1]);
          const end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), buf.length - 1) : buf.length - 1;
          res.writeHead(206, { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${start}-${end}/${buf.length}`, 'Content-Length': end - start + 1 });
          return res.end(m === 'HEAD' ? undefined : buf.subarray(start, end + 1));
        }
        res.writeHead(200, { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Content-Length': buf.length });
        return res.end(m === 'HEAD' ? undefined : buf);
      }
    }
    throw new ApiError(404, 'not_found', `no route for ${m} ${p}`);
  }

  async function staticFile(res, pathname) {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = path.resolve(WEB_DIR, rel);
    if (!file.startsWith(WEB_DIR + path.sep)) return false;
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
      return true;
    } catch {
      return false;
    }
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, origin);
    try {
      if (req.method === 'GET' && !/^\/(v1|API|mockfiles)\//.test(url.pathname) && url.pathname !== '/NEWVIDEOUPLOAD') {
        if (await staticFile(res, url.pathname)) return;
      }
      await api(req, res, url);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'internal', String(e && e.message));
      if (!res.headersSent) {
        res.writeHead(err.status, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end(JSON.stringify({ error: { code: err.code, message: err.message } }));
      }
      req.resume();
    }
  });

  // ---- live signalling: /ENDPOINT/{stream_id} ----
  const clients = new Map(); // sid -> {ws, streamId, chain}
  let relay = null; // Promise<MediaRelay|null>
  const getRelay = () => {
    if (!media) return Promise.resolve(null);
    relay ??= import('./mock-media.mjs')
      .then(({ startMediaRelay }) =>
        startMediaRelay({
          send: (sid, msg) => clients.get(sid)?.ws.send(JSON.stringify(msg)),
          close: (sid, reason) => {
            const c = clients.get(sid);
            if (!c) return;
            c.ws.send(JSON.stringify({ type: 'bye', reason }));
            c.ws.close(1000, '');
          },
          state: (streamId, state) => {
            const v = videos.get(streamId);
            if (!v || !v.live) return;
            v.live.state = state;
            v.visibility = state === 'live' ? 'public' : 'private';
            if (state === 'live') v.published_at ??= now();
          },
        }),
      )
      .catch((e) => {
        console.error(`mock: no media relay (${e.message})`);
        return null;
      });
    return relay;
  };

  const errorFrame = (code, message) => JSON.stringify({ type: 'error', code, message });

  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url, origin);
    const match = /^\/ENDPOINT\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const streamId = match[1];
    const sid = `c-${id()}`;
    const client = { ws: null, streamId, chain: Promise.resolve(), relay: null };
    client.ws = acceptWebSocket(req, socket, {
      onBinary: () => client.ws.send(errorFrame('binary_not_supported', 'binary frames are not supported; send JSON text frames')),
      onText: (text) => {
        client.chain = client.chain.then(() => onClientText(sid, client, text)).catch((e) => console.error('mock signalling:', e));
      },
      onClose: () => {
        clients.delete(sid);
        if (client.relay) client.relay.closeSession(sid, 'socket closed').catch(() => {});
      },
    });
    if (!client.ws) return;
    clients.set(sid, client);
    client.chain = client.chain.then(async () => {
      client.relay = await getRelay();
      if (!client.relay) {
        client.ws.send(errorFrame('no_media_server', 'no media server is available; try again shortly'));
        client.ws.close(1013, '');
      }
    });
  });

  async function onClientText(sid, client, text) {
    if (client.ws.closed || !client.relay) return;
    if (Buffer.byteLength(text) > 64 * 1024) {
      client.ws.send(errorFrame('frame_too_large', `frame of ${Buffer.byteLength(text)} bytes exceeds the 65536-byte limit`));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      msg = null;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
      client.ws.send(errorFrame('malformed_message', 'malformed message'));
      return;
    }
    const v = videos.get(client.streamId);
    if (msg.type === 'publish') {
      if (!v || !v.live || msg.token !== v.live.token || v.live.state === 'ended') {
        client.ws.send(errorFrame('unauthorized', 'the publish token is not valid for this stream'));
        client.ws.send(JSON.stringify({ type: 'bye', reason: 'unauthorized' }));
        client.ws.close(1000, '');
        return;
      }
    }
    if (msg.type === 'join' && (!v || !v.live || v.live.state !== 'live')) {
      client.ws.send(errorFrame('not_found', 'this stream is not live'));
      client.ws.send(JSON.stringify({ type: 'bye', reason: 'not live' }));
      client.ws.close(1000, '');
      return;
    }
    await client.relay.fromClient(sid, client.streamId, msg);
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  origin = `http://${host}:${server.address().port}`;
  return {
    url: origin,
    close: async () => {
      for (const c of clients.values()) c.ws.close(1001, 'going away');
      const r = relay && (await relay);
      if (r) await r.stop();
      await new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
    },
  };
}

// Command line: `mock-myvid.mjs dev --listen HOST:PORT --data-dir DIR`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] !== 'dev') {
    console.error('usage: mock-myvid.mjs dev --listen HOST:PORT [--data-dir DIR]');
    process.exit(2);
  }
  const listen = args[args.indexOf('--listen') + 1] || '127.0.0.1:0';
  const [host, port] = listen.split(':');
  const { url, close } = await startMock({ host, port: Number(port) });
  console.log(`mock myvid listening on ${url}`);
  const stop = () => close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Unit tests of the SDK (web/js/myvid.js) under Node: error parsing, session
// handling and the request shapes, against the in-process mock server.
// No browser and no real server needed.

import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as myvid from '../web/js/myvid.js';
import { startMock } from './support/mock-myvid.mjs';

describe('errorFromResponse', () => {
  test('uses code and message from the JSON error body', () => {
    const err = myvid.errorFromResponse(422, '{"error":{"code":"not_a_video","message":"not a playable video"}}');
    assert.ok(err instanceof myvid.MyVidError);
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'not_a_video');
    assert.equal(err.status, 422);
    assert.equal(err.message, 'not a playable video');
    assert.equal(err.toString(), 'not_a_video: not a playable video');
  });

  test('falls back to a status-derived code for non-JSON bodies', () => {
    const tooBig = myvid.errorFromResponse(413, 'length limit exceeded', 'Payload Too Large');
    assert.equal(tooBig.code, 'payload_too_large');
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.message, 'length limit exceeded');

    const boom = myvid.errorFromResponse(502, '', 'Bad Gateway');
    assert.equal(boom.code, 'server_error');
    assert.equal(boom.message, 'Bad Gateway');

    const odd = myvid.errorFromResponse(418, '<html>' + 'x'.repeat(1000));
    assert.equal(odd.code, 'http_418');
    assert.equal(odd.message, 'HTTP 418');
  });

  test('ignores JSON that is not an error object', () => {
    const err = myvid.errorFromResponse(404, '{"error":"nope"}');
    assert.equal(err.code, 'not_found');
    const err2 = myvid.errorFromResponse(400, '{"error":{"code":"invalid_input"}}');
    assert.equal(err2.code, 'invalid_input');
    assert.equal(err2.message, 'invalid_input');
  });
});

describe('SDK against the mock API', () => {
  let mock;
  before(async () => {
    mock = await startMock();
    myvid.configure({ baseUrl: mock.url });
  });
  after(async () => {
    myvid.clearSession();
    await mock.close();
  });
  beforeEach(() => myvid.clearSession());

  test('signup stores the session; me, logout', async () => {
    const session = await myvid.signup({ username: 'alice', email: 'alice@example.test', password: 'password123' });
    assert.equal(session.user.username, 'alice');
    assert.equal(myvid.getToken(), session.token);
    assert.deepEqual(myvid.currentUser(), session.user);
    assert.equal((await myvid.me()).email, 'alice@example.test');
    await myvid.logout();
    assert.equal(myvid.getToken(), null);
    assert.equal(myvid.currentUser(), null);
  });

  test('errors carry code and status', async () => {
    await assert.rejects(myvid.login({ credential: 'nobody', password: 'whatever1' }), (err) => {
      assert.equal(err.code, 'invalid_credentials');
      assert.equal(err.status, 401);
      return true;
    });
    await assert.rejects(myvid.signup({ username: 'x', email: 'x@example.test', password: 'password123' }), { code: 'invalid_input', status: 400 });
    await assert.rejects(myvid.getVideo('does-not-exist'), { code: 'not_found', status: 404 });
  });

  test('authenticated calls fail locally without a session', async () => {
    await assert.rejects(myvid.me(), { code: 'unauthorized', status: 401 });
    await assert.rejects(myvid.myVideos(), { code: 'unauthorized' });
  });

  test('a rejected token clears the session', async () => {
    await myvid.login({ credential: 'alice@example.test', password: 'password123' });
    const token = myvid.getToken();
    await myvid.logout();
    // Put the revoked token back, as if another tab had logged out.
    const storage = new Map([['myvid.token', token], ['myvid.user', '{"username":"alice"}']]);
    myvid.configure({
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) },
    });
    await assert.rejects(myvid.me(), { status: 401 });
    assert.equal(myvid.getToken(), null);
  });

  test('createUpload asks for an endpoint, then registers the files there', async () => {
    await myvid.signup({ username: 'bob', email: 'bob@example.test', password: 'password123' });
    const up = await myvid.createUpload({
      title: 'Hello world',
      description: 'd',
      previewFile: { name: 'p.png' },
      videoFile: { name: 'v.webm' },
    });
    assert.equal(up.endpoint, mock.url);
    assert.ok(up.id);
    assert.match(up.preview_upload_url, /^http:\/\//);
    assert.match(up.video_upload_url, /^http:\/\//);
    const mine = await myvid.myVideos();
    assert.deepEqual(mine.map((v) => v.title), ['Hello world']);
    assert.equal(mine[0].visibility, 'private');
    await assert.rejects(myvid.checkUpload(up.id), { code: 'upload_incomplete', status: 409 });
    await assert.rejects(myvid.publish(up.id), { code: 'upload_incomplete', status: 409 });
  });

  test('checkUpload gives the verdict on the uploaded file, before publishing', async () => {
    await myvid.signup({ username: 'cleo', email: 'cleo@example.test', password: 'password123' });
    const up = await myvid.createUpload({ title: 'Notes', previewFile: null, videoFile: { name: 'notes.webm' } });
    const put = await fetch(up.video_upload_url, { method: 'PUT', body: 'meeting notes, not a video' });
    assert.equal(put.status, 200);
    const check = await myvid.checkUpload(up.id);
    assert.equal(check.playable, false);
    assert.match(check.reason, /\S/);
    await assert.rejects(myvid.publish(up.id), { code: 'not_a_video', status: 422 });
  });
});

describe('checkUpload', () => {
  let server;
  let seen;
  const verdict = { playable: true, reason: null, width: 640, height: 480, duration_seconds: 6, has_audio: true };
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        if (req.url.startsWith('/v1/uploads/empty/')) {
          res.writeHead(409, { 'Content-Type': 'application/json' });
          res.end('{"error":{"code":"upload_incomplete","message":"the video file has not been uploaded yet"}}');
        } else {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(verdict));
        }
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}` });
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    seen = [];
    const map = new Map([['myvid.token', 'owner-token'], ['myvid.user', '{"username":"owner"}']]);
    myvid.configure({ storage: { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) } });
  });

  test('POSTs /v1/uploads/{id}/check with the token and no body', async () => {
    assert.deepEqual(await myvid.checkUpload('id/with slash'), verdict);
    assert.deepEqual(seen, [{ method: 'POST', url: '/v1/uploads/id%2Fwith%20slash/check', auth: 'Bearer owner-token', body: '' }]);
  });

  test('before the video file is uploaded: upload_incomplete', async () => {
    await assert.rejects(myvid.checkUpload('empty'), { code: 'upload_incomplete', status: 409 });
  });

  test('fails locally without a session', async () => {
    myvid.clearSession();
    await assert.rejects(myvid.checkUpload('v1'), { code: 'unauthorized', status: 401 });
    assert.deepEqual(seen, []);
  });
});

describe('request shapes', () => {
  let server;
  let seen;
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ items: [{ id: 'a' }], next_cursor: null, token: 't0k3n', user: { username: 'u' } }));
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}/` });
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    seen = [];
  });

  test('search, random and login send what the API expects', async () => {
    assert.deepEqual(await myvid.searchVideos('cats & dogs'), [{ id: 'a' }]);
    assert.deepEqual(await myvid.randomVideos(), [{ id: 'a' }]);
    await myvid.login({ credential: 'u', password: 'p' });
    await myvid.publish('id/with slash');
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.url}`),
      ['GET /v1/videos?q=cats+%26+dogs&limit=20', 'GET /v1/videos/random?limit=12', 'POST /v1/auth/login', 'POST /API/PUBLISH/id%2Fwith%20slash'],
    );
    assert.deepEqual(JSON.parse(seen[2].body), { credential: 'u', password: 'p' });
    assert.equal(seen[2].type, 'application/json');
    assert.equal(seen[2].auth, undefined);
    assert.equal(seen[3].auth, 'Bearer t0k3n');
  });
});

describe('transcodeStatus', () => {
  let server;
  let seen;
  const status = { state: 'TRANSCODING', percent: 42, renditions: [{ name: '480p', width: 640, height: 480, bandwidth: 1060400 }], error: null };
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
      if (req.headers.authorization === 'Bearer stale') {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"unauthorized","message":"the session has expired"}}');
      } else if (req.url.startsWith('/v1/videos/gone/')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"not_found","message":"no such video"}}');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(status));
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}` });
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    seen = [];
    myvid.clearSession();
  });

  const storageWith = (token) => {
    const map = new Map([['myvid.token', token], ['myvid.user', '{"username":"owner"}']]);
    return { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) };
  };

  test('asks GET /v1/videos/{id}/transcode, anonymously when logged out', async () => {
    assert.deepEqual(await myvid.transcodeStatus('id/with slash'), status);
    assert.deepEqual(seen, [{ method: 'GET', url: '/v1/videos/id%2Fwith%20slash/transcode', auth: undefined }]);
  });

  test('sends the token when logged in, so the owner is told why it failed', async () => {
    myvid.configure({ storage: storageWith('owner-token') });
    await myvid.transcodeStatus('v1');
    assert.equal(seen[0].auth, 'Bearer owner-token');
  });

  test('a stale token does not hide the status: it asks again anonymously', async () => {
    myvid.configure({ storage: storageWith('stale') });
    assert.equal((await myvid.transcodeStatus('v1')).percent, 42);
    assert.deepEqual(seen.map((r) => r.auth), ['Bearer stale', undefined]);
    assert.equal(myvid.getToken(), null);
  });

  test('unknown videos reject with not_found', async () => {
    await assert.rejects(myvid.transcodeStatus('gone'), { code: 'not_found', status: 404 });
  });
});

describe('managing videos, channels, listings and views', () => {
  let server;
  let seen;
  let map;
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: body ? JSON.parse(body) : null });
        if (req.method === 'DELETE' && req.url.startsWith('/v1/videos/')) {
          res.writeHead(204);
          res.end();
          return;
        }
        if (req.url.endsWith('/views')) {
          res.writeHead(202, { 'Content-Type': 'application/json' });
          res.end('{}');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ items: [{ id: 'a' }], next_cursor: 'next', following: true, followers: 3, username: 'bob' }));
      });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}` });
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    seen = [];
    map = new Map();
    myvid.configure({ storage: { getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, String(v)), removeItem: (k) => map.delete(k) } });
  });
  const logIn = () => {
    map.set('myvid.token', 'tok');
    map.set('myvid.user', '{"username":"alice"}');
  };

  test('updateVideo sends only the fields given; deleteVideo; both need a session', async () => {
    await assert.rejects(myvid.updateVideo('v1', { title: 'x' }), { code: 'unauthorized' });
    await assert.rejects(myvid.deleteVideo('v1'), { code: 'unauthorized' });
    assert.deepEqual(seen, []);
    logIn();
    await myvid.updateVideo('v/1', { title: 'New', visibility: 'unlisted' });
    assert.equal(await myvid.deleteVideo('v/1'), undefined);
    assert.deepEqual(
      seen.map((r) => [r.method, r.url, r.auth, r.body]),
      [
        ['PATCH', '/v1/videos/v%2F1', 'Bearer tok', { title: 'New', visibility: 'unlisted' }],
        ['DELETE', '/v1/videos/v%2F1', 'Bearer tok', null],
      ],
    );
  });

  test('channel (anonymous or with the token), its videos, follow, unfollow, following', async () => {
    assert.equal((await myvid.channel('bob')).username, 'bob');
    logIn();
    await myvid.channel('b ob');
    assert.deepEqual(await myvid.channelVideos('bob'), { items: [{ id: 'a' }], next_cursor: 'next' });
    await myvid.channelVideos('bob', { cursor: 'c 1', limit: 6 });
    assert.deepEqual(await myvid.follow('bob'), { items: [{ id: 'a' }], next_cursor: 'next', following: true, followers: 3, username: 'bob' });
    await myvid.unfollow('bob');
    await myvid.following();
    await myvid.following({ cursor: 'xyz' });
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.url} ${r.auth ?? '-'}`),
      [
        'GET /v1/channels/bob -',
        'GET /v1/channels/b%20ob Bearer tok',
        'GET /v1/channels/bob/videos -',
        'GET /v1/channels/bob/videos?cursor=c+1&limit=6 -',
        'PUT /v1/channels/bob/follow Bearer tok',
        'DELETE /v1/channels/bob/follow Bearer tok',
        'GET /v1/me/following Bearer tok',
        'GET /v1/me/following?cursor=xyz Bearer tok',
      ],
    );
  });

  test('listVideos and related ask for the right order and page', async () => {
    await myvid.listVideos();
    await myvid.listVideos({ sort: 'popular', cursor: 'p2' });
    await myvid.listVideos({ sort: 'live', limit: 4 });
    assert.deepEqual(await myvid.related('v1'), [{ id: 'a' }]);
    await myvid.related('v1', { limit: 3 });
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.url}`),
      [
        'GET /v1/videos?sort=latest',
        'GET /v1/videos?sort=popular&cursor=p2',
        'GET /v1/videos?sort=live&limit=4',
        'GET /v1/videos/v1/related?limit=8',
        'GET /v1/videos/v1/related?limit=3',
      ],
    );
  });

  test('countView sends one viewer id, made once and kept', async () => {
    await myvid.countView('v1');
    await myvid.countView('v2');
    const viewer = map.get('myvid.viewer');
    assert.match(viewer, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      seen.map((r) => [r.method, r.url, r.auth, r.body]),
      [
        ['POST', '/v1/videos/v1/views', undefined, { viewer }],
        ['POST', '/v1/videos/v2/views', undefined, { viewer }],
      ],
    );
    logIn();
    await myvid.countView('v3');
    assert.equal(seen[2].auth, 'Bearer tok');
    assert.deepEqual(seen[2].body, { viewer });
    map.set('myvid.viewer', 'not valid!');
    assert.match(myvid.viewerId(), /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(myvid.viewerId(), viewer);
  });
});

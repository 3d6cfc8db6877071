// Unit tests of the live SDK (web/js/live.js) under Node: the frames it sends, how
// it handles what the server sends, against an in-process fake WebSocket and a fake
// RTCPeerConnection. No browser, no server.

import { describe, test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import * as myvid from '../web/js/myvid.js';
import * as live from '../web/js/live.js';
import {
  FakeWebSocket,
  FakePeerConnection,
  FakeRTCRtpReceiver,
  FakeTrack,
  FakeMediaStream,
  FakeVideoElement,
  settle,
} from './support/fake-webrtc.mjs';

const fakes = { WebSocket: FakeWebSocket, RTCPeerConnection: FakePeerConnection };

const STREAM = Object.freeze({
  stream_id: 'k3J9xQ2mPa0Z',
  endpoint: 'http://127.0.0.1:9',
  ws_url: 'ws://127.0.0.1:9/ENDPOINT/k3J9xQ2mPa0Z',
  whip_url: 'http://127.0.0.1:9/whip/k3J9xQ2mPa0Z',
  whep_url: 'http://127.0.0.1:9/whep/k3J9xQ2mPa0Z',
  token: 'v1.1700000000.abcdef',
  ice_servers: [{ urls: ['stun:stun.example.org:3478'] }, { urls: 'turn:turn.example.org:3478', username: 'u', credential: 'p' }],
});

const LIVE_VIDEO = Object.freeze({
  id: 'k3J9xQ2mPa0Z',
  title: 'Morning show',
  description: '',
  type: 'WebRTC',
  source: 'LIVE',
  live_state: 'live',
  url: 'ws://127.0.0.1:9/ENDPOINT/k3J9xQ2mPa0Z',
  ws_url: 'ws://127.0.0.1:9/ENDPOINT/k3J9xQ2mPa0Z',
  whep_url: 'http://127.0.0.1:9/whep/k3J9xQ2mPa0Z',
  ice_servers: [{ urls: ['stun:stun.example.org:3478'] }],
  preview_url: null,
});

const HOST_CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };

function camera(width = 1280, height = 720) {
  return new FakeMediaStream([new FakeTrack('audio'), new FakeTrack('video', { width, height })]);
}

/** Records onState/onViewers/onError calls. */
function recorder() {
  const r = { states: [], details: [], viewers: [], errors: [] };
  r.onState = (s, d) => {
    r.states.push(s);
    r.details.push(d);
  };
  r.onViewers = (n) => r.viewers.push(n);
  r.onError = (e) => r.errors.push(e);
  return r;
}

let warnings;
let originalWarn;
beforeEach(() => {
  FakeWebSocket.reset();
  FakePeerConnection.reset();
  warnings = [];
  originalWarn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
});
afterEach(() => {
  console.warn = originalWarn;
});

describe('wire helpers', () => {
  test('candidates map to snake_case and back', () => {
    assert.deepEqual(live.candidateToWire(HOST_CANDIDATE), {
      type: 'candidate',
      candidate: HOST_CANDIDATE.candidate,
      sdp_mid: '0',
      sdp_mline_index: 0,
    });
    // End of candidates: an empty string, never null.
    assert.deepEqual(live.candidateToWire(null), { type: 'candidate', candidate: '' });
    // Unknown mid / index are left out, not sent as null.
    assert.deepEqual(live.candidateToWire({ candidate: 'candidate:x', sdpMid: null, sdpMLineIndex: null }), { type: 'candidate', candidate: 'candidate:x' });
    assert.deepEqual(live.candidateFromWire({ type: 'candidate', candidate: 'candidate:y', sdp_mid: '1', sdp_mline_index: 1 }), {
      candidate: 'candidate:y',
      sdpMid: '1',
      sdpMLineIndex: 1,
    });
    assert.deepEqual(live.candidateFromWire({ type: 'candidate', candidate: '' }), { candidate: '' });
  });

  test('well-formed server messages parse', () => {
    const cases = [
      { type: 'answer', sdp: 'v=0' },
      { type: 'offer', sdp: 'v=0' },
      { type: 'candidate', candidate: 'candidate:1', sdp_mid: '0', sdp_mline_index: 0 },
      { type: 'candidate', candidate: '' },
      { type: 'viewers', count: 3 },
      { type: 'ended', reason: 'the broadcaster left' },
      { type: 'error', code: 'busy', message: 'try later' },
      { type: 'bye', reason: 'closing' },
      { type: 'session', resume: 'k1', grace_ms: 30000 },
      { type: 'resumed' },
    ];
    for (const msg of cases) assert.deepEqual(live.parseServerMessage(JSON.stringify(msg)), msg);
    assert.deepEqual(live.parseServerMessage('{"type":"bye"}'), { type: 'bye', reason: '' });
    assert.deepEqual(live.parseServerMessage('{"type":"error","code":"x"}'), { type: 'error', code: 'x', message: 'x' });
    assert.deepEqual(warnings, []);
  });

  test('malformed frames give null and a warning', () => {
    const bad = [
      '',
      'not json',
      'null',
      '[]',
      '"answer"',
      '{}',
      '{"type":5}',
      '{"type":"nope"}',
      '{"type":"__proto__"}',
      '{"type":"answer"}',
      '{"type":"answer","sdp":""}',
      '{"type":"offer","sdp":7}',
      '{"type":"candidate"}',
      '{"type":"candidate","candidate":"c","sdp_mline_index":-1}',
      '{"type":"candidate","candidate":"c","sdp_mid":0}',
      '{"type":"viewers","count":-1}',
      '{"type":"viewers","count":"3"}',
      '{"type":"viewers","count":1.5}',
      '{"type":"error","message":"no code"}',
      '{"type":"ended","reason":42}',
      '{"type":"session","resume":"","grace_ms":1000}',
      '{"type":"session","resume":"k"}',
      '{"type":"session","resume":"k","grace_ms":-5}',
      new ArrayBuffer(8),
      `{"type":"answer","sdp":"${'x'.repeat(live.MAX_FRAME_BYTES)}"}`,
    ];
    for (const frame of bad) {
      warnings = [];
      assert.equal(live.parseServerMessage(frame), null, String(frame).slice(0, 60));
      assert.equal(warnings.length, 1, `one warning for ${String(frame).slice(0, 60)}`);
      assert.match(warnings[0], /ignoring a malformed signalling frame/);
    }
  });

  test('reconnection prefers a live endpoint other than the lost one', () => {
    const [a, b] = ['ws://a.test/ENDPOINT/s', 'ws://b.test/ENDPOINT/s'];
    assert.equal(live.pickReconnectUrl([a, b], a), b, 'not the lost one');
    assert.equal(live.pickReconnectUrl([b, a], a), b);
    assert.equal(live.pickReconnectUrl([a], a), a, 'the lost one if it is all there is (it may be back)');
    assert.equal(live.pickReconnectUrl([], a), null);
    assert.equal(live.pickReconnectUrl(['http://x', 5, null], a), null, 'only ws(s) URLs');
    assert.equal(live.pickReconnectUrl(undefined, a), null);
  });

  test('readable errors for the endpoint codes', () => {
    for (const code of ['no_media_server', 'media_server_timeout', 'busy']) {
      const err = live.liveError({ code, message: 'raw' });
      assert.ok(err instanceof myvid.MyVidError);
      assert.equal(err.code, code);
      assert.match(err.message, /try again/i);
    }
    assert.equal(live.liveError({ code: 'weird', message: 'Something odd.' }).message, 'Something odd.');
  });

  test('simulcast layers from the camera width', () => {
    const three = live.videoEncodings(1280, true);
    assert.deepEqual(
      three.map((e) => [e.rid, e.scaleResolutionDownBy]),
      [['q', 4], ['h', 2], ['f', 1]],
    );
    assert.equal(live.videoEncodings(640, true).length, 3);
    assert.deepEqual(live.videoEncodings(639, true), [{}]);
    assert.deepEqual(live.videoEncodings(1920, false), [{}]);
    assert.deepEqual(live.videoEncodings(undefined, true), [{}]);
  });

  test('VP8 goes first, the other codecs stay', () => {
    const t = { codecs: null, setCodecPreferences(c) { this.codecs = c; } };
    assert.equal(live.preferCodec(t, 'video/VP8', { RTCRtpReceiver: FakeRTCRtpReceiver }), true);
    assert.deepEqual(t.codecs.map((c) => c.mimeType), ['video/VP8', 'video/VP9', 'video/rtx', 'video/H264']);
    assert.equal(live.preferCodec({}, 'video/VP8', { RTCRtpReceiver: FakeRTCRtpReceiver }), false, 'no setCodecPreferences');
    assert.equal(live.preferCodec(t, 'video/AV2', { RTCRtpReceiver: FakeRTCRtpReceiver }), false, 'unknown codec');
  });

  test('ICE server lists are cleaned', () => {
    assert.deepEqual(
      live.sanitizeIceServers([
        { urls: ['stun:a.example:3478', 'http://nope'] },
        { urls: 'turn:b.example:3478', username: 'u', credential: 'p' },
        { urls: [] },
        null,
        'stun:c',
        { urls: 5 },
      ]),
      [{ urls: ['stun:a.example:3478'] }, { urls: ['turn:b.example:3478'], username: 'u', credential: 'p' }],
    );
    assert.deepEqual(live.sanitizeIceServers(undefined), []);
  });
});

describe('SignalChannel', () => {
  test('queues until open, then sends in order', () => {
    const got = [];
    const ch = new live.SignalChannel('ws://x/ENDPOINT/s', { onMessage: (m) => got.push(m), onClose: () => {} }, FakeWebSocket);
    const ws = FakeWebSocket.last;
    ch.send({ type: 'join' });
    ch.send({ type: 'candidate', candidate: '' });
    assert.deepEqual(ws.sent, []);
    ws.open();
    assert.deepEqual(ws.sent, ['{"type":"join"}', '{"type":"candidate","candidate":""}']);
    ws.receive({ type: 'viewers', count: 1 });
    ws.receive('garbage');
    assert.deepEqual(got, [{ type: 'viewers', count: 1 }]);
    assert.equal(warnings.length, 1);
  });

  test('refuses frames over 64 KiB and sends nothing', () => {
    const ch = new live.SignalChannel('ws://x/ENDPOINT/s', { onMessage: () => {}, onClose: () => {} }, FakeWebSocket);
    const ws = FakeWebSocket.last;
    ws.open();
    // Just under the limit is fine (the frame counts in UTF-8 bytes).
    const overhead = '{"type":"answer","sdp":""}'.length;
    ch.send({ type: 'answer', sdp: 'x'.repeat(live.MAX_FRAME_BYTES - overhead) });
    assert.equal(ws.sent.length, 1);
    assert.equal(Buffer.byteLength(ws.sent[0]), live.MAX_FRAME_BYTES);
    assert.throws(() => ch.send({ type: 'answer', sdp: 'x'.repeat(live.MAX_FRAME_BYTES - overhead + 1) }), { code: 'frame_too_large' });
    // Multi-byte characters count as bytes, not as characters.
    assert.throws(() => ch.send({ type: 'answer', sdp: 'é'.repeat(40_000) }), { code: 'frame_too_large' });
    assert.equal(ws.sent.length, 1, 'nothing more was sent');
  });

  test('close sends bye once and reports no close of its own', () => {
    let closes = 0;
    const ch = new live.SignalChannel('ws://x/ENDPOINT/s', { onMessage: () => {}, onClose: () => closes++ }, FakeWebSocket);
    const ws = FakeWebSocket.last;
    ws.open();
    ch.close('done here');
    ch.close('again');
    assert.deepEqual(ws.frames, [{ type: 'bye', reason: 'done here' }]);
    assert.equal(ws.closeCalls.length, 1);
    assert.equal(closes, 0);
    assert.throws(() => ch.send({ type: 'join' }), { code: 'closed' });
  });

  test('a long bye reason is cut to the server limit', () => {
    const ch = new live.SignalChannel('ws://x/ENDPOINT/s', { onMessage: () => {}, onClose: () => {} }, FakeWebSocket);
    FakeWebSocket.last.open();
    ch.close('ü'.repeat(600));
    assert.ok(Buffer.byteLength(FakeWebSocket.last.frames[0].reason) <= 512);
  });
});

describe('publish', () => {
  before(() => {
    globalThis.RTCRtpReceiver = FakeRTCRtpReceiver;
  });
  after(() => {
    delete globalThis.RTCRtpReceiver;
  });

  test('sends publish with the token and the offer, then goes live', async () => {
    const r = recorder();
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    assert.equal(handle.state, 'connecting');
    assert.deepEqual(r.states, [], 'no callback before publish() returns');
    assert.equal(handle.streamId, STREAM.stream_id);
    await settle();
    const ws = FakeWebSocket.last;
    const pc = FakePeerConnection.last;
    assert.equal(ws.url, STREAM.ws_url);
    assert.deepEqual(pc.config.iceServers, [
      { urls: ['stun:stun.example.org:3478'] },
      { urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'p' },
    ]);

    // Audio plus simulcast video, send-only, VP8 first.
    const [audio, video] = pc.transceivers;
    assert.equal(audio.track.kind, 'audio');
    assert.equal(audio.init.direction, 'sendonly');
    assert.equal(audio.init.sendEncodings, undefined);
    assert.equal(video.track.kind, 'video');
    assert.equal(video.init.direction, 'sendonly');
    assert.deepEqual(video.init.sendEncodings.map((e) => [e.rid, e.scaleResolutionDownBy]), [['q', 4], ['h', 2], ['f', 1]]);
    assert.equal(video.codecPreferences[0].mimeType, 'video/VP8');
    assert.deepEqual(handle.encodings.map((e) => e.rid), ['q', 'h', 'f']);

    // Nothing goes out before the socket is open; then publish first.
    assert.deepEqual(ws.sent, []);
    pc.gather(HOST_CANDIDATE);
    ws.open();
    assert.deepEqual(ws.frames[0], { type: 'publish', token: STREAM.token, sdp: FakePeerConnection.offerSdp });
    assert.deepEqual(Object.keys(ws.frames[0]), ['type', 'token', 'sdp']);
    assert.deepEqual(ws.frames[1], { type: 'candidate', candidate: HOST_CANDIDATE.candidate, sdp_mid: '0', sdp_mline_index: 0 });

    // A server candidate before the answer waits for it; the ICE-lite server may send none.
    ws.receive({ type: 'candidate', candidate: 'candidate:9 1 udp 1 198.51.100.1 3478 typ host', sdp_mid: '0', sdp_mline_index: 0 });
    await settle();
    assert.deepEqual(pc.addedCandidates, []);
    ws.receive({ type: 'answer', sdp: 'v=0 answer' });
    await settle();
    assert.deepEqual(pc.remoteDescription, { type: 'answer', sdp: 'v=0 answer' });
    assert.deepEqual(pc.addedCandidates, [{ candidate: 'candidate:9 1 udp 1 198.51.100.1 3478 typ host', sdpMid: '0', sdpMLineIndex: 0 }]);

    // Our own end of candidates.
    pc.gather(null);
    assert.deepEqual(ws.frames.at(-1), { type: 'candidate', candidate: '' });

    pc.setConnectionState('connected');
    assert.equal(handle.state, 'live');
    assert.deepEqual(r.states, ['connecting', 'live']);

    ws.receive({ type: 'viewers', count: 2 });
    ws.receive({ type: 'viewers', count: 3 });
    await settle();
    assert.deepEqual(r.viewers, [2, 3]);
    assert.equal(handle.viewers, 3);

    // Errors do not end the session.
    ws.receive({ type: 'error', code: 'invalid_message', message: 'bad candidate' });
    await settle();
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].code, 'invalid_message');
    assert.equal(handle.state, 'live');

    // Messages meant for viewers, and junk, are ignored with a warning.
    warnings = [];
    ws.receive({ type: 'offer', sdp: 'v=0' });
    ws.receive({ type: 'ended', reason: 'x' });
    ws.receive('{"type":"viewers","count":"many"}');
    ws.receive('}{');
    await settle();
    assert.equal(warnings.length, 4);
    assert.equal(handle.state, 'live');
    assert.deepEqual(r.viewers, [2, 3]);

    handle.stop();
    assert.equal(handle.state, 'ended');
    assert.deepEqual(ws.frames.at(-1), { type: 'bye', reason: 'the broadcaster stopped' });
    assert.equal(ws.closeCalls.length, 1);
    assert.equal(pc.closed, true);
    assert.deepEqual(await handle.closed, { state: 'ended', reason: 'the broadcaster stopped' });
    assert.deepEqual(r.states, ['connecting', 'live', 'ended']);
  });

  test('one plain encoding for a small camera or without simulcast', async () => {
    const small = live.publish({ stream: STREAM, mediaStream: camera(480, 360), ...fakes, timeoutMs: 0 });
    const plain = live.publish({ stream: STREAM, mediaStream: camera(1920, 1080), simulcast: false, ...fakes, timeoutMs: 0 });
    await settle();
    small.stop();
    plain.stop();
    assert.equal(FakePeerConnection.instances.length, 2);
    for (const pc of FakePeerConnection.instances) {
      const video = pc.transceivers.find((t) => t.track.kind === 'video');
      assert.equal(video.init.sendEncodings, undefined);
    }
  });

  test('the server saying bye fails the broadcast with its reason', async () => {
    const r = recorder();
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'answer', sdp: 'v=0' });
    await settle();
    FakePeerConnection.last.setConnectionState('connected');
    assert.equal(handle.state, 'live');
    ws.receive({ type: 'bye', reason: 'the media connection failed' });
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'closed_by_server');
    assert.match(handle.error.message, /the media connection failed/);
    assert.deepEqual(r.states, ['connecting', 'live', 'failed']);
    assert.equal(FakePeerConnection.last.closed, true);
  });

  test('an endpoint error before the answer fails with a readable message', async () => {
    const r = recorder();
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'error', code: 'no_media_server', message: 'no media server is available; try again shortly' });
    ws.serverClose(1013, '');
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'no_media_server');
    assert.match(handle.error.message, /no media server is available/i);
    assert.deepEqual(r.states, ['connecting', 'failed']);
    const closed = await handle.closed;
    assert.equal(closed.state, 'failed');
  });

  test('a refused publish fails at once, even if the socket stays open', async () => {
    const r = recorder();
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'error', code: 'unauthorized', message: 'the stream token was refused' });
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'unauthorized');
    assert.equal(r.errors.length, 1, 'onError heard it too');
    assert.deepEqual(ws.frames.at(-1), { type: 'bye', reason: 'failed' });
    assert.equal(ws.closeCalls.length, 1);
  });

  test('a lost connection fails; so does a failed ICE connection', async () => {
    const a = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, timeoutMs: 0 });
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1006, '');
    await settle();
    assert.equal(a.state, 'failed');
    assert.equal(a.error.code, 'connection_lost');

    const b = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, timeoutMs: 0 });
    await settle();
    FakeWebSocket.last.open();
    FakePeerConnection.last.setConnectionState('failed');
    assert.equal(b.state, 'failed');
    assert.equal(b.error.code, 'ice_failed');
  });

  test('an oversize publish frame is refused, never sent', async () => {
    const r = recorder();
    const stream = { ...STREAM, token: 't'.repeat(40_000) };
    FakePeerConnection.offerSdp = `v=0\r\n${'a=x\r\n'.repeat(5000)}`; // 25 KB: under the SDP limit
    const handle = live.publish({ stream, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    await settle();
    FakeWebSocket.last.open();
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'frame_too_large');
    assert.ok(FakeWebSocket.last.sent.every((f) => Buffer.byteLength(f) <= live.MAX_FRAME_BYTES));
    assert.ok(!FakeWebSocket.last.sent.some((f) => f.includes('"publish"')), 'no publish frame went out');
  });

  test('an SDP over the server limit is refused with a clear error', async () => {
    FakePeerConnection.offerSdp = `v=0\r\n${'a=x\r\n'.repeat(8000)}`;
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, timeoutMs: 0 });
    await settle();
    FakeWebSocket.last.open();
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'sdp_too_large');
  });

  test('gives up when not live in time', async () => {
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, timeoutMs: 30 });
    await settle();
    FakeWebSocket.last.open();
    const closed = await handle.closed;
    assert.equal(closed.state, 'failed');
    assert.equal(closed.error.code, 'timeout');
  });

  test('stop before the session started: nothing is opened', async () => {
    const r = recorder();
    const handle = live.publish({ stream: STREAM, mediaStream: camera(), ...fakes, ...r, timeoutMs: 0 });
    handle.stop();
    await settle();
    assert.equal(handle.state, 'ended');
    assert.deepEqual(r.states, ['ended']);
    assert.equal(FakeWebSocket.instances.length, 0);
    assert.equal(FakePeerConnection.instances.length, 0);
  });

  test('bad input fails instead of throwing', async () => {
    const noTracks = live.publish({ stream: STREAM, mediaStream: new FakeMediaStream([]), ...fakes, timeoutMs: 0 });
    assert.equal((await noTracks.closed).error.code, 'no_media');
    const noStream = live.publish({ stream: null, mediaStream: camera(), ...fakes, timeoutMs: 0 });
    assert.equal((await noStream.closed).error.code, 'invalid_input');
    const noWebRTC = live.publish({ stream: STREAM, mediaStream: camera(), WebSocket: FakeWebSocket, RTCPeerConnection: null, timeoutMs: 0 });
    assert.equal((await noWebRTC.closed).error.code, 'unsupported');
  });
});

describe('watch', () => {
  test('joins, answers the offer receive-only, plays, then ends', async () => {
    const r = recorder();
    const element = new FakeVideoElement();
    const videoTrack = new FakeTrack('video');
    FakePeerConnection.remoteTracks = [new FakeTrack('audio'), videoTrack];
    const handle = live.watch({ video: LIVE_VIDEO, element, ...fakes, ...r, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    const pc = FakePeerConnection.last;
    assert.equal(ws.url, LIVE_VIDEO.ws_url);
    assert.deepEqual(pc.config.iceServers, LIVE_VIDEO.ice_servers);
    ws.open();
    assert.deepEqual(ws.sent, ['{"type":"join"}'], 'join is exactly {"type":"join"}');
    assert.equal(handle.state, 'connecting');

    pc.gather(HOST_CANDIDATE); // before the offer: still sent (the server buffers)
    ws.receive({ type: 'offer', sdp: 'v=0 offer' });
    ws.receive({ type: 'candidate', candidate: 'candidate:5 1 udp 1 198.51.100.1 3478 typ host', sdp_mid: '0' });
    await settle();
    assert.deepEqual(pc.remoteDescription, { type: 'offer', sdp: 'v=0 offer' });
    assert.ok(pc.transceivers.every((t) => t.direction === 'recvonly'), 'every transceiver receives only');
    assert.deepEqual(ws.frames.slice(1), [
      { type: 'candidate', candidate: HOST_CANDIDATE.candidate, sdp_mid: '0', sdp_mline_index: 0 },
      { type: 'answer', sdp: FakePeerConnection.answerSdp },
    ]);
    assert.deepEqual(Object.keys(ws.frames[2]), ['type', 'sdp']);
    assert.deepEqual(pc.addedCandidates, [{ candidate: 'candidate:5 1 udp 1 198.51.100.1 3478 typ host', sdpMid: '0' }]);
    assert.ok(handle.timing.offer >= handle.timing.start);

    // The remote stream is in the element: muted, autoplay, inline.
    assert.ok(element.srcObject);
    assert.ok(element.srcObject.getTracks().includes(videoTrack));
    assert.equal(element.muted, true);
    assert.equal(element.autoplay, true);
    assert.equal(element.playsInline, true);
    assert.equal(element.attributes.playsinline, '');
    assert.ok(element.playCalls >= 1);
    assert.equal(handle.stream, element.srcObject);

    // Playing once the element plays (not merely when ICE connects).
    pc.setConnectionState('connected');
    assert.equal(handle.state, 'connecting');
    element.emit('playing');
    assert.equal(handle.state, 'playing');
    assert.ok(handle.timing.firstFrame >= handle.timing.offer);

    // Broadcaster-only messages and junk are ignored (a `viewers` count is kept for the
    // chat, quietly: the server sends it only to chat members).
    warnings = [];
    ws.receive({ type: 'viewers', count: 4 });
    ws.receive({ type: 'answer', sdp: 'v=0' });
    ws.receive('{"type":"ended","reason":null,"x":[}');
    await settle();
    assert.equal(warnings.length, 2);
    assert.equal(handle.state, 'playing');

    ws.receive({ type: 'ended', reason: 'the broadcaster left' });
    await settle();
    assert.equal(handle.state, 'ended');
    assert.deepEqual(r.states, ['connecting', 'playing', 'ended']);
    assert.deepEqual(r.details.at(-1), { reason: 'the broadcaster left' });
    assert.equal(pc.closed, true);
    assert.deepEqual(ws.frames.at(-1), { type: 'bye', reason: 'the broadcaster left' });
    // A bye and close after `ended` change nothing.
    ws.receive({ type: 'bye', reason: 'closing' });
    ws.serverClose(1000, '');
    await settle();
    assert.deepEqual(r.states, ['connecting', 'playing', 'ended']);
  });

  test('a new offer renegotiates', async () => {
    const handle = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'offer', sdp: 'v=0 first' });
    await settle();
    ws.receive({ type: 'offer', sdp: 'v=0 second' });
    await settle();
    assert.deepEqual(ws.frames.filter((f) => f.type === 'answer').length, 2);
    assert.equal(FakePeerConnection.last.remoteDescription.sdp, 'v=0 second');
    // Without an element, a connected peer connection counts as playing.
    FakePeerConnection.last.setConnectionState('connected');
    assert.equal(handle.state, 'playing');
    handle.stop();
    assert.deepEqual(ws.frames.at(-1), { type: 'bye', reason: 'the viewer left' });
  });

  test('a bit rate cap goes out after the answer, and changes after that at once', async () => {
    assert.throws(() => live.watch({ video: LIVE_VIDEO, ...fakes, maxBitrate: -5 }), /maxBitrate/);
    assert.throws(() => live.watch({ video: LIVE_VIDEO, ...fakes, maxBitrate: 1.5 }), /maxBitrate/);
    const handle = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0, maxBitrate: 250_000 });
    assert.equal(handle.maxBitrate, 250_000);
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    handle.setMaxBitrate(300_000); // before the answer: kept, sent with it
    assert.deepEqual(ws.frames, [{ type: 'join' }]);
    ws.receive({ type: 'offer', sdp: 'v=0 first' });
    await settle();
    assert.deepEqual(ws.frames.slice(-2), [
      { type: 'answer', sdp: FakePeerConnection.answerSdp },
      { type: 'max_bitrate', bps: 300_000 },
    ]);
    ws.receive({ type: 'offer', sdp: 'v=0 second' });
    await settle();
    assert.equal(ws.frames.filter((f) => f.type === 'max_bitrate').length, 1, 'a renegotiation does not repeat it');
    handle.setMaxBitrate(null);
    assert.deepEqual(ws.frames.at(-1), { type: 'max_bitrate', bps: 0 }, 'null lifts the cap');
    assert.equal(handle.maxBitrate, null);
    assert.throws(() => handle.setMaxBitrate('fast'), /maxBitrate/);
    handle.stop();
  });

  test('server errors: reported, and fatal before playing', async () => {
    const r = recorder();
    const handle = live.watch({ video: LIVE_VIDEO, ...fakes, ...r, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'error', code: 'not_found', message: 'no such stream' });
    await settle();
    assert.equal(r.errors.length, 1);
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'not_found');
    assert.match(handle.error.message, /not live/);
  });

  test('the connection dropping while playing fails', async () => {
    const handle = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0 });
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'offer', sdp: 'v=0' });
    await settle();
    FakePeerConnection.last.setConnectionState('connected');
    FakeWebSocket.last.serverClose(1006, '');
    await settle();
    assert.equal(handle.state, 'failed');
    assert.equal(handle.error.code, 'connection_lost');
  });

  test('not a live video, or one that has ended', async () => {
    const stored = live.watch({ video: { ...LIVE_VIDEO, type: 'HTTP' }, ...fakes, timeoutMs: 0 });
    assert.equal((await stored.closed).error.code, 'invalid_input');
    const ended = live.watch({ video: { ...LIVE_VIDEO, live_state: 'ended' }, ...fakes, timeoutMs: 0 });
    assert.equal((await ended.closed).state, 'ended');
    const badUrl = live.watch({ video: { ...LIVE_VIDEO, url: 'http://x', ws_url: undefined }, ...fakes, timeoutMs: 0 });
    assert.equal((await badUrl.closed).error.code, 'bad_response');
    assert.equal(FakeWebSocket.instances.length, 0, 'no socket was opened');
  });

  test('iceTransportPolicy relay is passed to the peer connection, nothing else is', async () => {
    const relayed = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0, iceTransportPolicy: 'relay' });
    await settle();
    assert.equal(FakePeerConnection.last.config.iceTransportPolicy, 'relay');
    relayed.stop();
    for (const policy of [undefined, 'all', 'bogus']) {
      const handle = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0, iceTransportPolicy: policy });
      await settle();
      assert.equal(FakePeerConnection.last.config.iceTransportPolicy, undefined, String(policy));
      handle.stop();
    }
  });

  test('without ice_servers on the video, asks GET /API/ICE', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ice_servers: [{ urls: ['stun:from-api.example:3478'] }] }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}` });
    try {
      const video = { ...LIVE_VIDEO };
      delete video.ice_servers;
      const handle = live.watch({ video, ...fakes, timeoutMs: 0 });
      // A real HTTP round trip first: wait by the clock, not by event-loop turns (a busy
      // CI machine needs more of those).
      for (const end = Date.now() + 5000; !FakePeerConnection.last && Date.now() < end; ) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(FakePeerConnection.last, 'a peer connection was made once GET /API/ICE answered');
      assert.deepEqual(FakePeerConnection.last.config.iceServers, [{ urls: ['stun:from-api.example:3478'] }]);
      handle.stop();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('chat', () => {
  test('joins after the answer, sends and moderates, and shows each line once', async () => {
    const handle = live.watch({ video: LIVE_VIDEO, ...fakes, timeoutMs: 0 });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    const events = [];
    for (const type of ['joined', 'message', 'deleted', 'muted', 'refused', 'viewers']) {
      handle.chat.on(type, (detail) => events.push([type, detail]));
    }
    handle.chat.join('c1.tok.mac');
    await settle();
    assert.deepEqual(ws.frames, [{ type: 'join' }], 'nothing for chat before the offer is answered');
    ws.receive({ type: 'offer', sdp: 'v=0 offer' });
    await settle();
    assert.deepEqual(ws.frames.slice(-2), [{ type: 'answer', sdp: FakePeerConnection.answerSdp }, { type: 'chat_join', token: 'c1.tok.mac' }]);

    ws.receive({ type: 'viewers', count: 2 });
    const line = (id, text) => ({ id, user: 'alice', text, at_ms: 1_767_000_000_000 });
    ws.receive({ type: 'chat_joined', can_write: true, moderator: true, name: 'bob', history: [line('m1', 'hi')], viewers: 3, max_chars: 300 });
    await settle();
    assert.equal(handle.chat.joined, true);
    assert.equal(handle.chat.canWrite, true);
    assert.equal(handle.chat.viewers, 3);
    const nonce = handle.chat.send('hello');
    handle.chat.delete('m1');
    handle.chat.mute('m2');
    assert.deepEqual(ws.frames.slice(-3), [
      { type: 'chat_send', text: 'hello', nonce },
      { type: 'chat_delete', id: 'm1' },
      { type: 'chat_mute', id: 'm2', seconds: 600 },
    ]);
    ws.receive({ type: 'chat_message', ...line('m2', 'hello'), nonce });
    ws.receive({ type: 'chat_deleted', id: 'm1' });
    ws.receive({ type: 'chat_refused', code: 'rate_limited', message: 'Slow down.', retry_after_ms: 1800, nonce });
    ws.receive({ type: 'viewers', count: 4 });
    // Joining again (as after a resume): the history's lines already shown come once.
    ws.receive({ type: 'chat_joined', can_write: true, moderator: true, name: 'bob', history: [line('m1', 'hi'), line('m2', 'hello'), line('m3', 'new')], viewers: 4, max_chars: 300 });
    await settle();
    const messages = events.filter(([t]) => t === 'message').map(([, l]) => l.id);
    assert.deepEqual(messages, ['m1', 'm2', 'm3'], 'each line once; a deleted one never again');
    assert.deepEqual(events.find(([t]) => t === 'refused')[1], { code: 'rate_limited', message: 'Slow down.', retry_after_ms: 1800, nonce });
    assert.deepEqual(events.filter(([t]) => t === 'viewers').map(([, n]) => n), [4]);
    assert.deepEqual(handle.chat.messages.map((l) => l.id), ['m2', 'm3']);
    assert.deepEqual(warnings, []);
  });
});

describe('stream set-up requests', () => {
  let server;
  let seen;
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (req.url.startsWith('/API/ICE')) res.end(JSON.stringify({ ice_servers: [{ urls: ['stun:s.example:3478'] }, { urls: 'bogus' }] }));
        else if (req.url === '/API/NEWSTREAM/') res.end(JSON.stringify(STREAM));
        else if (req.url.endsWith('/chat-token')) res.end(JSON.stringify({ token: 'c1.p.m', expires_at: 1, name: 'caster', moderator: true }));
        else res.end(JSON.stringify({ token: 'sess10n', user: { username: 'caster' } }));
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    myvid.configure({ baseUrl: `http://127.0.0.1:${server.address().port}` });
  });
  after(async () => {
    myvid.clearSession();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
  });

  test('newStream posts title, description and the recording choice with the session token', async () => {
    myvid.clearSession();
    await assert.rejects(live.newStream({ title: 'x' }), { code: 'unauthorized' });
    assert.equal(seen.length, 0, 'nothing sent without a session');
    await myvid.login({ credential: 'caster', password: 'pw' });
    const grant = await myvid.newStream({ title: 'Morning show', description: 'coffee' });
    assert.deepEqual(grant, STREAM);
    const req = seen.at(-1);
    assert.equal(`${req.method} ${req.url}`, 'POST /API/NEWSTREAM/');
    assert.equal(req.auth, 'Bearer sess10n');
    assert.deepEqual(JSON.parse(req.body), { title: 'Morning show', description: 'coffee', record: true }, 'recorded by default');
    await myvid.newStream({ title: 'Off air', record: false });
    assert.deepEqual(JSON.parse(seen.at(-1).body), { title: 'Off air', description: '', record: false });
  });

  test('chatToken posts for the stream with the session token', async () => {
    await myvid.login({ credential: 'caster', password: 'pw' });
    seen = [];
    assert.deepEqual(await live.chatToken('k3J9xQ2mPa0Z'), { token: 'c1.p.m', expires_at: 1, name: 'caster', moderator: true });
    assert.equal(`${seen[0].method} ${seen[0].url}`, 'POST /v1/streams/k3J9xQ2mPa0Z/chat-token');
    assert.equal(seen[0].auth, 'Bearer sess10n');
  });

  test('iceServers reads GET /API/ICE and drops bad entries', async () => {
    assert.deepEqual(await myvid.iceServers(), [{ urls: ['stun:s.example:3478'] }]);
    assert.equal(`${seen[0].method} ${seen[0].url}`, 'GET /API/ICE');
  });

  test('the SDK re-exports the live API', () => {
    assert.equal(myvid.live.publish, live.publish);
    assert.equal(myvid.publishLive, live.publish);
    assert.equal(myvid.watch, live.watch);
    assert.equal(myvid.isLive({ type: 'WebRTC' }), true);
    assert.equal(myvid.isLive({ type: 'HTTP', source: 'MYVID' }), false);
  });
});

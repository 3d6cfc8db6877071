// Unit tests of the resumable uploader (web/js/resumable.js) under Node: which parts it
// sends, retries, speed and time left. The store and the API are fakes here (a fake
// XMLHttpRequest and fetch); tests/resumable.e2e.mjs runs the real thing in Chromium.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import * as myvid from '../web/js/myvid.js';
import { ProgressMeter, describeSpeed, fileIdentity, sendParts } from '../web/js/resumable.js';

describe('progress', () => {
  test('speed is a moving average and time left follows from it', () => {
    let t = 0;
    const meter = new ProgressMeter(100e6, () => t);
    assert.equal(meter.update(0, 0).bytesPerSecond, null, 'no speed before any time passed');
    t = 1000;
    let p = meter.update(10e6, 10e6);
    assert.equal(p.bytesPerSecond, 10e6);
    assert.equal(p.secondsLeft, 9);
    assert.equal(p.fraction, 0.1);
    assert.equal(describeSpeed(p), '10 MB/s · 0:09 left');
    // Old samples leave the window: the speed follows the recent rate.
    for (let s = 2; s <= 8; s += 1) {
      t = s * 1000;
      p = meter.update(10e6 + (s - 1) * 2e6, 10e6 + (s - 1) * 2e6);
    }
    assert.equal(Math.round(p.bytesPerSecond), 2e6);
  });

  test('a file is known by name, size and modification time', () => {
    assert.equal(fileIdentity({ name: 'a.webm', size: 3, lastModified: 7 }), 'a.webm:3:7');
  });
});

describe('sendParts', () => {
  const PART = 10;
  const SIZE = 45; // parts 1–4 of 10 bytes, part 5 of 5
  const file = { size: SIZE, slice: (a, b) => ({ size: Math.min(b, SIZE) - a, from: a }) };
  let puts;
  let failOnce;
  let askedUrls;
  const realFetch = globalThis.fetch;

  class FakeXhr {
    constructor() {
      this.listeners = {};
      this.upload = { addEventListener: () => {} };
    }
    open(method, url) {
      this.url = url;
    }
    addEventListener(name, fn) {
      (this.listeners[name] ||= []).push(fn);
    }
    /** Calls the listeners of `name`, then those of `loadend`, as browsers do. */
    finish(name) {
      for (const fn of this.listeners[name] || []) fn();
      for (const fn of this.listeners.loadend || []) fn();
    }
    abort() {
      this.finish('abort');
    }
    send(blob) {
      const n = Number(/part=(\d+)/.exec(this.url)[1]);
      puts.push({ n, size: blob.size });
      setTimeout(() => {
        if (failOnce.delete(n)) return this.finish('error');
        this.status = 200;
        this.responseText = '';
        this.finish('load');
      }, 1);
    }
  }

  before(() => {
    const storage = { getItem: (k) => (k === 'myvid.token' ? 't' : null), setItem: () => {}, removeItem: () => {} };
    myvid.configure({ baseUrl: 'http://api.test', storage });
    globalThis.XMLHttpRequest = FakeXhr;
    globalThis.fetch = async (url, init) => {
      const body = JSON.parse(init.body);
      askedUrls.push(body.parts);
      const parts = body.parts.map((n) => ({ number: n, url: `http://store.test/x?part=${n}` }));
      return new Response(JSON.stringify({ parts, expires_at: Date.now() / 1000 + 3600 }), { status: 200 });
    };
  });
  after(() => {
    delete globalThis.XMLHttpRequest;
    globalThis.fetch = realFetch;
  });

  test('only parts the store lacks (or holds at the wrong size) are sent, a failed one again', async () => {
    puts = [];
    askedUrls = [];
    failOnce = new Set([4]);
    const upload = { uploadId: 'u1', size: SIZE, partSize: PART, partCount: 5 };
    const held = new Map([[1, 10], [3, 10], [5, 4]]);
    const seen = [];
    await sendParts({ videoId: 'v1', file, upload, held, parallel: 2, retryDelaysMs: [1, 1], onProgress: (p) => seen.push(p.loaded) });
    const sent = puts.map((p) => p.n).sort();
    assert.deepEqual(sent, [2, 4, 4, 5], 'parts 1 and 3 held; 5 held short; 4 failed once');
    assert.deepEqual(puts.find((p) => p.n === 5).size, 5, 'the last part holds the rest');
    assert.equal(askedUrls.length, 1, 'one batch of URLs');
    assert.deepEqual(askedUrls[0].slice().sort(), [2, 4, 5]);
    assert.equal(seen[0], 20, 'progress starts at what the store holds');
    assert.equal(seen.at(-1), SIZE);
  });

  test('a part that keeps failing fails the upload after its tries', async () => {
    puts = [];
    askedUrls = [];
    failOnce = new Set([2]);
    const upload = { uploadId: 'u1', size: SIZE, partSize: PART, partCount: 5 };
    const held = new Map([[1, 10], [3, 10], [4, 10], [5, 5]]);
    await assert.rejects(
      sendParts({ videoId: 'v1', file, upload, held, retryDelaysMs: [], onProgress: () => {} }),
      (err) => err.code === 'network_error',
    );
  });
});

describe('stalled uploads', () => {
  /** Just enough of an XMLHttpRequest for watchStall: progress, loadend and abort. */
  function fakeXhr() {
    const on = { progress: [], loadend: [] };
    return {
      aborted: false,
      upload: { addEventListener: (name, fn) => on[name].push(fn) },
      addEventListener: (name, fn) => on[name]?.push(fn),
      abort() {
        this.aborted = true;
        on.loadend.forEach((fn) => fn());
      },
      progress: () => on.progress.forEach((fn) => fn()),
    };
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  test('a request with no progress for the stall time is aborted and reported as stalled', async () => {
    const xhr = fakeXhr();
    const stalled = myvid.watchStall(xhr, 30);
    await sleep(80);
    assert.equal(xhr.aborted, true);
    assert.equal(stalled(), true);
    const err = myvid.stalledError(30_000);
    assert.equal(err.code, 'upload_stalled');
    assert.equal(err.status, 0, 'a stall is retried like a lost connection');
    assert.match(err.message, /stalled: nothing moved for 30 s/);
  });

  test('progress keeps a slow request alive', async () => {
    const xhr = fakeXhr();
    const stalled = myvid.watchStall(xhr, 60);
    for (let i = 0; i < 6; i += 1) {
      await sleep(20);
      xhr.progress();
    }
    assert.equal(xhr.aborted, false);
    xhr.abort();
    assert.equal(stalled(), false, 'a cancel is not a stall');
  });
});

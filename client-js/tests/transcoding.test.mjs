// Unit tests of web/js/transcoding.js under Node: what the upload page and "Your
// videos" say for each transcode status, and the polling loop on a manual timer.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { describeTranscode, followTranscode, mineBadgeText } from '../web/js/transcoding.js';

const READY = {
  state: 'READY',
  percent: 100,
  renditions: [
    { name: '480p', width: 640, height: 480, bandwidth: 1_200_000 },
    { name: '360p', width: 480, height: 360, bandwidth: 700_000 },
  ],
  error: null,
};

describe('describeTranscode', () => {
  test('transcoding: the whole percentage, for the line and the bar', () => {
    assert.deepEqual(describeTranscode({ state: 'TRANSCODING', percent: 42.7 }), { phase: 'processing', text: 'Processing 42 %', percent: 42, done: false });
    assert.equal(describeTranscode({ state: 'TRANSCODING', percent: null }).text, 'Processing 0 %');
    assert.equal(describeTranscode({ state: 'TRANSCODING', percent: 140 }).percent, 100);
  });

  test('queued, and a retry waiting', () => {
    assert.deepEqual(describeTranscode({ state: 'PENDING_TRANSCODE', percent: null, attempts: 0, max_attempts: 5 }), {
      phase: 'waiting',
      text: 'Waiting to be processed…',
      percent: null,
      done: false,
    });
    assert.equal(describeTranscode({ state: 'PENDING_TRANSCODE', attempts: 1, max_attempts: 5 }).text, 'Waiting to be processed (attempt 2 of 5 soon)…');
  });

  test('ready: the renditions by name', () => {
    assert.deepEqual(describeTranscode(READY), { phase: 'ready', text: 'Ready in 480p, 360p', percent: 100, done: true });
    assert.equal(describeTranscode({ state: 'READY', renditions: [] }).text, 'Ready');
  });

  test('failed: the reason when the owner is given one', () => {
    const failed = describeTranscode({ state: 'FAILED', error: 'the file has no video stream' });
    assert.equal(failed.text, 'It could not be prepared for streaming: the file has no video stream. Viewers get the original file.');
    assert.equal(failed.done, true);
    assert.equal(describeTranscode({ state: 'FAILED', error: null }).text, 'It could not be prepared for streaming. Viewers get the original file.');
  });
});

describe('mineBadgeText', () => {
  test('from the list alone, then with the status', () => {
    assert.equal(mineBadgeText({ transcode: 'processing' }), 'processing');
    assert.equal(mineBadgeText({ transcode: 'failed' }), 'failed');
    assert.equal(mineBadgeText({ transcode: 'ready' }), null);
    assert.equal(mineBadgeText({}), null, 'live streams and imported videos have no transcode');
    assert.equal(mineBadgeText({ transcode: 'processing' }, { state: 'TRANSCODING', percent: 42.2 }), 'processing 42 %');
    assert.equal(mineBadgeText({ transcode: 'processing' }, { state: 'PENDING_TRANSCODE', percent: null }), 'processing');
    assert.equal(mineBadgeText({ transcode: 'processing' }, READY), null);
    assert.equal(mineBadgeText({ transcode: 'processing' }, { state: 'FAILED', error: 'x' }), 'failed');
  });
});

/** A timer the test fires by hand: `due` holds what is waiting, with its delay. */
function manualTimer() {
  const due = [];
  return {
    due,
    setTimer: (fn, ms) => {
      const handle = { fn, ms };
      due.push(handle);
      return handle;
    },
    clearTimer: (handle) => {
      const i = due.indexOf(handle);
      if (i >= 0) due.splice(i, 1);
    },
    async fire() {
      const next = due.shift();
      assert.ok(next, 'a poll is waiting');
      next.fn();
      await settle();
    },
  };
}

/** Lets the loop's awaited fetch resolve. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('followTranscode', () => {
  test('asks at once, then every everyMs until READY', async () => {
    const answers = [{ state: 'PENDING_TRANSCODE' }, { state: 'TRANSCODING', percent: 50 }, READY];
    const asked = [];
    const seen = [];
    const timer = manualTimer();
    followTranscode({
      id: 'v1',
      fetchStatus: async (id) => {
        asked.push(id);
        return answers.shift();
      },
      onStatus: (s) => seen.push(s.state),
      everyMs: 2000,
      ...timer,
    });
    await settle();
    assert.deepEqual(seen, ['PENDING_TRANSCODE']);
    assert.equal(timer.due[0].ms, 2000);
    await timer.fire();
    await timer.fire();
    assert.deepEqual(seen, ['PENDING_TRANSCODE', 'TRANSCODING', 'READY']);
    assert.deepEqual(asked, ['v1', 'v1', 'v1']);
    assert.equal(timer.due.length, 0, 'nothing more is asked once READY');
  });

  test('errors are reported and the asking goes on; a 404 ends it', async () => {
    const timer = manualTimer();
    const errors = [];
    let gone = 0;
    const answers = [Object.assign(new Error('bad gateway'), { status: 502 }), Object.assign(new Error('not found'), { status: 404 })];
    followTranscode({
      id: 'v1',
      fetchStatus: async () => {
        throw answers.shift();
      },
      onStatus: () => assert.fail('no status'),
      onError: (err) => errors.push(err.status),
      onGone: () => (gone += 1),
      ...timer,
    });
    await settle();
    assert.deepEqual(errors, [502]);
    await timer.fire();
    assert.equal(gone, 1);
    assert.equal(timer.due.length, 0);
  });

  test('stop() cancels the waiting poll and drops an answer in flight', async () => {
    const timer = manualTimer();
    const seen = [];
    const loop = followTranscode({ id: 'v1', fetchStatus: async () => ({ state: 'TRANSCODING', percent: 1 }), onStatus: (s) => seen.push(s), ...timer });
    await settle();
    assert.equal(timer.due.length, 1);
    loop.stop();
    assert.equal(timer.due.length, 0);

    let release;
    const late = followTranscode({ id: 'v2', fetchStatus: () => new Promise((r) => (release = r)), onStatus: (s) => seen.push(s), ...timer });
    late.stop();
    release({ state: 'READY' });
    await settle();
    assert.equal(seen.length, 1, 'the answer after stop() is dropped');
    assert.equal(timer.due.length, 0);
  });
});

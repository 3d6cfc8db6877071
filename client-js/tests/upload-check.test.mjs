// Unit tests of web/js/upload-check.js under Node: what the upload page says of the
// server's verdict on an uploaded file, and whether it offers Publish.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CHECKING, describeCheck, describeCheckFailure } from '../web/js/upload-check.js';

describe('describeCheck', () => {
  test('a playable file: its size and length, and Publish', () => {
    const check = { playable: true, reason: null, width: 640, height: 480, duration_seconds: 6.016, has_audio: true };
    assert.deepEqual(describeCheck(check), { state: 'playable', text: '640×480 · 0:06 — ready to publish', publishable: true });
  });

  test('long files get hours; unknown facts are left out', () => {
    assert.equal(describeCheck({ playable: true, width: 1920, height: 1080, duration_seconds: 3725.4 }).text, '1920×1080 · 1:02:05 — ready to publish');
    assert.equal(describeCheck({ playable: true, width: null, height: null, duration_seconds: 59.6 }).text, '1:00 — ready to publish');
    assert.equal(describeCheck({ playable: true, width: 320, height: 240, duration_seconds: null }).text, '320×240 — ready to publish');
    assert.equal(describeCheck({ playable: true }).text, 'ready to publish');
  });

  test('an unplayable file: the reason, and no Publish', () => {
    const check = { playable: false, reason: 'the file is not a video (no container ffprobe knows)', width: null, height: null, duration_seconds: null, has_audio: null };
    assert.deepEqual(describeCheck(check), {
      state: 'unplayable',
      text: "This file isn't a video we can play: the file is not a video (no container ffprobe knows)",
      publishable: false,
    });
    assert.equal(describeCheck({ playable: false, reason: '  ' }).text, "This file isn't a video we can play: no reason given");
    assert.equal(describeCheck(null).publishable, false);
  });
});

test('while checking, and when the check itself fails', () => {
  assert.deepEqual(CHECKING, { state: 'checking', text: 'Checking that the video plays…', publishable: false });
  assert.deepEqual(describeCheckFailure('unavailable: the checker is busy'), {
    state: 'unknown',
    text: 'The file could not be checked (unavailable: the checker is busy); publishing checks it again.',
    publishable: true,
  });
});

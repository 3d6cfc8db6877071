// Unit tests of the page helpers in web/js/ui.js that need no DOM: what an error says
// to a person and the code kept for tests, and how a title is counted.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { MyVidError } from '../web/js/myvid.js';
import { errorText, errorCode, textLength, MAX_TITLE_CHARS } from '../web/js/ui.js';

describe('errorText and errorCode', () => {
  test('an SDK error shows its message only; the code is apart', () => {
    const err = new MyVidError('Wrong username or password.', 'invalid_credentials', 401);
    assert.equal(errorText(err), 'Wrong username or password.');
    assert.equal(errorCode(err), 'invalid_credentials');
  });

  test('a live signalling error (a plain object) has a code too', () => {
    assert.equal(errorCode({ code: 'no_media_server', message: 'no media server is available' }), 'no_media_server');
    assert.equal(errorText({ code: 'no_media_server', message: 'no media server is available' }), 'no media server is available');
  });

  test('other errors: their message, and no code', () => {
    assert.equal(errorText(new TypeError('Failed to fetch')), 'Failed to fetch');
    assert.equal(errorCode(new TypeError('Failed to fetch')), null);
    assert.equal(errorText('plain words'), 'plain words');
    assert.equal(errorCode('plain words'), null);
    assert.equal(errorCode(null), null);
    assert.equal(errorCode({ code: 22, message: 'a DOMException-style number' }), null);
    assert.equal(errorCode({ code: '', message: 'empty' }), null);
  });
});

describe('textLength', () => {
  test('counts code points, as the server counts characters', () => {
    assert.equal(textLength('abc'), 3);
    assert.equal(textLength('😀'.repeat(150)), 150, 'an emoji is one character (two UTF-16 units)');
    assert.equal(textLength('é'), 1);
  });

  test('white space around the text does not count (the server trims first)', () => {
    assert.equal(textLength(`  ${'x'.repeat(MAX_TITLE_CHARS)} \n`), MAX_TITLE_CHARS);
    assert.equal(textLength('   '), 0);
    assert.equal(textLength('a b'), 3);
  });

  test('the limit is the server\'s', () => {
    assert.equal(MAX_TITLE_CHARS, 200);
  });
});

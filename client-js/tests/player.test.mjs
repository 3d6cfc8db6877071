// Unit tests of web/js/player.js's decisions under Node: which engine plays a video
// and what the quality menu offers. Playback itself is tested in Chromium by
// hls-player.e2e.mjs.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { AUTO_LEVEL, autoLabel, chooseEngine, levelLabel, qualityOptions } from '../web/js/player.js';

describe('chooseEngine', () => {
  const hlsUrl = 'https://videos.example/playback/hls/v/1/sig/master.m3u8';

  test('no HLS URL (not transcoded yet, failed, imported): the original', () => {
    for (const hlsJsSupported of [true, false]) {
      assert.equal(chooseEngine({ hlsUrl: undefined, hlsJsSupported, nativeHls: true, managedMediaSource: true }), 'original');
      assert.equal(chooseEngine({ hlsUrl: null, hlsJsSupported, nativeHls: false, managedMediaSource: false }), 'original');
    }
  });

  test('Chromium, which says "maybe" to HLS but has no ManagedMediaSource: hls.js', () => {
    assert.equal(chooseEngine({ hlsUrl, hlsJsSupported: true, nativeHls: true, managedMediaSource: false }), 'hls.js');
    assert.equal(chooseEngine({ hlsUrl, hlsJsSupported: true, nativeHls: false, managedMediaSource: false }), 'hls.js');
  });

  test('Safari with ManagedMediaSource: its own HLS, though hls.js would run', () => {
    assert.equal(chooseEngine({ hlsUrl, hlsJsSupported: true, nativeHls: true, managedMediaSource: true }), 'native');
  });

  test('HLS without MSE (older iPhones): native; neither: the original', () => {
    assert.equal(chooseEngine({ hlsUrl, hlsJsSupported: false, nativeHls: true, managedMediaSource: false }), 'native');
    assert.equal(chooseEngine({ hlsUrl, hlsJsSupported: false, nativeHls: false, managedMediaSource: false }), 'original');
  });
});

describe('quality menu', () => {
  test('one entry per level, highest first, pointing at hls.levels indexes', () => {
    // hls.js orders levels by bitrate, lowest first.
    const levels = [
      { height: 360, bitrate: 565_400 },
      { height: 720, bitrate: 2_800_000 },
      { height: 480, bitrate: 1_060_400 },
    ];
    assert.deepEqual(
      qualityOptions(levels).map((o) => [o.label, o.index]),
      [['720p', 1], ['480p', 2], ['360p', 0]],
    );
  });

  test('levels sharing a height are told apart by bitrate; no height: bitrate only', () => {
    const options = qualityOptions([{ height: 720, bitrate: 1_500_000 }, { height: 720, bitrate: 3_000_000 }, { bitrate: 96_000 }]);
    assert.deepEqual(options.map((o) => o.label), ['720p · 3000 kbps', '720p · 1500 kbps', '96 kbps']);
    assert.equal(levelLabel({ height: 1080, bitrate: 0 }, true), '1080p');
  });

  test('"Auto" names the level only while hls.js chooses', () => {
    assert.equal(AUTO_LEVEL, -1);
    assert.equal(autoLabel('480p', true), 'Auto (480p)');
    assert.equal(autoLabel('480p', false), 'Auto');
    assert.equal(autoLabel(null, true), 'Auto');
  });
});

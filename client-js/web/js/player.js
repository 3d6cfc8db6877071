/**
 * Playback of stored videos: adaptive HLS through hls.js with a quality menu, the
 * browser's own HLS where that is the better choice (Safari), or the original file.
 *
 * {@link playVod} picks one engine (docs/plans/transcoding.md §5):
 *
 *   hls.js     `video.hls_url` and Media Source Extensions, except on a native-HLS
 *              Safari. Quality menu, fatal errors recovered once, then the original.
 *   native     `video.hls_url` and the element plays HLS itself; the browser adapts,
 *              so there is no menu.
 *   original   `video.url`: not transcoded (yet), transcoding failed, or no HLS here.
 *
 * "Native-HLS Safari" means `canPlayType('application/vnd.apple.mpegurl')` *and*
 * `ManagedMediaSource`: Chromium has answered "maybe" to that `canPlayType` since
 * version 147 yet fails some streams natively, so the answer alone would send Chrome
 * the wrong way.
 *
 * hls.js (≈600 KB) is imported only when it is going to be used, from the copy under
 * `web/vendor/hls.js/` (`npm run vendor`). Its transmuxer worker is loaded from that
 * folder too: the pages' CSP (`script-src 'self'`, which `worker-src` falls back to)
 * forbids the `blob:` worker hls.js builds by default.
 *
 * @module player
 */

/** The vendored hls.js, resolved against this module so any page depth works. */
const HLS_MODULE_URL = new URL('../vendor/hls.js/hls.min.mjs', import.meta.url).href;
const HLS_WORKER_URL = new URL('../vendor/hls.js/hls.worker.js', import.meta.url).href;
const HLS_MIME = 'application/vnd.apple.mpegurl';

/** `hls.currentLevel` value that hands the choice back to hls.js's bandwidth estimate. */
export const AUTO_LEVEL = -1;

/** @typedef {'hls.js'|'native'|'original'} Engine */

/**
 * @typedef {object} QualityOption
 * @property {number} index Index into `hls.levels`.
 * @property {number} height Pixel height, 0 when the playlist does not say.
 * @property {number} bitrate Bits per second, 0 when unknown.
 * @property {string} label What the menu shows, e.g. `720p`.
 */

/**
 * @typedef {object} Playback
 * @property {Engine} engine The engine in use (becomes `original` after a fallback).
 * @property {any} hls The hls.js instance while that engine plays, else null.
 * @property {() => void} destroy Stop playing, detach, remove the quality menu.
 */

/**
 * Which engine plays a video. Pure: the caller probes the browser.
 *
 * @param {object} facts
 * @param {string|null|undefined} facts.hlsUrl The video's `hls_url`.
 * @param {boolean} facts.hlsJsSupported `Hls.isSupported()` (MSE with the codecs).
 * @param {boolean} facts.nativeHls The element's `canPlayType` says it plays HLS.
 * @param {boolean} facts.managedMediaSource `ManagedMediaSource` exists (Safari 17+).
 * @returns {Engine}
 */
export function chooseEngine({ hlsUrl, hlsJsSupported, nativeHls, managedMediaSource }) {
  if (!hlsUrl) return 'original';
  const nativeSafari = nativeHls && managedMediaSource;
  if (hlsJsSupported && !nativeSafari) return 'hls.js';
  if (nativeHls) return 'native';
  return 'original';
}

/**
 * The quality menu's entries for hls.js levels, highest first. Heights shared by two
 * levels get the bitrate too, so no two entries read the same.
 *
 * @param {Array<{height?: number, bitrate?: number}>} levels `hls.levels`.
 * @returns {QualityOption[]}
 */
export function qualityOptions(levels) {
  const options = levels.map((level, index) => ({ index, height: level.height || 0, bitrate: level.bitrate || 0 }));
  const perHeight = new Map();
  for (const o of options) perHeight.set(o.height, (perHeight.get(o.height) || 0) + 1);
  return options
    .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate)
    .map((o) => ({ ...o, label: levelLabel(o, perHeight.get(o.height) > 1) }));
}

/**
 * @param {{height: number, bitrate: number}} level
 * @param {boolean} [withBitrate] Add the bitrate (`720p · 2500 kbps`).
 * @returns {string}
 */
export function levelLabel({ height, bitrate }, withBitrate = false) {
  const kbps = `${Math.round(bitrate / 1000)} kbps`;
  if (!height) return kbps;
  return withBitrate && bitrate ? `${height}p · ${kbps}` : `${height}p`;
}

/**
 * The menu's first entry: "Auto", and in automatic mode the level it chose.
 *
 * @param {string|null} playing Label of the level playing, if known.
 * @param {boolean} automatic Whether hls.js chooses the level.
 * @returns {string}
 */
export function autoLabel(playing, automatic) {
  return automatic && playing ? `Auto (${playing})` : 'Auto';
}

/**
 * Play a stored video in `element`, with the best engine the browser has.
 *
 * @param {object} options
 * @param {import('./myvid.js').Video} options.video Uses `hls_url` and `url`.
 * @param {HTMLVideoElement} options.element
 * @param {HTMLElement} [options.menuParent] Where the quality menu goes (default:
 *   right after `element`). Only hls.js with two or more levels gets a menu.
 * @param {number} [options.startAt] Position to start from, in seconds.
 * @param {boolean} [options.autoplay] Start playing at once (e.g. after a switch).
 * @param {(options: QualityOption[]) => void} [options.onLevels] hls.js: the levels, once known.
 * @param {(level: {index: number, height: number, label: string, automatic: boolean}) => void} [options.onLevel]
 *   hls.js: a level switch took effect.
 * @param {(reason: string) => void} [options.onFallback] hls.js gave up; the original plays.
 * @returns {Promise<Playback>}
 */
export async function playVod({ video, element, menuParent, startAt = 0, autoplay = false, onLevels, onLevel, onFallback }) {
  const hlsUrl = video.hls_url || null;
  const nativeHls = Boolean(hlsUrl) && element.canPlayType(HLS_MIME) !== '';
  const managedMediaSource = 'ManagedMediaSource' in globalThis;
  const facts = { hlsUrl, nativeHls, managedMediaSource, hlsJsSupported: false };

  let Hls = null;
  const mayUseHlsJs = hlsUrl && !(nativeHls && managedMediaSource) && ('MediaSource' in globalThis || managedMediaSource);
  if (mayUseHlsJs) {
    try {
      Hls = (await import(HLS_MODULE_URL)).default;
      facts.hlsJsSupported = Hls.isSupported();
    } catch (err) {
      console.warn(`hls.js could not be loaded: ${err && err.message ? err.message : err}`);
    }
  }

  const engine = chooseEngine(facts);
  if (engine === 'hls.js') {
    return playWithHlsJs({ Hls, video, element, menuParent, startAt, autoplay, onLevels, onLevel, onFallback });
  }
  playFile(element, engine === 'native' ? hlsUrl : video.url, { startAt, autoplay });
  return { engine, hls: null, destroy: () => unload(element) };
}

/** Point the element at a URL the browser plays by itself. */
function playFile(element, url, { startAt, autoplay }) {
  if (startAt > 0) {
    element.addEventListener('loadedmetadata', () => (element.currentTime = startAt), { once: true });
  }
  element.src = url;
  if (autoplay) element.play().catch(() => {});
}

/** Detach whatever the element plays (no `error` event: there is no source left). */
function unload(element) {
  element.removeAttribute('src');
  element.load();
}

function playWithHlsJs({ Hls, video, element, menuParent, startAt, autoplay, onLevels, onLevel, onFallback }) {
  const hls = new Hls({
    workerPath: HLS_WORKER_URL,
    // The viewer chooses in the menu; hls.js must not cap the ladder to the element size.
    capLevelToPlayerSize: false,
    startLevel: AUTO_LEVEL,
    startPosition: startAt > 0 ? startAt : -1,
  });
  /** @type {Playback} */
  const playback = { engine: 'hls.js', hls, destroy };
  let menu = null;
  let recovered = false;
  let playingLabel = null;
  // For tests and debugging, like `__myvidWatch` for live streams.
  globalThis.__myvidHls = hls;

  function destroy() {
    hls.destroy();
    if (globalThis.__myvidHls === hls) globalThis.__myvidHls = null;
    if (menu) menu.remove();
    menu = null;
    delete element.dataset.level;
    playback.hls = null;
  }

  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    const options = qualityOptions(hls.levels);
    if (options.length > 1) {
      menu = qualityMenu(hls, options);
      if (menuParent) menuParent.append(menu.root);
      else element.after(menu.root);
    }
    if (onLevels) onLevels(options);
  });

  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    const level = hls.levels[data.level];
    if (!level) return;
    const automatic = hls.autoLevelEnabled;
    const option = qualityOptions(hls.levels).find((o) => o.index === data.level);
    playingLabel = option ? option.label : null;
    element.dataset.level = String(level.height || 0);
    if (menu) menu.showPlaying(playingLabel, automatic);
    if (onLevel) onLevel({ index: data.level, height: level.height || 0, label: playingLabel, automatic });
  });

  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    // A media error (a decoder hiccup, a bad append) often clears after hls.js
    // recreates the source buffers; a second one, or a fatal network error (hls.js has
    // already retried by then), means HLS will not play here: the original will.
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
      recovered = true;
      console.warn(`hls.js media error (${data.details}): recovering`);
      hls.recoverMediaError();
      return;
    }
    const reason = `${data.type}: ${data.details}`;
    console.warn(`hls.js fatal error (${reason}): playing the original file`);
    const at = element.currentTime;
    const wasPlaying = !element.paused;
    destroy();
    playback.engine = 'original';
    playback.destroy = () => unload(element);
    playFile(element, video.url, { startAt: at, autoplay: wasPlaying });
    if (onFallback) onFallback(reason);
  });

  hls.attachMedia(element);
  hls.loadSource(video.hls_url);
  if (autoplay) element.play().catch(() => {});
  return playback;
}

/** The `<select data-testid="quality">` for the levels; Auto first. */
function qualityMenu(hls, options) {
  const select = document.createElement('select');
  select.dataset.testid = 'quality';
  select.className = 'quality-select';
  const auto = new Option('Auto', String(AUTO_LEVEL));
  select.append(auto, ...options.map((o) => new Option(o.label, String(o.index))));
  select.value = String(AUTO_LEVEL);

  const root = document.createElement('label');
  root.className = 'quality-menu';
  const caption = document.createElement('span');
  caption.className = 'quality-caption';
  caption.textContent = 'Quality';
  root.append(caption, select);

  let playing = null;
  const showPlaying = (label, automatic) => {
    playing = label;
    auto.textContent = autoLabel(label, automatic);
  };
  select.addEventListener('change', () => {
    // Setting currentLevel switches at once: hls.js drops the buffer and refetches.
    hls.currentLevel = Number(select.value);
    auto.textContent = autoLabel(playing, Number(select.value) === AUTO_LEVEL);
  });
  return { root, showPlaying, remove: () => root.remove() };
}

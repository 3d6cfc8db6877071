/**
 * What the pages say about making a stored video into adaptive HLS, and the loop that
 * follows it (`GET /v1/videos/{id}/transcode`, {@link import('./myvid.js').transcodeStatus}).
 *
 * The words are pure functions of a status, so they are unit-tested under Node
 * (`tests/transcoding.test.mjs`); {@link followTranscode} takes the fetch and the timer
 * as arguments for the same reason.
 *
 *   PENDING_TRANSCODE ─▶ TRANSCODING (percent) ─▶ READY
 *          ▲                    │
 *          └──── retry ◀────────┴──▶ FAILED (after max_attempts)
 *
 * @module transcoding
 */

/**
 * How often the upload page asks: the owner is watching this one video, and a short
 * clip is done in a few seconds.
 */
export const UPLOAD_POLL_MS = 2000;

/**
 * @typedef {object} TranscodeView
 * @property {'waiting'|'processing'|'ready'|'failed'} phase
 * @property {string} text One line for the owner, e.g. `Processing 42 %`.
 * @property {number|null} percent For a progress bar: 0–100, or null when unknown
 *   (an indeterminate bar).
 * @property {boolean} done READY or FAILED: nothing more will change.
 */

/**
 * A whole percentage from a status, or null when it does not have one.
 *
 * @param {import('./myvid.js').TranscodeStatus} status
 * @returns {number|null}
 */
function wholePercent(status) {
  const p = status.percent;
  return typeof p === 'number' && Number.isFinite(p) ? Math.max(0, Math.min(100, Math.floor(p))) : null;
}

/**
 * What the upload page shows for a status.
 *
 * @param {import('./myvid.js').TranscodeStatus} status
 * @returns {TranscodeView}
 */
export function describeTranscode(status) {
  switch (status.state) {
    case 'TRANSCODING': {
      const percent = wholePercent(status) ?? 0;
      return { phase: 'processing', text: `Processing ${percent} %`, percent, done: false };
    }
    case 'READY': {
      const names = (status.renditions || []).map((r) => r.name).filter(Boolean);
      const text = names.length ? `Ready in ${names.join(', ')}` : 'Ready';
      return { phase: 'ready', text, percent: 100, done: true };
    }
    case 'FAILED': {
      const reason = status.error ? `: ${status.error}` : '';
      return {
        phase: 'failed',
        text: `It could not be prepared for streaming${reason}. Viewers get the original file.`,
        percent: null,
        done: true,
      };
    }
    default: {
      // PENDING_TRANSCODE: queued, or a failed attempt waiting for its retry.
      const retry = status.attempts > 0 && status.max_attempts
        ? ` (attempt ${status.attempts + 1} of ${status.max_attempts} soon)`
        : '';
      return { phase: 'waiting', text: `Waiting to be processed${retry}…`, percent: null, done: false };
    }
  }
}

/**
 * The badge of a video in "Your videos": `processing 42 %`, `processing`, `failed`,
 * or null when there is nothing to say (ready, or not a transcoded video).
 *
 * @param {Pick<import('./myvid.js').Video, 'transcode'>} video
 * @param {import('./myvid.js').TranscodeStatus|null} [status] The detail, once fetched.
 * @returns {string|null}
 */
export function mineBadgeText(video, status = null) {
  const state = status ? status.state : null;
  if (state === 'READY') return null;
  if (state === 'FAILED' || (!status && video.transcode === 'failed')) return 'failed';
  if (video.transcode !== 'processing' && !status) return null;
  const percent = state === 'TRANSCODING' ? wholePercent(status) : null;
  return percent === null ? 'processing' : `processing ${percent} %`;
}

/**
 * Asks for the status now and then every `everyMs` until it is READY or FAILED, the
 * video is gone (404), or `stop()` is called. Other errors (a restart, a lost
 * connection) are passed to `onError` and the asking goes on.
 *
 * @param {object} o
 * @param {string} o.id The video.
 * @param {(id: string) => Promise<import('./myvid.js').TranscodeStatus>} o.fetchStatus
 * @param {(status: import('./myvid.js').TranscodeStatus) => void} o.onStatus
 * @param {(err: any) => void} [o.onError]
 * @param {() => void} [o.onGone] The status answered 404 (unpublished, deleted).
 * @param {number} [o.everyMs]
 * @param {(fn: () => void, ms: number) => any} [o.setTimer] Default `setTimeout`.
 * @param {(handle: any) => void} [o.clearTimer] Default `clearTimeout`.
 * @returns {{stop: () => void}}
 */
export function followTranscode({ id, fetchStatus, onStatus, onError = () => {}, onGone = () => {}, everyMs = UPLOAD_POLL_MS, setTimer = setTimeout, clearTimer = clearTimeout }) {
  let stopped = false;
  let timer = null;
  const ask = async () => {
    timer = null;
    let status;
    try {
      status = await fetchStatus(id);
    } catch (err) {
      if (stopped) return;
      if (err && err.status === 404) {
        stopped = true;
        onGone();
        return;
      }
      onError(err);
      timer = setTimer(ask, everyMs);
      return;
    }
    if (stopped) return;
    onStatus(status);
    if (status.state === 'READY' || status.state === 'FAILED') {
      stopped = true;
      return;
    }
    timer = setTimer(ask, everyMs);
  };
  ask();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
  };
}

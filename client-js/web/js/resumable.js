/**
 * Resumable uploads of large video files, in parts, straight to the object store.
 *
 * ```text
 *  start (or resume: status → parts the store holds)
 *    └▶ part URLs, 100 at a time ─▶ up to 4 parts PUT at once (XHR, progress)
 *         a failed part: retried after 1, 2, 4, 8, 16 s (6 tries), with a fresh URL if refused
 *    └▶ complete ─▶ the staged video file, ready to publish
 *  localStorage["myvid.upload.<name>:<size>:<lastModified>"] = {videoId, uploadId, …}
 *    until complete: picking the same file after a reload resumes the upload.
 * ```
 *
 * Browsers cannot keep a file handle across a reload, so the user chooses the file
 * again; a file is recognised by its name, size and modification time.
 *
 * @module
 */
import { request, errorFromResponse, MyVidError, currentUser, watchStall, stalledError } from './myvid.js';

/** Parts sent at once. */
export const PARALLEL_PARTS = 4;
/** Waits before retrying a failed part: 6 tries in all. */
export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 16000];
/** Most part URLs asked for in one call (the server's limit). */
const URL_BATCH = 100;
/** A part URL is renewed this long before it expires. */
const URL_MARGIN_MS = 60_000;
/** Speed is averaged over this window. */
const SPEED_WINDOW_MS = 5_000;
const PENDING_PREFIX = 'myvid.upload.';

/**
 * @typedef {object} PendingMultipart What is kept in localStorage while a multipart
 *   upload is unfinished.
 * @property {string} videoId
 * @property {string} uploadId
 * @property {number} size
 * @property {string} name
 * @property {number} lastModified
 * @property {number} partSize
 * @property {number} partCount
 * @property {string} [user] Username that started it.
 * @property {string} [title]
 * @property {string} [description]
 * @property {string} [previewUrl] Presigned PUT URL of the preview image.
 * @property {boolean} [previewDone] Whether the preview image was sent.
 * @property {number} savedAt Unix milliseconds.
 */

/**
 * @typedef {object} PartProgress
 * @property {number} loaded Bytes the store holds or is receiving (finished parts plus
 *   parts in flight).
 * @property {number} total The file's size.
 * @property {number} fraction `loaded / total`.
 * @property {number|null} bytesPerSecond Moving average over the last seconds (null
 *   until measurable).
 * @property {number|null} secondsLeft At that speed (null while unknown).
 */

// ---------------------------------------------------------------------------
// Pending uploads in localStorage
// ---------------------------------------------------------------------------

/**
 * The identity of a chosen file (what survives a reload).
 * @param {{name: string, size: number, lastModified: number}} file
 * @returns {string}
 */
export function fileIdentity(file) {
  return `${file.name}:${file.size}:${file.lastModified}`;
}

function storageOf(storage) {
  return storage || globalThis.localStorage;
}

/**
 * The unfinished upload of `file` started by the logged-in user, if any.
 * @param {File|{name: string, size: number, lastModified: number}} file
 * @param {Storage} [storage]
 * @returns {PendingMultipart|null}
 */
export function findPendingUpload(file, storage) {
  const raw = storageOf(storage).getItem(PENDING_PREFIX + fileIdentity(file));
  if (!raw) return null;
  try {
    const record = JSON.parse(raw);
    const user = currentUser();
    if (!record || !record.videoId || !record.uploadId || record.size !== file.size) return null;
    if (record.user && user && record.user !== user.username) return null;
    return record;
  } catch {
    return null;
  }
}

/**
 * Remember (or update) the unfinished upload of `file`.
 * @param {File|{name: string, size: number, lastModified: number}} file
 * @param {PendingMultipart} record
 * @param {Storage} [storage]
 */
export function savePendingUpload(file, record, storage) {
  try {
    storageOf(storage).setItem(PENDING_PREFIX + fileIdentity(file), JSON.stringify({ ...record, savedAt: Date.now() }));
  } catch {
    // Storage full or disabled: the upload still works, it just cannot resume.
  }
}

/**
 * Forget the upload of `file` (finished, or gone from the server).
 * @param {File|{name: string, size: number, lastModified: number}} file
 * @param {Storage} [storage]
 */
export function forgetPendingUpload(file, storage) {
  storageOf(storage).removeItem(PENDING_PREFIX + fileIdentity(file));
}

// ---------------------------------------------------------------------------
// The API calls (docs/API.md, "Resumable uploads in parts")
// ---------------------------------------------------------------------------

const base = (videoId) => `/v1/uploads/${encodeURIComponent(videoId)}/multipart`;

/**
 * Start a multipart upload of a video file of `size` bytes.
 * @param {string} videoId
 * @param {number} size
 * @returns {Promise<{upload_id: string, part_size: number, part_count: number}>}
 */
export function startMultipart(videoId, size) {
  return request('POST', base(videoId), { auth: true, body: { size } });
}

/**
 * Presigned URLs for up to 100 parts.
 * @param {string} videoId
 * @param {string} uploadId
 * @param {number} size
 * @param {number[]} parts
 * @returns {Promise<{parts: {number: number, url: string}[], expires_at: number}>}
 */
export function multipartPartUrls(videoId, uploadId, size, parts) {
  return request('POST', `${base(videoId)}/parts`, { auth: true, body: { upload_id: uploadId, size, parts } });
}

/**
 * The parts the store holds.
 * @param {string} videoId
 * @param {string} uploadId
 * @returns {Promise<{upload_id: string, parts: {number: number, size: number, etag: string}[]}>}
 */
export function multipartStatus(videoId, uploadId) {
  return request('GET', `${base(videoId)}?upload_id=${encodeURIComponent(uploadId)}`, { auth: true });
}

/**
 * Join the parts into the staged video file.
 * @param {string} videoId
 * @param {string} uploadId
 * @param {number} size
 * @returns {Promise<{id: string, size: number}>}
 * @throws {MyVidError} `upload_incomplete` (409) naming missing parts.
 */
export function completeMultipart(videoId, uploadId, size) {
  return request('POST', `${base(videoId)}/complete`, { auth: true, body: { upload_id: uploadId, size } });
}

/**
 * Drop the upload and its parts.
 * @param {string} videoId
 * @param {string} uploadId
 * @returns {Promise<null>}
 */
export function abortMultipart(videoId, uploadId) {
  return request('DELETE', `${base(videoId)}?upload_id=${encodeURIComponent(uploadId)}`, { auth: true });
}

// ---------------------------------------------------------------------------
// Sending parts
// ---------------------------------------------------------------------------

/**
 * PUT one part to its presigned URL.
 * @param {string} url
 * @param {Blob} blob
 * @param {(loaded: number) => void} onProgress Bytes sent so far.
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 * @throws {MyVidError} with the HTTP status (0 when no answer came).
 */
export function putPart(url, blob, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    const stalled = watchStall(xhr);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(errorFromResponse(xhr.status, xhr.responseText, xhr.statusText));
    });
    xhr.addEventListener('error', () => reject(new MyVidError('A part could not be sent: no connection.', 'network_error', 0)));
    xhr.addEventListener('abort', () => reject(stalled() ? stalledError() : new MyVidError('The upload was cancelled.', 'aborted', 0)));
    if (signal) {
      if (signal.aborted) return xhr.abort();
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(blob);
  });
}

/**
 * Whether sending a part again may succeed: no answer, a refused (perhaps expired)
 * URL, or a busy or failing store.
 * @param {MyVidError} err
 */
function retryable(err) {
  if (err.code === 'aborted') return false;
  return err.status === 0 || err.status === 403 || err.status === 408 || err.status === 429 || err.status >= 500;
}

/**
 * Speed as a moving average of the bytes sent over the last few seconds, and the
 * time left at that speed.
 */
export class ProgressMeter {
  /**
   * @param {number} total Bytes to reach.
   * @param {() => number} [now] Milliseconds (tests pass their own clock).
   */
  constructor(total, now = () => performance.now()) {
    this.total = total;
    this.now = now;
    /** @type {{t: number, sent: number}[]} */
    this.samples = [];
  }

  /**
   * @param {number} loaded Bytes held or in flight.
   * @param {number} sent Bytes sent in this session (the speed is measured on these).
   * @returns {PartProgress}
   */
  update(loaded, sent) {
    const t = this.now();
    this.samples.push({ t, sent });
    while (this.samples.length > 2 && t - this.samples[0].t > SPEED_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const elapsed = (t - first.t) / 1000;
    const bytesPerSecond = elapsed >= 0.5 ? Math.max(0, (sent - first.sent) / elapsed) : null;
    const left = Math.max(0, this.total - loaded);
    const secondsLeft = bytesPerSecond ? left / bytesPerSecond : left === 0 ? 0 : null;
    return { loaded, total: this.total, fraction: this.total > 0 ? Math.min(1, loaded / this.total) : 0, bytesPerSecond, secondsLeft };
  }
}

/**
 * Send the parts of `file` the store does not hold yet, `parallel` at a time.
 *
 * @param {object} options
 * @param {string} options.videoId
 * @param {File|Blob} options.file
 * @param {PendingMultipart} options.upload
 * @param {Map<number, number>} options.held Part number → size the store holds.
 * @param {(p: PartProgress) => void} [options.onProgress]
 * @param {number} [options.parallel]
 * @param {AbortSignal} [options.signal]
 * @param {number[]} [options.retryDelaysMs] Waits between tries of a part.
 * @returns {Promise<void>}
 */
export async function sendParts({ videoId, file, upload, held, onProgress, parallel = PARALLEL_PARTS, signal, retryDelaysMs = RETRY_DELAYS_MS }) {
  const { uploadId, size, partSize, partCount } = upload;
  const partBytes = (n) => Math.min(size, n * partSize) - (n - 1) * partSize;
  const queue = [];
  let done = 0;
  for (let n = 1; n <= partCount; n += 1) {
    if (held.get(n) === partBytes(n)) done += partBytes(n);
    else queue.push(n);
  }
  const meter = new ProgressMeter(size);
  const inFlight = new Map();
  let sent = 0;
  const report = () => {
    if (!onProgress) return;
    let flying = 0;
    for (const v of inFlight.values()) flying += v;
    onProgress(meter.update(done + flying, sent + flying));
  };
  report();

  /** @type {Map<number, {url: string, expiresAt: number}>} */
  const urls = new Map();
  let fetching = null;
  const fresh = (n) => {
    const u = urls.get(n);
    return u && u.expiresAt - URL_MARGIN_MS > Date.now() ? u.url : null;
  };
  const urlFor = async (n) => {
    for (;;) {
      const url = fresh(n);
      if (url) return url;
      if (!fetching) {
        const batch = [n, ...queue.filter((m) => m !== n && !fresh(m))].slice(0, URL_BATCH);
        fetching = multipartPartUrls(videoId, uploadId, size, batch)
          .then((answer) => {
            for (const p of answer.parts) urls.set(p.number, { url: p.url, expiresAt: answer.expires_at * 1000 });
          })
          .finally(() => {
            fetching = null;
          });
      }
      await fetching;
    }
  };

  const controller = new AbortController();
  const stop = () => controller.abort();
  if (signal) signal.addEventListener('abort', stop, { once: true });
  let failed = false;

  const sendOne = async (n) => {
    const start = (n - 1) * partSize;
    const blob = file.slice(start, start + partBytes(n));
    for (let attempt = 0; ; attempt += 1) {
      try {
        const url = await urlFor(n);
        await putPart(url, blob, (loaded) => {
          inFlight.set(n, loaded);
          report();
        }, controller.signal);
        inFlight.delete(n);
        done += blob.size;
        sent += blob.size;
        report();
        return;
      } catch (err) {
        inFlight.delete(n);
        report();
        if (err.status === 403) urls.delete(n);
        if (failed || controller.signal.aborted || !retryable(err) || attempt >= retryDelaysMs.length) throw err;
        await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[attempt]));
      }
    }
  };

  const worker = async () => {
    while (queue.length > 0 && !failed) {
      const n = queue.shift();
      await sendOne(n);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, () => worker().catch((err) => {
      failed = true;
      stop();
      throw err;
    })));
  } finally {
    if (signal) signal.removeEventListener('abort', stop);
  }
}

/**
 * Upload `file` as the video file of `videoId` in parts, resuming `pending` when given
 * (sending only the parts the store lacks), then complete it. The upload is kept in
 * localStorage until it completes.
 *
 * @param {object} options
 * @param {string} options.videoId
 * @param {File} options.file
 * @param {PendingMultipart|null} [options.pending] A pending upload of this file to resume.
 * @param {Partial<PendingMultipart>} [options.extra] Kept with the pending upload
 *   (title, description, preview URL) so that a resumed page can use it.
 * @param {(p: PartProgress) => void} [options.onProgress]
 * @param {(fraction: number) => void} [options.onResume] Called once when resuming,
 *   with the share of the file already stored.
 * @param {AbortSignal} [options.signal]
 * @returns {Promise<{id: string, size: number}>}
 * @throws {MyVidError} `upload_not_found` (404) when a pending upload is gone from the
 *   server (it is forgotten: start again), and any error of the calls.
 */
export async function uploadResumable({ videoId, file, pending = null, extra = {}, onProgress, onResume, signal }) {
  let upload = pending;
  const held = new Map();
  if (upload) {
    try {
      const status = await multipartStatus(videoId, upload.uploadId);
      for (const p of status.parts) held.set(p.number, p.size);
    } catch (err) {
      if (err.status === 404) forgetPendingUpload(file);
      throw err;
    }
    if (onResume) {
      let bytes = 0;
      for (const [n, s] of held) if (n >= 1 && n <= upload.partCount) bytes += s;
      onResume(Math.min(1, bytes / file.size));
    }
  } else {
    const grant = await startMultipart(videoId, file.size);
    const user = currentUser();
    upload = {
      ...extra,
      videoId,
      uploadId: grant.upload_id,
      size: file.size,
      name: file.name,
      lastModified: file.lastModified,
      partSize: grant.part_size,
      partCount: grant.part_count,
      user: user ? user.username : undefined,
      savedAt: Date.now(),
    };
    savePendingUpload(file, upload);
  }
  await sendParts({ videoId, file, upload, held, onProgress, signal });
  let done;
  try {
    done = await completeMultipart(videoId, upload.uploadId, file.size);
  } catch (err) {
    if (err.code !== 'upload_incomplete') throw err;
    // A part went missing meanwhile (say, replaced by a stale retry): one more round.
    const status = await multipartStatus(videoId, upload.uploadId);
    const again = new Map(status.parts.map((p) => [p.number, p.size]));
    await sendParts({ videoId, file, upload, held: again, onProgress, signal });
    done = await completeMultipart(videoId, upload.uploadId, file.size);
  }
  forgetPendingUpload(file);
  return done;
}

/**
 * `12.3 MB/s · 1:05 left` (or the parts that are known).
 * @param {PartProgress} p
 * @returns {string}
 */
export function describeSpeed(p) {
  if (p.bytesPerSecond == null) return '';
  const mbps = p.bytesPerSecond / 1e6;
  const speed = `${mbps >= 10 ? mbps.toFixed(0) : mbps.toFixed(1)} MB/s`;
  if (p.secondsLeft == null) return speed;
  const s = Math.ceil(p.secondsLeft);
  const left = s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return `${speed} · ${left} left`;
}

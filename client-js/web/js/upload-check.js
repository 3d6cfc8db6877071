/**
 * What the upload page says of the server's check of an uploaded video file
 * (`POST /v1/uploads/{id}/check`, {@link import('./myvid.js').checkUpload}), before
 * the uploader presses Publish:
 *
 *   upload done ─▶ checking ─▶ playable    "640×480 · 0:06 — ready to publish"
 *                          ├─▶ unplayable  "This file isn't a video we can play: …"  (no Publish)
 *                          └─▶ unknown     the check itself failed: Publish stays offered,
 *                                          since publishing checks the file again
 *
 * Pure functions of a verdict, unit-tested under Node (`tests/upload-check.test.mjs`).
 *
 * @module upload-check
 */

import { formatDuration } from './ui.js';

/**
 * @typedef {object} CheckView
 * @property {'checking'|'playable'|'unplayable'|'unknown'} state
 * @property {string} text One line for the uploader.
 * @property {boolean} publishable Whether Publish is offered.
 */

/** While the server probes and decodes the file. */
export const CHECKING = Object.freeze({ state: 'checking', text: 'Checking that the video plays…', publishable: false });

/**
 * What the page shows for a verdict.
 *
 * @param {import('./myvid.js').UploadCheck} check
 * @returns {CheckView}
 */
export function describeCheck(check) {
  if (!check || !check.playable) {
    const reason = check && typeof check.reason === 'string' && check.reason.trim() ? check.reason.trim() : 'no reason given';
    return { state: 'unplayable', text: `This file isn't a video we can play: ${reason}`, publishable: false };
  }
  const facts = [];
  if (check.width > 0 && check.height > 0) facts.push(`${check.width}×${check.height}`);
  const length = formatDuration(check.duration_seconds);
  if (length) facts.push(length);
  const prefix = facts.length ? `${facts.join(' · ')} — ` : '';
  return { state: 'playable', text: `${prefix}ready to publish`, publishable: true };
}

/**
 * What the page shows when the check could not be made (the checker unavailable, the
 * connection lost): Publish stays offered, and publishing checks the file itself.
 *
 * @param {string} why The error, in words.
 * @returns {CheckView}
 */
export function describeCheckFailure(why) {
  return { state: 'unknown', text: `The file could not be checked (${why}); publishing checks it again.`, publishable: true };
}

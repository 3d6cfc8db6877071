// Seed a running server through its HTTP API, for page tests that need users,
// published uploads, follows and views without clicking through the pages.

import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';

/**
 * One API call as a signed-in user (or anonymously without `token`).
 *
 * @returns {Promise<{status: number, json: any, text: string}>}
 */
export async function call(base, method, p, { token, body } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(new URL(p, base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

/** A fresh username: `prefix` and random letters, at most 20 characters. */
export function freshName(prefix) {
  return (prefix + Array.from(randomBytes(12), (b) => 'abcdefghijklmnopqrstuvwxyz'[b % 26]).join('')).slice(0, 20);
}

/**
 * Sign up `username` (password "correct horse battery").
 *
 * @returns {Promise<{token: string, user: {username: string}}>}
 */
export async function signUpApi(base, username) {
  const r = await call(base, 'POST', '/v1/auth/signup', { body: { username, email: `${username}@example.test`, password: 'correct horse battery' } });
  assert.ok(r.status === 200 || r.status === 201, `sign up ${username}: ${r.text}`);
  return r.json;
}

/**
 * Upload `file` as the user of `token` and publish it: the upload API's three steps
 * (an endpoint, the upload, the PUT of the file) and then publish.
 *
 * @returns {Promise<any>} The published video.
 */
export async function uploadAndPublish(base, token, { title, description = '', file }) {
  const grant = await call(base, 'POST', '/API/NEWUPLOAD/', { token });
  assert.equal(grant.status, 200, grant.text);
  const endpoint = new URL(String(grant.json.endpoint), base).href.replace(/\/+$/, '');
  const created = await call(base, 'POST', `${endpoint}/NEWVIDEOUPLOAD`, {
    token,
    body: { title, description, preview_filename: '', video_filename: 'clip.webm' },
  });
  assert.equal(created.status, 200, created.text);
  const put = await fetch(new URL(created.json.video_upload_url, base), { method: 'PUT', body: await readFile(file) });
  assert.ok(put.ok, `PUT the video: ${put.status} ${await put.text()}`);
  const published = await call(base, 'POST', `/API/PUBLISH/${encodeURIComponent(created.json.id)}`, { token });
  assert.equal(published.status, 200, published.text);
  return published.json;
}

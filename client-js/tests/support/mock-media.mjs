// The mock server's stand-in for an SFU: a headless Chromium page running
// mock-media-relay.js, driven over Playwright bindings. Started on the first
// signalling session that needs it. Test scaffolding only: it re-encodes instead
// of forwarding and does not receive simulcast, so it proves nothing about the SFU.

import path from 'node:path';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * @typedef {object} MediaRelay
 * @property {(sid: string, streamId: string, msg: object) => Promise<void>} fromClient
 * @property {(sid: string, reason: string) => Promise<void>} closeSession
 * @property {() => Promise<void>} stop
 */

/**
 * @param {object} hooks
 * @param {(sid: string, msg: object) => void} hooks.send A server message for a client.
 * @param {(sid: string, reason: string) => void} hooks.close Close a client (after `bye`).
 * @param {(streamId: string, state: 'live'|'ended') => void} hooks.state
 * @returns {Promise<MediaRelay>}
 */
export async function startMediaRelay({ send, close, state }) {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}`);
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('./browser.mjs');
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // Real host candidates (not mDNS names) so that peers can reach the relay.
    args: [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  // A secure-context origin for the page: a tiny local server.
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>mock media relay</title>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`[mock media relay] ${m.text()}`);
  });
  await page.exposeBinding('__relayOut', (_src, sid, msg) => send(sid, msg));
  await page.exposeBinding('__relayClose', (_src, sid, reason) => close(sid, reason));
  await page.exposeBinding('__relayState', (_src, streamId, s) => state(streamId, s));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.addScriptTag({ path: path.join(HERE, 'mock-media-relay.js') });

  return {
    fromClient: (sid, streamId, msg) =>
      page.evaluate(([a, b, c]) => window.relay.fromClient(a, b, c), [sid, streamId, msg]),
    closeSession: (sid, reason) => page.evaluate(([a, b]) => window.relay.closeSession(a, b), [sid, reason]),
    stop: async () => {
      await browser.close().catch(() => {});
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

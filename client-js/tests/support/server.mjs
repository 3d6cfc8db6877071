// Launch the MyVid server binary for end-to-end tests.
//
// Spawns `$MYVID_BIN dev --listen 127.0.0.1:0 --data-dir <fresh temp dir>` (or another
// role, e.g. `endpoint`, on a shared data dir), waits for `listening on
// http://127.0.0.1:PORT` on stdout and returns the URL.

import { spawn } from 'node:child_process';
import { existsSync, statSync, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const KEEP = 64 * 1024;

/**
 * @typedef {object} RunningServer
 * @property {string} url Base URL, e.g. `http://127.0.0.1:43123`.
 * @property {number} pid
 * @property {string} dataDir
 * @property {() => string} stderr Server stderr captured so far (tail).
 * @property {() => Promise<void>} stop SIGTERM, SIGKILL after 5 s, then remove the data dir
 *   (unless it was passed in).
 * @property {() => Promise<void>} kill SIGKILL, as a crash would; resolves once it is gone.
 */

/**
 * @param {object} [options]
 * @param {string} [options.bin] Server binary (default: env `MYVID_BIN`).
 * @param {number} [options.timeoutMs] How long to wait for the listening line.
 * @param {string} [options.logFile] Also write the server's stdout/stderr there.
 * @param {string} [options.command] The subcommand (default `dev`).
 * @param {string} [options.dataDir] A data directory to share (default: a fresh one,
 *   removed on stop).
 * @param {Record<string, string>} [options.env] Extra environment: config overrides such as
 *   `MYVID_LIVE__RELAY` or `MYVID_TURN__ALLOW_PEER_RANGES`.
 * @returns {Promise<RunningServer>}
 */
export async function startServer({ bin = process.env.MYVID_BIN, timeoutMs = 30_000, logFile, command = 'dev', dataDir: sharedDir, env = {} } = {}) {
  if (!bin) {
    throw new Error(
      'MYVID_BIN is not set. Build the server (cargo build -p myvid at the repo root) and run e.g. ' +
        'MYVID_BIN=/path/to/target/debug/myvid npm test',
    );
  }
  if (!existsSync(bin) || !statSync(bin).isFile()) {
    throw new Error(`MYVID_BIN points to "${bin}", which does not exist or is not a file.`);
  }

  const dataDir = sharedDir || (await mkdtemp(path.join(tmpdir(), 'myvid-e2e-data-')));
  const args = [command, '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  let log = null;
  if (logFile) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    log = createWriteStream(logFile);
    const vars = Object.entries(env).map(([k, v]) => `${k}='${v}' `).join('');
    log.write(`$ ${vars}${bin} ${args.join(' ')}\n`);
  }

  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  let exited = null; // {code, signal} once the process is gone
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  const stop = async () => {
    if (exited === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = new Promise((resolve) => setTimeout(resolve, 5_000, 'timeout'));
      if ((await Promise.race([exitPromise, timer])) === 'timeout' && exited === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exitPromise;
      }
    }
    if (log && !log.writableEnded) await new Promise((resolve) => log.end(resolve));
    if (!sharedDir) await rm(dataDir, { recursive: true, force: true });
  };

  const kill = async () => {
    if (exited === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exitPromise;
    }
  };

  const url = await new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn(value);
    };
    const describe = (why) => {
      const hint = LISTENING.test(stderr.replace(ANSI, ''))
        ? '\n(note: the "listening on" line appeared on stderr, but it is expected on stdout)'
        : '';
      return new Error(
        `${why}\ncommand: ${bin} ${args.join(' ')}${hint}\n--- server stdout ---\n${stdout.slice(-KEEP) || '(empty)'}` +
          `\n--- server stderr ---\n${stderr.slice(-KEEP) || '(empty)'}`,
      );
    };
    const timer = setTimeout(
      () => finish(reject, describe(`The server did not print "listening on http://127.0.0.1:PORT" within ${timeoutMs / 1000} s.`)),
      timeoutMs,
    );
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    // Keep draining both pipes for the whole run so the server never blocks on a full pipe.
    child.stdout.on('data', (chunk) => {
      if (log) log.write(chunk);
      stdout = (stdout + chunk).slice(-KEEP);
      const m = LISTENING.exec(stdout.replace(ANSI, ''));
      if (m) finish(resolve, m[1]);
    });
    child.stderr.on('data', (chunk) => {
      if (log) log.write(chunk);
      stderr = (stderr + chunk).slice(-KEEP);
    });
    child.once('error', (err) => finish(reject, describe(`Could not start the server: ${err.message}`)));
    exitPromise.then(({ code, signal }) =>
      finish(reject, describe(`The server exited before it was ready (code ${code}, signal ${signal}).`)),
    );
  }).catch(async (err) => {
    await stop();
    throw err;
  });

  return { url, pid: child.pid, dataDir, stderr: () => stderr, stop, kill };
}

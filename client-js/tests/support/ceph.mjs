// The project's test object store for browser tests: a one-host Ceph cluster (1 monitor,
// 1 manager, 6 bluestore OSDs, S3 data pool erasure coded k=4 m=2, radosgw) started by
// scripts/ceph/up.sh on free loopback ports. Every daemon is stopped by its PID
// (scripts/ceph/down.sh) when `stop` runs; a watchdog stops them too if this process dies.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/ceph');
/** Exit status of up.sh when a port it was given was taken meanwhile. */
const PORT_TAKEN = 75;
/** Ports for the OSDs and the manager (8 per OSD, 2 for the manager, room for restarts). */
const OSD_BLOCK = 100;

/** A free loopback TCP port (bound to port 0, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether every port of `from..from+count-1` is free on 127.0.0.1 right now. */
async function blockFree(from, count) {
  for (let p = from; p < from + count; p += 1) {
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** A block of `count` free ports, away from the ephemeral range the kernel hands out. */
async function freeBlock(count) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const from = 20_000 + Math.floor(Math.random() * 10_000);
    if (await blockFree(from, count)) return [from, from + count - 1];
  }
  throw new Error(`no block of ${count} free ports found`);
}

/**
 * @typedef {object} S3Store
 * @property {string} endpoint `http://127.0.0.1:PORT` of radosgw.
 * @property {string} accessKey
 * @property {string} secretKey
 * @property {string} region
 * @property {string} baseDir
 * @property {(n: number) => Promise<void>} killOsd SIGKILL osd.n; resolves once the monitor marks it down.
 * @property {(n: number) => Promise<void>} restartOsd Starts osd.n again; resolves once it is up.
 * @property {() => Promise<void>} stop Kills every daemon and removes the directory.
 */

/** Parses `export NAME=value` lines of up.sh's env.sh. */
function parseEnv(text) {
  const vars = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** Waits until the monitor reports osd.n `state` (`up` or `down`). */
async function waitOsd(baseDir, n, state, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { stdout } = await run('ceph', ['--conf', path.join(baseDir, 'ceph.conf'), '--connect-timeout', '5', 'osd', 'dump'], { timeout: 10_000 });
      const line = stdout.split('\n').find((l) => l.startsWith(`osd.${n} `));
      if (line && line.split(/\s+/)[1] === state) return;
    } catch {
      // the monitor is busy: ask again
    }
    if (Date.now() > deadline) throw new Error(`osd.${n} not ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** @returns {Promise<S3Store>} */
export async function startS3Store() {
  for (let attempt = 1; ; attempt += 1) {
    const baseDir = await mkdtemp('/tmp/mvs3js-');
    const [lo, hi] = await freeBlock(OSD_BLOCK);
    const env = {
      ...process.env,
      MYVID_S3_MON_PORT: String(await freePort()),
      MYVID_S3_MON_V1_PORT: String(await freePort()),
      MYVID_S3_RGW_PORT: String(await freePort()),
      MYVID_S3_OSD_PORTS: `${lo}-${hi}`,
      MYVID_S3_OWNER_PID: String(process.pid),
    };
    try {
      await run('bash', [path.join(SCRIPTS, 'up.sh'), baseDir], { env, timeout: 240_000 });
    } catch (err) {
      await rm(baseDir, { recursive: true, force: true });
      if (err.code === PORT_TAKEN && attempt === 1) continue;
      throw new Error(`the test S3 store did not start: ${err.stderr || err.message}`);
    }
    const vars = parseEnv(await readFile(path.join(baseDir, 'env.sh'), 'utf8'));
    return {
      endpoint: vars.MYVID_S3_ENDPOINT,
      accessKey: vars.MYVID_S3_ACCESS_KEY,
      secretKey: vars.MYVID_S3_SECRET_KEY,
      region: vars.MYVID_S3_REGION,
      baseDir,
      killOsd: async (n) => {
        await run('bash', [path.join(SCRIPTS, 'down.sh'), baseDir, String(n)], { env: { ...process.env, MYVID_S3_STOP_SIGNAL: 'KILL' }, timeout: 30_000 });
        // its peers report the refused connections: marked down within a second or two
        await waitOsd(baseDir, n, 'down', 30_000);
      },
      restartOsd: async (n) => {
        await run('bash', [path.join(baseDir, `osd${n}`, 'start.sh'), '--wait'], { timeout: 120_000 });
        await waitOsd(baseDir, n, 'up', 60_000);
      },
      stop: async () => {
        await run('bash', [path.join(SCRIPTS, 'down.sh'), baseDir, '--purge'], { env: { ...process.env, MYVID_S3_STOP_SIGNAL: 'KILL' }, timeout: 60_000 }).catch(() => {});
        await rm(baseDir, { recursive: true, force: true });
      },
    };
  }
}

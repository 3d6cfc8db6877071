// Every role its own process, metadata on a real 3-node MariaDB Galera cluster: two
// `myvid api` processes preferring different database nodes, one `myvid endpoint`, one
// `myvid sfu`, all on one data directory (objects stay local until the S3 backend), and
// Debian's Chromium. A broadcaster goes live from the pages of API A; a viewer finds
// the stream and watches it from the pages of API B (its records written on one node,
// read on another), and the broadcaster sees the viewer.
//
// The cluster comes from the project's harness (scripts/galera/up.sh) on free ports
// and is stopped by its PIDs (down.sh) when the test ends, pass or fail.
//
//   MYVID_BIN=/path/to/myvid npm run test:galera

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, livePages, uniqueWord } from '../support/live-pages.mjs';

const run = promisify(execFile);
const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/galera');

/** `count` free loopback TCP ports (bound to port 0, then released). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

describe('roles as processes on a Galera cluster', () => {
  let base;
  let dataDir;
  let clientPorts;
  const roles = [];
  let browser;
  let pagesA;
  let pagesB;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'mvg-'));
    // The database nodes run as an unprivileged user (as root: mysql), which must reach it.
    await chmod(base, 0o755);
    const ports = await freePorts(12);
    clientPorts = ports.slice(0, 3);
    const list = (k) => ports.slice(3 * k, 3 * k + 3).join(' ');
    await run('bash', [path.join(SCRIPTS, 'up.sh'), path.join(base, 'db')], {
      env: {
        ...process.env,
        MYVID_DB_CLIENT_PORTS: list(0),
        MYVID_DB_PEER_PORTS: list(1),
        MYVID_DB_IST_PORTS: list(2),
        MYVID_DB_SST_PORTS: list(3),
        MYVID_DB_OWNER_PID: String(process.pid),
      },
      timeout: 120_000,
    });
    dataDir = path.join(base, 'data');
    const secrets = {
      MYVID_LIVE__SFU_SECRET: randomBytes(24).toString('hex'),
      MYVID_LIVE__STREAM_SECRET: randomBytes(24).toString('hex'),
      MYVID_TURN__SECRET: randomBytes(24).toString('hex'),
    };
    const on = (order) => ({
      ...secrets,
      MYVID_METADATA__BACKEND: 'mariadb',
      MYVID_METADATA__NODES: JSON.stringify(order.map((i) => `127.0.0.1:${clientPorts[i]}`)),
      MYVID_METADATA__USER: 'myvid',
      MYVID_METADATA__PASSWORD: 'myvid',
      MYVID_METADATA__DATABASE: 'myvid',
    });
    const start = async (command, order, name) => {
      const role = await startServer({ command, dataDir, env: on(order), logFile: path.join(ARTIFACTS, `galera-${name}.log`) });
      roles.push(role);
      return role;
    };
    await start('endpoint', [2, 0, 1], 'endpoint');
    await start('sfu', [2, 1, 0], 'sfu');
    const apiA = await start('api', [0, 1, 2], 'api-a');
    const apiB = await start('api', [1, 2, 0], 'api-b');
    browser = await launchBrowser();
    pagesA = livePages({ browser, baseUrl: () => apiA.url, prefix: 'galera-a' });
    pagesB = livePages({ browser, baseUrl: () => apiB.url, prefix: 'galera-b' });
  });

  after(async () => {
    await pagesA?.closeAll();
    await pagesB?.closeAll();
    await browser?.close().catch(() => {});
    for (const role of roles.reverse()) await role.stop();
    if (base) {
      await run('bash', [path.join(SCRIPTS, 'down.sh'), path.join(base, 'db')], {
        env: { ...process.env, MYVID_DB_STOP_SIGNAL: 'KILL' },
      }).catch((e) => console.error(`stopping the cluster: ${e}`));
      await rm(base, { recursive: true, force: true });
    }
  });

  test('a broadcast from API A\'s pages plays on API B\'s pages', { timeout: 180_000 }, async () => {
    const word = uniqueWord('zg');
    const b = await pagesA.openPage('broadcaster');
    const v = await pagesB.openPage('viewer');
    try {
      const id = await pagesA.startBroadcast(b, `Galera ${word}`, 'Metadata on three database nodes.');
      // Listed and searchable through the other API process (another database node).
      await pagesB.waitUntilListed(word, id);
      await v.page.goto(`/watch.html?v=${id}`);
      await pagesB.waitForState(v.page, 'live-status', 'playing');
      const first = (await pagesB.viewerStats(v)).framesDecoded;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.ok((await pagesB.viewerStats(v)).framesDecoded > first, 'the viewer keeps decoding video');
      await pagesA.expectViewerCount(b, 1);
      // The stream's record is in the cluster, on every node.
      for (const port of clientPorts) {
        const { stdout } = await run('mariadb', [
          '-h127.0.0.1', `-P${port}`, '-umyvid', '-pmyvid', 'myvid', '-N', '-B',
          '-e', `SET SESSION wsrep_sync_wait = 1; SELECT live_state FROM videos WHERE id = '${id}'`,
        ]);
        assert.equal(stdout.trim(), 'live', `the stream is live in the database node on port ${port}`);
      }
      await b.shot('galera-live');
    } catch (err) {
      await b.shot('galera-failure').catch(() => {});
      await v.shot('galera-failure').catch(() => {});
      throw err;
    }
  });
});

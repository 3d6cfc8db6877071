// Interoperability of MyVid's WHIP/WHEP with an independent WebRTC stack: aiortc
// (Python, from PyPI) against the real server ($MYVID_BIN) and Debian's Chromium.
//
//   MYVID_BIN=/path/to/myvid npm run test:interop
//
// 1. aiortc publishes a 640×360 test pattern through WHIP (aiortc_whip_publish.py);
//    a Chromium viewer on watch.html (signalling over the WebSocket, through the SFU)
//    must decode frames of that size; the publisher's DELETE ends the broadcast.
// 2. Chromium broadcasts from broadcast.html; aiortc watches through WHEP
//    (aiortc_whep_view.py) and must decode ≥ 30 frames of a size the broadcaster sends.
// 3. aiortc publishes H.264 (only) through WHIP for 14 s; once it stops, the stream's
//    recording is an MP4 video at the stream's id, within 2 s of the broadcast's length,
//    that ffmpeg decodes without a word.
//
// Needs python3 with aiortc (scripts/install-deps.sh test installs it; set PYTHON to
// use another interpreter). Every child process (the server, the Python scripts) is
// stopped by its PID when the tests end, pass or fail. Screenshots, the server log and
// the scripts' output go to test-artifacts/ (interop-*).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { assertDecodesSilently } from '../support/media.mjs';
import { startServer } from '../support/server.mjs';
import { launchBrowser } from '../support/browser.mjs';
import { ARTIFACTS, LIVE_TIMEOUT, livePages, sleep, uniqueWord, waitForRecording } from '../support/live-pages.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.PYTHON || 'python3';

/** What aiortc_whip_publish.py sends. */
const AIORTC_SIZE = { width: 640, height: 360 };

async function api(base, method, p, { body, token } = {}) {
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
  return { status: res.status, json, text, headers: res.headers };
}

/**
 * A running Python script: its stdout JSON lines are collected in `events`; `waitFor`
 * resolves with the first event matching `pred` (rejects if the script exits first or
 * on timeout); `exited` resolves with {code, signal}; `stop()` ends it by PID
 * (SIGTERM — the scripts DELETE their resource then — and SIGKILL after 8 s).
 */
function runPython(name, script, args) {
  const logPath = path.join(ARTIFACTS, `interop-${name}.log`);
  const log = createWriteStream(logPath);
  log.write(`$ ${PYTHON} ${script} ${args.join(' ')}\n`);
  const child = spawn(PYTHON, ['-u', path.join(HERE, script), ...args], {
    cwd: HERE,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
  });
  const events = [];
  const waiters = new Set();
  let stderr = '';
  let exit = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      for (const w of waiters) w.check();
      resolve(exit);
    });
    child.once('error', (err) => {
      exit = { code: null, signal: null, error: err.message };
      for (const w of waiters) w.check();
      resolve(exit);
    });
  });
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    log.write(chunk);
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      try {
        events.push(JSON.parse(line));
      } catch {
        events.push({ event: 'text', text: line });
      }
      for (const w of waiters) w.check();
    }
  });
  child.stderr.on('data', (chunk) => {
    log.write(chunk);
    stderr = (stderr + chunk).slice(-16_000);
  });
  const describeRun = () =>
    `${name} (pid ${child.pid}): exit ${JSON.stringify(exit)}; last events: ` +
    `${events.slice(-5).map((e) => JSON.stringify(e)).join(' ')}; stderr tail: ${stderr.slice(-2000) || '(empty)'}`;
  const waitFor = (what, pred, timeout = LIVE_TIMEOUT) =>
    new Promise((resolve, reject) => {
      const w = {
        check() {
          const found = events.find(pred);
          if (found) finish(resolve, found);
          else if (exit) finish(reject, new Error(`${name} ended before "${what}": ${describeRun()}`));
        },
      };
      const timer = setTimeout(() => finish(reject, new Error(`${name}: no "${what}" within ${timeout / 1000} s: ${describeRun()}`)), timeout);
      function finish(fn, value) {
        clearTimeout(timer);
        waiters.delete(w);
        fn(value);
      }
      waiters.add(w);
      w.check();
    });
  const stop = async () => {
    if (exit === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      if ((await Promise.race([exited, sleep(8_000).then(() => 'timeout')])) === 'timeout' && exit === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    }
    await new Promise((resolve) => log.end(resolve));
  };
  return { name, pid: child.pid, events, exited, waitFor, stop, describe: describeRun, logPath };
}

describe('WHIP/WHEP interop with aiortc', () => {
  let server;
  let browser;
  let pages;
  // Bound once the browser runs (in `before`).
  const openPage = (name) => pages.openPage(name);
  const waitForState = (...a) => pages.waitForState(...a);
  const waitUntilListed = (word, id) => pages.waitUntilListed(word, id, 15_000);
  const viewerStats = (...a) => pages.viewerStats(...a);
  /** Python scripts still to stop in `after`. */
  const scripts = new Set();

  before(async () => {
    try {
      const version = execFileSync(PYTHON, ['-c', 'import aiortc, av; print(aiortc.__version__, av.__version__)'], {
        encoding: 'utf8',
        timeout: 30_000,
      }).trim();
      console.log(`# aiortc ${version.replace(' ', ', PyAV ')} (${PYTHON})`);
    } catch (err) {
      throw new Error(
        `${PYTHON} cannot import aiortc (run scripts/install-deps.sh test, or set PYTHON): ${err.stderr || err.message}`,
      );
    }
    server = await startServer({ logFile: path.join(ARTIFACTS, 'interop-server.log') });
    browser = await launchBrowser();
    pages = livePages({ browser, baseUrl: () => server.url, prefix: 'interop' });
  });

  after(async () => {
    for (const s of scripts) await s.stop().catch(() => {});
    await pages?.closeAll();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  function python(name, script, args) {
    const s = runPython(name, script, args);
    scripts.add(s);
    const stop = s.stop;
    s.stop = async () => {
      await stop();
      scripts.delete(s);
    };
    return s;
  }

  async function signUpApi(prefix) {
    const username = uniqueWord(prefix).slice(0, 14);
    const res = await api(server.url, 'POST', '/v1/auth/signup', {
      body: { username, email: `${username}@example.test`, password: 'correct horse battery' },
    });
    assert.equal(res.status, 201, `sign up: ${res.text}`);
    return res.json.token;
  }

  async function waitUntilUnlisted(word, id, timeout = 15_000) {
    for (const deadline = Date.now() + timeout; Date.now() < deadline; await sleep(500)) {
      const res = await api(server.url, 'POST', '/API/VIDEO/', { body: { search: word } });
      if (!res.json.some((v) => v.id === id)) return;
    }
    throw new Error(`stream ${id} was still listed ${timeout / 1000} s after it ended`);
  }

  test('aiortc publishes through WHIP, a Chromium viewer decodes its frames', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const word = uniqueWord('zw');
    const title = `WHIP interop ${word}`;
    const token = await signUpApi('w_');
    const created = await api(server.url, 'POST', '/API/NEWSTREAM/', {
      token,
      body: { title, description: 'aiortc test pattern through WHIP' },
    });
    assert.ok([200, 201].includes(created.status), `NEWSTREAM: ${created.status} ${created.text}`);
    const { stream_id: id, whip_url: whipUrl, token: publishToken } = created.json;
    assert.ok(id && whipUrl && publishToken, `NEWSTREAM answers stream_id, whip_url, token: ${created.text}`);

    const pub = python('whip-publisher', 'aiortc_whip_publish.py', [whipUrl, publishToken, '--seconds', '120']);
    const v = await openPage('whip-viewer');
    try {
      const answered = await pub.waitFor('answered', (e) => e.event === 'answered');
      assert.ok(answered.server_candidates.length > 0, 'the WHIP answer carries the server candidate');
      await pub.waitFor('connected', (e) => e.event === 'state' && e.state === 'connected');
      const publishing = await pub.waitFor('publishing', (e) => e.event === 'publishing');
      const tConnected = Date.now() - t0;
      console.log(`# aiortc publisher connected after ${tConnected} ms (codec ${publishing.codec})`);

      const item = await waitUntilListed(word, id);
      assert.equal(item.type, 'WebRTC');
      assert.equal(item.title, title);

      await v.page.goto(`/watch.html?v=${encodeURIComponent(id)}`);
      await waitForState(v.page, 'live-status', 'playing');
      const tPlaying = Date.now() - t0;
      const deadline = Date.now() + LIVE_TIMEOUT;
      let first = await viewerStats(v);
      let last = first;
      for (;;) {
        await sleep(700);
        last = await viewerStats(v);
        if (last && first && last.framesDecoded > first.framesDecoded && last.framesDecoded >= 30) break;
        if (!first) first = last;
        if (Date.now() > deadline) {
          throw new Error(`Chromium did not keep decoding aiortc's frames (first ${JSON.stringify(first)}, last ${JSON.stringify(last)}; publisher: ${pub.describe()})`);
        }
      }
      assert.equal(`${last.width}x${last.height}`, `${AIORTC_SIZE.width}x${AIORTC_SIZE.height}`, 'Chromium decodes the size aiortc sends');
      const progress = pub.events.filter((e) => e.event === 'progress').at(-1);
      console.log(
        `# Chromium decodes ${last.width}x${last.height}: ${last.framesDecoded} frames (playing ${tPlaying} ms after start; ` +
          `aiortc's last report: ${progress ? progress.frames_sent : '?'} frames sent)`,
      );
      await v.shot('playing');

      // The publisher's DELETE (on SIGTERM) ends the broadcast for the viewer.
      await pub.stop();
      const deleted = pub.events.find((e) => e.event === 'deleted');
      assert.ok(deleted, `the publisher DELETEd its resource: ${pub.describe()}`);
      assert.ok([200, 204].includes(deleted.status), `DELETE answered ${deleted.status}`);
      await waitForState(v.page, 'live-status', 'ended');
      await waitUntilUnlisted(word, id);
      await v.shot('ended');
      assert.deepEqual(v.pageErrors, [], 'no uncaught errors on the watch page');
    } catch (err) {
      await v.shot('FAILED').catch(() => {});
      if (v.logs.length) console.log(`# viewer console:\n#   ${v.logs.slice(-20).join('\n#   ')}`);
      throw err;
    } finally {
      await pub.stop();
      await v.close().catch(() => {});
    }
  });

  test('Chromium broadcasts, aiortc watches through WHEP', { timeout: 180_000 }, async () => {
    const word = uniqueWord('ze');
    const title = `WHEP interop ${word}`;
    const b = await openPage('whep-broadcaster');
    let viewer = null;
    try {
      await pages.signUp(b.page, uniqueWord('e_').slice(0, 14), 'broadcast.html');
      await b.page.getByTestId('broadcast-form').waitFor();
      await b.page.waitForFunction(() => {
        const el = document.querySelector('[data-testid="camera-preview"]');
        return el && el.videoWidth > 0 && el.currentTime > 0;
      });
      await b.page.getByTestId('live-title').fill(title);
      await b.page.getByTestId('live-description').fill('Chromium fake camera, watched by aiortc');
      await b.page.getByTestId('go-live').click();
      await waitForState(b.page, 'live-status', 'live');
      const id = await b.page.evaluate(() => window.__myvidPublish && window.__myvidPublish.streamId);
      assert.ok(id, 'the publish handle knows its stream id');
      const item = await waitUntilListed(word, id);
      assert.ok(item.whep_url, `the live item has a whep_url: ${JSON.stringify(item)}`);

      const t0 = Date.now();
      viewer = python('whep-viewer', 'aiortc_whep_view.py', [item.whep_url, '--min-frames', '30', '--timeout', '30']);
      const { code } = await viewer.exited;
      const result = viewer.events.find((e) => e.event === 'result');
      assert.ok(result, `the WHEP viewer printed a result: ${viewer.describe()}`);
      assert.equal(code, 0, `the WHEP viewer succeeded: ${viewer.describe()}`);
      assert.ok(result.frames >= 30, `aiortc decoded ${result.frames} frames`);

      // The sizes the broadcaster sends (every simulcast layer, reported and nominal).
      const sent = await b.page.evaluate(async () => {
        const h = window.__myvidPublish;
        const sizes = new Set();
        (await h.pc.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video' && s.frameWidth > 0) sizes.add(`${s.frameWidth}x${s.frameHeight}`);
        });
        const track = h.pc.getSenders().find((s) => s.track && s.track.kind === 'video')?.track;
        const { width, height } = track ? track.getSettings() : {};
        for (const e of h.encodings || [{}]) {
          const scale = e.scaleResolutionDownBy || 1;
          if (width) sizes.add(`${Math.floor(width / scale)}x${Math.floor(height / scale)}`);
        }
        return [...sizes];
      });
      const decoded = Object.keys(result.sizes);
      assert.ok(
        decoded.every((s) => sent.includes(s)),
        `aiortc decoded sizes ${decoded.join(', ')}; the broadcaster sends ${sent.join(', ')}`,
      );
      const deleted = viewer.events.find((e) => e.event === 'deleted');
      assert.ok(deleted && [200, 204].includes(deleted.status), `the viewer DELETEd its resource: ${JSON.stringify(deleted)}`);
      console.log(
        `# aiortc (WHEP) decoded ${result.frames} frames ${decoded.join(', ')}, first after ${result.first_frame_s} s; ` +
          `whole run ${Date.now() - t0} ms; broadcaster sends ${sent.join(', ')}`,
      );

      await b.page.getByTestId('stop-live').click();
      await waitUntilUnlisted(word, id);
      assert.deepEqual(b.pageErrors, [], 'broadcaster: no uncaught errors');
    } catch (err) {
      await b.shot('FAILED').catch(() => {});
      if (b.logs.length) console.log(`# broadcaster console:\n#   ${b.logs.slice(-20).join('\n#   ')}`);
      throw err;
    } finally {
      if (viewer) await viewer.stop();
      await b.close().catch(() => {});
    }
  });

  test('aiortc publishes H.264 through WHIP; its recording is an MP4 that decodes without error', { timeout: 180_000 }, async () => {
    const word = uniqueWord('zh');
    const title = `H.264 recording ${word}`;
    const token = await signUpApi('h_');
    const created = await api(server.url, 'POST', '/API/NEWSTREAM/', { token, body: { title, description: 'aiortc H.264' } });
    assert.ok([200, 201].includes(created.status), `NEWSTREAM: ${created.status} ${created.text}`);
    const { stream_id: id, whip_url: whipUrl, token: publishToken } = created.json;
    const seconds = 14;
    const pub = python('whip-h264', 'aiortc_whip_publish.py', [whipUrl, publishToken, '--codec', 'h264', '--seconds', String(seconds)]);
    try {
      const publishing = await pub.waitFor('publishing', (e) => e.event === 'publishing');
      assert.match(publishing.codec || '', /^H264\//i, `the server took H.264: ${JSON.stringify(publishing)}`);
      const { code } = await pub.exited;
      assert.equal(code, 0, `the publisher ran to its end: ${pub.describe()}`);
      const deleted = pub.events.find((e) => e.event === 'deleted');
      assert.ok(deleted && [200, 204].includes(deleted.status), `the publisher DELETEd its resource: ${JSON.stringify(deleted)}`);

      const video = await waitForRecording(server.url, id);
      assert.equal(video.title, title);
      const url = new URL(video.url);
      assert.match(url.pathname, /\.mp4$/, `an H.264 recording is stored as MP4: ${url.pathname}`);
      const res = await fetch(video.url);
      assert.equal(res.headers.get('content-type'), 'video/mp4');
      const file = path.join(ARTIFACTS, 'interop-recording-h264.mp4');
      writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const probed = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
      const streams = probed.stdout.trim().split('\n');
      console.log(`# H.264 recording: ${video.duration_seconds} s of a ${seconds} s broadcast; streams ${streams.join(' | ')}`);
      assert.ok(streams.includes(`h264,${AIORTC_SIZE.width},${AIORTC_SIZE.height}`), `H.264 at the size sent: ${probed.stdout}`);
      assert.ok(Math.abs(video.duration_seconds - seconds) <= 2, `the recording is ${video.duration_seconds} s of a ${seconds} s broadcast`);
      assertDecodesSilently(file);
    } finally {
      await pub.stop();
    }
  });
});

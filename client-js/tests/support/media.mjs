// Generate small media files for the tests with ffmpeg.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Asserts that ffmpeg decodes `input` (a file or a URL) whole without a word:
 * `ffmpeg -v error -i input -f null -` exits 0 and prints nothing (at most 60 s).
 *
 * @param {string} input
 */
export function assertDecodesSilently(input) {
  const decoded = spawnSync('ffmpeg', ['-v', 'error', '-i', input, '-f', 'null', '-'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(decoded.status, 0, `ffmpeg decodes it${decoded.error ? ` (${decoded.error.message})` : ''}`);
  assert.equal(decoded.stderr, '', 'ffmpeg -v error prints nothing');
}

async function ffmpeg(args, cwd) {
  try {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { cwd });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('ffmpeg is not installed (apt-get install -y --no-install-recommends ffmpeg).');
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

/**
 * Create `clip.webm` (4 s VP8 test pattern), `preview.png` and `fake.webm`
 * (a text file with a video name) in a fresh temp dir.
 *
 * @returns {Promise<{dir: string, clip: string, preview: string, fake: string, cleanup: () => Promise<void>}>}
 */
export async function makeMedia() {
  const dir = await mkdtemp(path.join(tmpdir(), 'myvid-e2e-media-'));
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=duration=4:size=320x240:rate=25', '-c:v', 'libvpx', '-b:v', '400k', '-pix_fmt', 'yuv420p', 'clip.webm'], dir);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', 'preview.png'], dir);
  await writeFile(path.join(dir, 'fake.webm'), 'This is just a text file pretending to be a video.\n'.repeat(64));
  return {
    dir,
    clip: path.join(dir, 'clip.webm'),
    preview: path.join(dir, 'preview.png'),
    fake: path.join(dir, 'fake.webm'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

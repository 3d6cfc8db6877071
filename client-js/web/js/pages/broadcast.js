// Broadcast page: camera preview, title/description, Go live → NEWSTREAM → publish,
// live status and viewer count, Stop.
import { currentUser, newStream, publishLive } from '../myvid.js';
import { attachChat } from '../chat-panel.js';
import { renderHeader, message, errorText, markErrorCode, h, loginHref, watchHref, liveBadge, setBadgeState } from '../ui.js';

renderHeader();

const root = document.getElementById('broadcast-root');

/** Camera request: up to 720p (three simulcast layers), any microphone. */
const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** A readable explanation of a getUserMedia failure. */
function cameraErrorText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera and microphone access was denied. Allow it for this site in your browser settings, then try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera, then try again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another application may be using it.';
    case 'Unsupported':
      return err.message;
    default:
      return `The camera could not be started (${err && err.message ? err.message : err}).`;
  }
}

/**
 * Camera and microphone; without a microphone, camera only.
 *
 * @returns {Promise<{stream: MediaStream, note: string}>}
 */
async function openCamera() {
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== 'function') {
    const err = new Error(
      window.isSecureContext
        ? 'This browser cannot capture the camera.'
        : 'The camera can only be used over a secure (https://) connection.',
    );
    err.name = 'Unsupported';
    throw err;
  }
  try {
    return { stream: await md.getUserMedia({ video: VIDEO_CONSTRAINTS, audio: true }), note: '' };
  } catch (err) {
    if (err && (err.name === 'NotFoundError' || err.name === 'NotReadableError' || err.name === 'OverconstrainedError')) {
      // Maybe only the microphone is missing or busy: try the camera alone.
      const stream = await md.getUserMedia({ video: VIDEO_CONSTRAINTS }).catch(() => null);
      if (stream) return { stream, note: 'No microphone available: broadcasting without sound.' };
    }
    throw err;
  }
}

const STATUS_TEXT = {
  idle: 'Not live',
  starting: 'Creating the stream…',
  connecting: 'Connecting…',
  live: 'You are live',
  reconnecting: 'Connection lost — reconnecting… (you are still on air)',
  failed: 'Could not go live',
  ended: 'Broadcast ended',
};

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

function render() {
  const user = currentUser();
  if (!user) {
    root.replaceChildren(
      message(
        'info',
        h('span', null, 'You need to ', h('a', { href: loginHref('broadcast.html'), testid: 'login-link' }, 'log in'), ' to broadcast live video.'),
        'login-required',
      ),
    );
    return;
  }

  // ---- stage: preview, overlays, status bar ----
  const preview = h('video', { muted: true, autoplay: true, playsinline: true, testid: 'camera-preview', 'aria-label': 'Camera preview' });
  preview.muted = true;
  const stageText = h('p', { class: 'stage-text', testid: 'camera-message' }, 'Starting the camera…');
  const retryCamera = h('button', { type: 'button', class: 'secondary small', testid: 'camera-retry', hidden: true }, 'Start the camera');
  const stageMessage = h('div', { class: 'stage-message', role: 'status' }, stageText, retryCamera);
  const stageBadge = liveBadge('stage-badge');
  stageBadge.hidden = true;
  const elapsed = h('span', { class: 'stage-pill', testid: 'live-elapsed', hidden: true }, '00:00');
  const stage = h('div', { class: 'player-wrap stage', dataset: { state: 'idle' } }, preview, stageMessage, h('div', { class: 'stage-top' }, stageBadge, elapsed));

  const statusText = h('span', { class: 'live-status-text' }, STATUS_TEXT.idle);
  const status = h('span', { class: 'live-status', testid: 'live-status', dataset: { state: 'idle' }, role: 'status', 'aria-live': 'polite' }, h('span', { class: 'status-dot', 'aria-hidden': 'true' }), statusText);
  const viewerCount = h('span', { class: 'viewer-count', testid: 'viewer-count', dataset: { count: '0' } }, plural(0, 'viewer'));
  const stopButton = h('button', { type: 'button', class: 'stop-button', testid: 'stop-live', hidden: true }, 'Stop');
  const bar = h('div', { class: 'live-bar panel' }, status, viewerCount, h('span', { class: 'live-bar-spacer' }), stopButton);

  // ---- form ----
  const title = h('input', { name: 'title', required: true, maxlength: '200', testid: 'live-title', autocomplete: 'off', placeholder: 'What is this stream about?' });
  const description = h('textarea', { name: 'description', rows: '4', maxlength: '5000', testid: 'live-description' });
  const record = h('input', { type: 'checkbox', name: 'record', checked: true, testid: 'live-record' });
  const goLive = h('button', { type: 'submit', testid: 'go-live', disabled: true }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), 'Go live');
  const formError = h('div', { class: 'msg msg-error', role: 'alert', testid: 'live-error', hidden: true });
  const note = h('p', { class: 'muted small', testid: 'camera-note', hidden: true });
  const share = h('div', { class: 'share', testid: 'live-share', hidden: true });
  viewerCount.hidden = true;
  const form = h(
    'form',
    { class: 'panel broadcast-form', testid: 'broadcast-form' },
    h('label', null, 'Title', title),
    h('label', null, 'Description', description),
    h('label', { class: 'check' }, record, 'Record it: the broadcast becomes a video here once it ends'),
    note,
    formError,
    h('div', { class: 'actions' }, goLive),
    share,
  );

  root.replaceChildren(h('div', { class: 'broadcast' }, h('section', { class: 'broadcast-stage', 'aria-label': 'Camera' }, stage, bar), form));

  /** @type {MediaStream|null} */
  let camera = null;
  /** @type {import('../live.js').PublishHandle|null} */
  let session = null;
  let liveSince = 0;
  let tick = null;

  const setStatus = (state, text) => {
    status.dataset.state = state;
    stage.dataset.state = state;
    statusText.textContent = text || STATUS_TEXT[state] || state;
    const isLive = state === 'live';
    const wasReconnecting = status.dataset.previous === 'reconnecting';
    status.dataset.previous = state;
    const active = isLive || state === 'connecting' || state === 'starting' || state === 'reconnecting';
    stageBadge.hidden = !isLive;
    setBadgeState(stageBadge, state);
    elapsed.hidden = !isLive;
    viewerCount.hidden = !isLive;
    stopButton.hidden = !(isLive || state === 'connecting' || state === 'reconnecting');
    stopButton.disabled = false;
    goLive.hidden = active;
    if (state === 'reconnecting') return; // keep the clock: the broadcast goes on
    clearInterval(tick);
    if (isLive) {
      if (!wasReconnecting) liveSince = Date.now();
      elapsed.textContent = clock(Date.now() - liveSince);
      tick = setInterval(() => (elapsed.textContent = clock(Date.now() - liveSince)), 1000);
    }
  };

  const setViewers = (n) => {
    viewerCount.dataset.count = String(n);
    viewerCount.textContent = plural(n, 'viewer');
  };

  /** @param {string} text @param {unknown} [err] Its code goes on the box as `data-code`. */
  const showError = (text, err) => {
    formError.textContent = text;
    markErrorCode(formError, err);
    formError.hidden = !text;
  };

  /** Fields editable unless a broadcast runs; Go live also needs the camera. */
  const formEnabled = (on) => {
    title.disabled = !on;
    description.disabled = !on;
    record.disabled = !on;
    goLive.disabled = !on || !camera;
  };

  const stopCamera = () => {
    if (camera) for (const t of camera.getTracks()) t.stop();
    camera = null;
    preview.srcObject = null;
  };

  /** Show a message over the stage (null: hide it), with a button to (re)start the camera. */
  const stageSay = (text, kind = 'info', buttonLabel = '') => {
    stageMessage.hidden = text === null;
    stageText.textContent = text || '';
    stageMessage.dataset.kind = kind;
    retryCamera.hidden = !buttonLabel;
    retryCamera.textContent = buttonLabel || 'Start the camera';
  };

  async function startCamera() {
    stageSay('Starting the camera…');
    try {
      const { stream, note: text } = await openCamera();
      camera = stream;
      preview.srcObject = stream;
      preview.play().catch(() => {});
      stageSay(null);
      note.textContent = text;
      note.hidden = !text;
      showError('');
      formEnabled(true);
      // The camera can be unplugged or revoked while the page is open.
      const video = stream.getVideoTracks()[0];
      if (video) {
        video.addEventListener('ended', () => {
          if (camera !== stream) return;
          if (session) session.stop('the camera stopped');
          stopCamera();
          stageSay('The camera stopped.', 'error', 'Start the camera');
          formEnabled(true);
        });
      }
    } catch (err) {
      camera = null;
      stageSay(cameraErrorText(err), 'error', 'Try again');
      formEnabled(true);
    }
  }

  retryCamera.addEventListener('click', startCamera);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!camera || session) return;
    showError('');
    share.hidden = true;
    formEnabled(false);
    setViewers(0);
    setStatus('starting');
    let grant;
    try {
      grant = await newStream({ title: title.value.trim(), description: description.value, record: record.checked });
    } catch (err) {
      setStatus('failed');
      showError(`Could not create the stream — ${errorText(err)}`, err);
      formEnabled(true);
      return;
    }
    const handle = publishLive({
      stream: grant,
      mediaStream: camera,
      ...encodingOptions(),
      onViewers: setViewers,
      onError: (err) => console.warn(`live server error: ${err.code}: ${err.message}`),
      onState: (state, detail) => {
        if (session !== handle) return;
        setStatus(state);
        if (state === 'live') {
          const href = watchHref(grant.stream_id);
          const url = new URL(href, location.href).href;
          const copy = h('button', { type: 'button', class: 'secondary small', testid: 'copy-link' }, 'Copy link');
          copy.addEventListener('click', async () => {
            try {
              await navigator.clipboard.writeText(url);
              copy.textContent = 'Copied';
            } catch {
              copy.textContent = 'Copy failed';
            }
            setTimeout(() => (copy.textContent = 'Copy link'), 2000);
          });
          share.replaceChildren(
            h('p', { class: 'share-label' }, 'Viewers can watch at'),
            h('a', { href, target: '_blank', rel: 'noopener', testid: 'watch-link' }, url),
            h('div', { class: 'actions' }, copy),
          );
          share.hidden = false;
        } else if (state === 'failed' || state === 'ended') {
          session = null;
          share.hidden = true;
          if (state === 'failed') showError(detail && detail.error ? detail.error.message : 'The broadcast failed.', detail && detail.error);
          else if (detail && detail.reason) statusText.textContent = `Broadcast ended (${detail.reason})`;
          formEnabled(true);
          if (!camera) stageSay('The camera is off.', 'info', 'Start the camera');
        }
      },
    });
    session = handle;
    window.__myvidPublish = handle;
    attachChat(handle, grant.stream_id, stage, { showCount: false });
  });

  stopButton.addEventListener('click', () => {
    stopButton.disabled = true;
    const handle = session;
    session = null;
    if (handle) handle.stop('the broadcaster stopped');
    stopCamera();
    setStatus('ended');
    share.hidden = true;
    stageSay('The broadcast has ended.', 'info', 'Start the camera');
    formEnabled(true);
  });

  addEventListener('pagehide', () => {
    if (session) session.stop('the broadcaster left the page');
    stopCamera();
  });

  broadcasting = () => session !== null;
  startCamera();
}

/** Whether a broadcast is under way (set by render). */
let broadcasting = () => false;

addEventListener('myvid:auth', () => {
  // Logged out (here or in another tab): show the login prompt, but never cut a
  // running broadcast (its publish token does not depend on the session).
  if (!currentUser() && !broadcasting()) location.reload();
});

render();

/**
 * Advanced options from the page URL: `?codec=video/VP9` (or VP8, H264, AV1) picks the
 * preferred video codec, `?simulcast=0` sends one layer only.
 * @returns {{codec: string, simulcast: boolean}}
 */
function encodingOptions() {
  const params = new URLSearchParams(location.search);
  const allowed = ['video/VP8', 'video/VP9', 'video/H264', 'video/AV1'];
  const codec = allowed.includes(params.get('codec')) ? params.get('codec') : 'video/VP8';
  return { codec, simulcast: params.get('simulcast') !== '0' };
}

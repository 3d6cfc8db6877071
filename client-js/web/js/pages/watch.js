// Watch page: watch.html?v=ID. Stored videos play through player.js (HLS renditions
// once transcoded, the original file until then, with a "Processing 42 %" badge that
// offers the switch when the renditions are ready); live streams (type WebRTC) play
// through live.js with a LIVE badge and a status overlay. Once a recorded stream
// ends, the page waits for its recording (the video at the same id) and offers the
// replay.
// `&relay=1` forces a live stream through TURN (`iceTransportPolicy: 'relay'`), to
// test a TURN deployment.
import { countView, currentUser, deleteVideo, getVideo, isLive, related, transcodeStatus, updateVideo, watch } from '../myvid.js';
import { playVod } from '../player.js';
import { attachChat } from '../chat-panel.js';
import {
  renderHeader,
  message,
  errorText,
  markErrorCode,
  param,
  formatDate,
  formatDuration,
  formatViews,
  channelHref,
  charCounter,
  videoCard,
  h,
  liveBadge,
  setBadgeState,
} from '../ui.js';

renderHeader();

const status = document.getElementById('status');
const article = document.getElementById('watch');
const player = document.getElementById('player');
const playerError = document.getElementById('player-error');

/**
 * @param {string} text
 * @param {unknown} [err] Its code goes on the message as `data-code`.
 */
function fail(text, err) {
  article.hidden = true;
  status.replaceChildren(markErrorCode(message('error', text, 'error'), err));
}

/**
 * No video at this link (none asked for, deleted, or private): a page of its own in
 * the layout, with a way on — a search box and the home page.
 *
 * @param {string} heading
 * @param {string} text
 */
function notFound(heading, text) {
  article.hidden = true;
  document.title = `${heading} – MyVid`;
  const search = h(
    'form',
    { class: 'search-form inline-search', action: '/search.html', method: 'get', role: 'search', testid: 'not-found-search' },
    h('input', { type: 'search', name: 'q', placeholder: 'Search videos', 'aria-label': 'Search videos', maxlength: '200', required: true }),
    h('button', { type: 'submit' }, 'Search'),
  );
  status.replaceChildren(
    h(
      'section',
      { class: 'not-found', testid: 'not-found' },
      h('h1', null, heading),
      h('p', null, text),
      search,
      h('p', null, h('a', { href: '/index.html', testid: 'not-found-home' }, 'Go to the home page')),
    ),
  );
}

async function load() {
  const id = param('v');
  if (!id) {
    notFound('No video chosen', 'This link names no video. Search for one, or pick one on the home page.');
    return;
  }
  status.replaceChildren(message('info', 'Loading video…', 'loading'));
  let video;
  try {
    video = await getVideo(id);
  } catch (err) {
    if (err.status === 404) notFound('Video not found', 'There is no video at this link: it may have been deleted or made private.');
    else fail(`Could not load the video — ${errorText(err)}`, err);
    return;
  }
  status.replaceChildren();
  document.title = `${video.title || 'Untitled'} – MyVid`;

  document.getElementById('title').textContent = video.title || 'Untitled';
  const owner = document.getElementById('owner');
  owner.replaceChildren(
    ...(video.owner
      ? ['by ', h('a', { href: video.owner_url || channelHref(video.owner), testid: 'watch-owner-link' }, video.owner)]
      : ['by an anonymous uploader']),
  );
  owner.dataset.owner = video.owner || '';
  document.getElementById('date').textContent = formatDate(video.published_at ?? video.created_at);
  document.getElementById('duration').textContent = formatDuration(video.duration_seconds);
  const description = document.getElementById('description');
  description.textContent = video.description || '';
  description.hidden = !video.description;

  showUpNext(video);

  if (isLive(video)) {
    player.setAttribute('aria-label', `Live video: ${video.title || 'Untitled'}`);
    playLive(video);
    article.hidden = false;
    return;
  }

  showVisibility(video);
  const views = document.getElementById('views');
  views.textContent = formatViews(video.views);
  views.hidden = !views.textContent;
  if (isOwner(video)) showOwnerPanel(video);
  if (video.preview_url) player.poster = video.preview_url;
  player.setAttribute('aria-label', `Video: ${video.title || 'Untitled'}`);
  // A view counts when the video first plays (never for live streams); the server
  // counts each viewer once an hour, so a reload or a replay adds nothing.
  player.addEventListener('playing', () => countView(video.id).catch(() => {}), { once: true });
  article.hidden = false;
  await playStored(video);
}

/** The badge beside the date of a video that is not public. */
function showVisibility(video) {
  const visibility = document.getElementById('visibility');
  const shown = video.visibility && video.visibility !== 'public';
  visibility.hidden = !shown;
  visibility.dataset.visibility = video.visibility || '';
  if (shown) visibility.textContent = video.published_at ? video.visibility : `${video.visibility} · not published`;
}

// ---------------------------------------------------------------------------
// Up next
// ---------------------------------------------------------------------------

/** How many videos "Up next" shows. */
const UP_NEXT = 8;

/**
 * "Up next": up to {@link UP_NEXT} videos chosen by the server (watched together,
 * similar, popular), each card marked with why. Nothing shows when there are none
 * or the list cannot be had: it is a suggestion, not the page.
 *
 * @param {import('../myvid.js').Video} video
 */
async function showUpNext(video) {
  let items;
  try {
    items = await related(video.id, { limit: UP_NEXT });
  } catch {
    return;
  }
  const cards = items
    .filter((item) => item && item.video && item.video.id !== video.id)
    .slice(0, UP_NEXT)
    .map((item) => {
      const card = videoCard(item.video);
      card.dataset.reason = item.reason;
      return card;
    });
  if (cards.length === 0) return;
  document.getElementById('up-next-grid').replaceChildren(...cards);
  document.getElementById('up-next').hidden = false;
}

// ---------------------------------------------------------------------------
// The owner's panel: edit and delete
// ---------------------------------------------------------------------------

/** The visibilities, each with its one line of explanation. */
const VISIBILITIES = [
  ['public', 'Public', 'Anyone can find it: on the home page, in search and on your channel.'],
  ['unlisted', 'Unlisted', 'Anyone with the link can watch it, but it is listed nowhere.'],
  ['private', 'Private', 'Only you can watch it.'],
];

/**
 * The owner's panel under the description: an Edit form (title with its
 * "{n} / 200" counter, description, visibility) and Delete behind a confirming
 * `<dialog>`, after which the owner lands on their channel.
 *
 * @param {import('../myvid.js').Video} video
 */
function showOwnerPanel(video) {
  const panel = document.getElementById('owner-panel');
  const status = h('div', { 'aria-live': 'polite', testid: 'edit-status' });

  const title = h('input', { id: 'edit-title', name: 'title', type: 'text', required: true, testid: 'edit-title', value: video.title || '' });
  const description = h('textarea', { id: 'edit-description', name: 'description', rows: '4', testid: 'edit-description' });
  description.value = video.description || '';
  const save = h('button', { type: 'submit', testid: 'edit-save' }, 'Save');
  const counter = charCounter(title, { testid: 'edit-title-count', onChange: (over) => (save.disabled = over) });

  // Visibility can only change once the video is published.
  const published = video.published_at != null;
  const radios = VISIBILITIES.map(([value, label, line]) =>
    h(
      'label',
      { class: 'radio-row' },
      h('input', { type: 'radio', name: 'visibility', value, checked: (video.visibility || 'private') === value, testid: `edit-visibility-${value}`, 'aria-describedby': `visibility-${value}-line` }),
      h('span', null, h('strong', null, label), h('small', { id: `visibility-${value}-line`, class: 'muted' }, line)),
    ),
  );
  const visibility = h(
    'fieldset',
    { class: 'visibility-choice', disabled: !published, testid: 'edit-visibility' },
    h('legend', null, 'Visibility'),
    ...radios,
    published ? null : h('p', { class: 'muted small' }, 'Publish the video first (under “Your videos” on the upload page) to choose who sees it.'),
  );

  const form = h(
    'form',
    { class: 'edit-form', testid: 'edit-form', novalidate: true },
    h('label', { for: 'edit-title' }, 'Title', title, counter.element),
    h('label', { for: 'edit-description' }, 'Description', description),
    visibility,
    h('div', { class: 'form-actions' }, save),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (counter.update()) return;
    const changes = {};
    if (title.value.trim() !== (video.title || '')) changes.title = title.value.trim();
    if (description.value !== (video.description || '')) changes.description = description.value;
    const chosen = form.querySelector('input[name="visibility"]:checked');
    if (published && chosen && chosen.value !== video.visibility) changes.visibility = chosen.value;
    if (Object.keys(changes).length === 0) {
      status.replaceChildren(message('info', 'Nothing to save: nothing changed.', 'edit-unchanged'));
      return;
    }
    save.disabled = true;
    status.replaceChildren();
    try {
      const updated = await updateVideo(video.id, changes);
      Object.assign(video, updated);
      document.getElementById('title').textContent = video.title || 'Untitled';
      document.title = `${video.title || 'Untitled'} – MyVid`;
      player.setAttribute('aria-label', `Video: ${video.title || 'Untitled'}`);
      const text = document.getElementById('description');
      text.textContent = video.description || '';
      text.hidden = !video.description;
      showVisibility(video);
      status.replaceChildren(message('success', 'Saved.', 'edit-saved'));
    } catch (err) {
      status.replaceChildren(markErrorCode(message('error', `Could not save — ${errorText(err)}`, 'edit-error'), err));
    } finally {
      save.disabled = counter.update();
    }
  });

  const edit = h('details', { class: 'edit-details', testid: 'edit-details' }, h('summary', { testid: 'edit-open' }, 'Edit'), form);
  const remove = h('button', { type: 'button', class: 'danger', testid: 'delete-open' }, 'Delete');
  remove.addEventListener('click', () => confirmDelete(video));
  panel.replaceChildren(h('h2', { class: 'visually-hidden' }, 'Manage this video'), h('div', { class: 'owner-actions' }, edit, remove));
  panel.hidden = false;
}

/**
 * Ask in a modal `<dialog>` whether to delete `video`; on Delete, delete it and go to
 * the owner's channel. Cancel (or Escape) closes the dialog and changes nothing.
 *
 * @param {import('../myvid.js').Video} video
 */
function confirmDelete(video) {
  const error = h('div', { 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'secondary', testid: 'delete-cancel', autofocus: true }, 'Cancel');
  const confirm = h('button', { type: 'button', class: 'danger', testid: 'delete-confirm' }, 'Delete');
  const dialog = h(
    'dialog',
    { class: 'confirm-dialog', testid: 'delete-dialog', 'aria-labelledby': 'delete-heading', 'aria-describedby': 'delete-text' },
    h('h2', { id: 'delete-heading' }, 'Delete this video?'),
    h('p', { id: 'delete-text' }, `“${video.title || 'Untitled'}” will be gone for good, for everyone, with its views. This cannot be undone.`),
    error,
    h('div', { class: 'form-actions' }, cancel, confirm),
  );
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    cancel.disabled = true;
    try {
      await deleteVideo(video.id);
      const me = currentUser();
      location.assign(me ? channelHref(me.username) : '/index.html');
    } catch (err) {
      error.replaceChildren(markErrorCode(message('error', `Could not delete — ${errorText(err)}`, 'delete-error'), err));
      confirm.disabled = false;
      cancel.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
}

// ---------------------------------------------------------------------------
// Stored videos
// ---------------------------------------------------------------------------

/**
 * How often to ask how transcoding is going. Each poll is one small request per
 * viewer, and a short clip takes about as long to transcode as it lasts.
 */
const TRANSCODE_POLL_MS = 5000;

/** The badge's words while the renditions are being made. */
function processingText(status) {
  const percent = status && status.state === 'TRANSCODING' && typeof status.percent === 'number' ? status.percent : null;
  return percent === null ? 'Processing — playing the original' : `Processing ${Math.floor(percent)} % — playing the original`;
}

/**
 * Play a stored video. While its renditions are being made it plays the original
 * and follows the transcoding; the owner of a video whose transcoding failed is told
 * why and offered a new upload.
 *
 * @param {import('../myvid.js').Video} video
 */
async function playStored(video) {
  const bar = document.getElementById('player-bar');
  /** @type {import('../player.js').Playback|null} */
  let playback = null;
  const start = async (v, options = {}) => {
    playback = await playVod({ video: v, element: player, menuParent: bar, ...options });
    // For tests and debugging, like __myvidWatch for live streams.
    window.__myvidPlayback = playback;
  };

  player.addEventListener('error', () => {
    // hls.js handles (and recovers from) its own media errors.
    if (!playback || playback.engine === 'hls.js') return;
    const host = externalHost(video);
    playerError.replaceChildren(
      message(
        'error',
        host
          ? `This video is hosted on ${host} and could not be loaded from there.`
          : h('span', null, 'This video could not be played in this browser. ', h('a', { href: location.href }, 'Reload the page')),
        'player-error',
      ),
    );
  });

  if (video.transcode === 'processing') {
    // Nothing to adapt yet: the original plays (`hls_url` comes only once ready).
    await start({ ...video, hls_url: undefined });
    followTranscode(video, bar, async () => {
      const fresh = await getVideo(video.id);
      if (!fresh.hls_url) throw new Error('the server has no stream for it yet');
      // Carry on from where the viewer is, playing if it was playing.
      const at = player.currentTime;
      const wasPlaying = !player.paused && !player.ended;
      playback.destroy();
      await start(fresh, { startAt: at, autoplay: wasPlaying });
    });
    return;
  }

  await start(video);
  if (video.transcode === 'failed' && isOwner(video)) {
    let reason = null;
    try {
      reason = (await transcodeStatus(video.id)).error;
    } catch {
      // The note below says so without a reason.
    }
    showTranscodeFailure(video, reason);
  }
}

/**
 * @param {import('../myvid.js').Video} video
 * @returns {string|null} The host an imported (external) video plays from, or null
 *   for a video stored here.
 */
function externalHost(video) {
  if (video.source !== 'HTTP') return null;
  try {
    return new URL(video.url).host || 'another site';
  } catch {
    return 'another site';
  }
}

/** @returns {boolean} Whether the logged-in user owns `video`. */
function isOwner(video) {
  const user = currentUser();
  return Boolean(user && video.owner && user.username === video.owner);
}

/**
 * The badge of a video being transcoded: polls the status, shows the percentage and,
 * once the renditions are ready, a button to switch to them. Never switches by
 * itself: reloading the source in the middle of playback would interrupt the viewer.
 *
 * @param {import('../myvid.js').Video} video
 * @param {HTMLElement} bar Where the badge goes.
 * @param {() => Promise<void>} switchToHls Resolves once the renditions play.
 */
function followTranscode(video, bar, switchToHls) {
  const text = h('span', { class: 'transcode-text' }, processingText(null));
  const badge = h('span', { class: 'badge transcode-badge', testid: 'transcode-badge', role: 'status', 'aria-live': 'polite', dataset: { state: 'processing' } }, text);
  bar.prepend(badge);
  let timer = null;

  const ready = () => {
    badge.dataset.state = 'ready';
    text.textContent = 'Higher quality is ready';
    const button = h('button', { type: 'button', class: 'secondary small', testid: 'transcode-switch' }, 'Switch now');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await switchToHls();
        badge.remove();
      } catch (err) {
        text.textContent = `Higher quality is ready, but switching failed (${errorText(err)})`;
        button.textContent = 'Try again';
        button.disabled = false;
      }
    });
    badge.append(button);
  };

  const poll = async () => {
    let status;
    try {
      status = await transcodeStatus(video.id);
    } catch (err) {
      // Gone or unpublished: nothing more to wait for. Anything else may pass: keep asking.
      if (err.status === 404) {
        badge.remove();
        return;
      }
      timer = setTimeout(poll, TRANSCODE_POLL_MS);
      return;
    }
    if (status.state === 'READY') {
      ready();
    } else if (status.state === 'FAILED') {
      badge.remove();
      if (isOwner(video)) showTranscodeFailure(video, status.error);
    } else {
      badge.dataset.state = 'processing';
      text.textContent = processingText(status);
      timer = setTimeout(poll, TRANSCODE_POLL_MS);
    }
  };
  poll();
  addEventListener('pagehide', () => clearTimeout(timer));
}

/**
 * Tell the owner that the renditions could not be made, why, and that the original
 * still plays. Published media never changes, so the way out is a new upload.
 *
 * @param {import('../myvid.js').Video} video
 * @param {string|null} reason
 */
function showTranscodeFailure(video, reason) {
  const again = h('a', { href: `/upload.html?again=${encodeURIComponent(video.id)}`, testid: 'upload-again' }, 'Upload again');
  document.getElementById('transcode-note').replaceChildren(
    message(
      'error',
      h(
        'span',
        null,
        `This video could not be prepared for streaming${reason ? `: ${reason}` : ''}. `,
        'Viewers get the original file, which may not play everywhere. ',
        again,
      ),
      'transcode-failed',
    ),
  );
}

// ---------------------------------------------------------------------------
// Live streams
// ---------------------------------------------------------------------------

const LIVE_TEXT = {
  waiting: 'The broadcast has not started yet…',
  connecting: 'Connecting to the live stream…',
  playing: '',
  reconnecting: 'Connection lost — reconnecting…',
  ended: 'The broadcast has ended.',
  replayPending: 'The broadcast has ended. Its replay will be here in a moment…',
  replayReady: 'The broadcast has ended. Its replay is ready.',
  notRecorded: 'The broadcast has ended. It was not recorded.',
  failed: 'The live stream could not be played.',
};

/** A small "speaker muted" icon. */
function mutedIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', 'M4 9v6h4l5 4V5L8 9H4zm12.6 3 2.7-2.7-1.1-1.1-2.7 2.7-2.7-2.7-1.1 1.1 2.7 2.7-2.7 2.7 1.1 1.1 2.7-2.7 2.7 2.7 1.1-1.1z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** How often to look again while a stream is pending (owner's view only). */
const PENDING_POLL_MS = 3000;
/** How often, and how long, to look for an ended stream's recording. */
const REPLAY_POLL_MS = 3000;
const REPLAY_WAIT_MS = 5 * 60_000;
/**
 * Failures worth joining again by ourselves (the media path or the live server went
 * away — say, the TURN server of an endpoint that died — or is shutting down), after 1 s, 2 s, 4 s…, at most
 * this many times in a row; then the Retry button.
 */
const AUTO_REJOIN_CODES = new Set(['ice_failed', 'closed_by_server', 'connection_lost', 'media_server_gone', 'no_media_server', 'media_server_timeout', 'draining']);
const MAX_AUTO_REJOINS = 4;

/**
 * Play a live stream: badge, status overlay, unmute button, retry on failure.
 *
 * @param {import('../myvid.js').Video} video
 */
function playLive(video) {
  const wrap = player.parentElement;
  wrap.classList.add('is-live');
  player.controls = true;
  player.muted = true;
  player.autoplay = true;
  player.playsInline = true;
  player.removeAttribute('preload');

  const metaBadge = liveBadge('meta-badge');
  document.querySelector('.watch-meta').prepend(metaBadge);
  const date = document.getElementById('date');
  const startedAt = video.published_at
    ? new Date(video.published_at * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : '';
  if (startedAt) date.textContent = `Live since ${startedAt}`;

  const statusText = h('p', { class: 'live-overlay-text' });
  const spinner = h('span', { class: 'spinner', 'aria-hidden': 'true' });
  const retry = h('button', { type: 'button', class: 'secondary small', testid: 'live-retry', hidden: true }, 'Try again');
  const home = h('a', { href: '/index.html', class: 'overlay-link', hidden: true }, 'Find other videos');
  const replay = h('a', { href: location.href, class: 'replay-link', testid: 'watch-replay', hidden: true }, 'Watch the replay');
  const overlay = h('div', { class: 'live-overlay', testid: 'live-status', dataset: { state: 'connecting' }, role: 'status', 'aria-live': 'polite' }, spinner, statusText, retry, replay, home);
  const unmute = h('button', { type: 'button', class: 'unmute', testid: 'unmute', hidden: true }, mutedIcon(), 'Unmute');
  const badge = liveBadge('stage-badge');
  wrap.append(overlay, h('div', { class: 'stage-top' }, badge), unmute);

  let handle = null;
  let pendingTimer = null;
  let replayTimer = null;
  let rejoins = 0;

  const show = (state, text) => {
    overlay.dataset.state = state;
    wrap.dataset.state = state;
    statusText.textContent = text ?? LIVE_TEXT[state] ?? '';
    spinner.hidden = !(state === 'connecting' || state === 'waiting' || state === 'reconnecting');
    overlay.hidden = state === 'playing';
    retry.hidden = state !== 'failed';
    unmute.hidden = !(state === 'playing' && player.muted);
    setBadgeState(badge, state);
    setBadgeState(metaBadge, state);
    home.hidden = state !== 'ended';
    if (state === 'ended' && startedAt) date.textContent = `Started at ${startedAt}`;
    if (state === 'ended') awaitReplay(text);
  };

  /**
   * Once a recorded stream has ended: look for its recording (the stored video at the
   * same id) every few seconds, and offer it when it is there. `ending` is the text
   * the overlay was given, kept when the stream is not recorded.
   */
  const awaitReplay = (ending) => {
    if (replayTimer !== null) return;
    if (video.record === false) {
      if (ending === undefined) statusText.textContent = LIVE_TEXT.notRecorded;
      return;
    }
    statusText.textContent = LIVE_TEXT.replayPending;
    overlay.dataset.replay = 'pending';
    const giveUpAt = Date.now() + REPLAY_WAIT_MS;
    const look = async () => {
      try {
        const now = await getVideo(video.id);
        if (!isLive(now) && now.url) {
          statusText.textContent = LIVE_TEXT.replayReady;
          overlay.dataset.replay = 'ready';
          replay.hidden = false;
          return;
        }
      } catch {
        // Ended streams are private until their recording is published: keep looking.
      }
      if (Date.now() < giveUpAt) {
        replayTimer = setTimeout(look, REPLAY_POLL_MS);
      } else {
        statusText.textContent = LIVE_TEXT.ended;
        overlay.dataset.replay = 'none';
      }
    };
    replayTimer = setTimeout(look, REPLAY_POLL_MS);
  };

  unmute.addEventListener('click', () => {
    player.muted = false;
    unmute.hidden = true;
  });
  player.addEventListener('volumechange', () => {
    unmute.hidden = !(overlay.dataset.state === 'playing' && player.muted);
  });

  const start = (v) => {
    if (v.live_state === 'ended') {
      show('ended');
      return;
    }
    if (v.live_state === 'pending') {
      // Only the owner sees a pending stream: wait for it to start.
      show('waiting');
      pendingTimer = setTimeout(() => refresh(), PENDING_POLL_MS);
      return;
    }
    show('connecting');
    handle = watch({
      video: v,
      element: player,
      iceTransportPolicy: param('relay') === '1' ? 'relay' : 'all',
      onState: (state, detail) => {
        if (state === 'ended') {
          player.srcObject = null;
          show('ended', detail && detail.reason && !/ended/i.test(detail.reason) ? `The broadcast has ended (${detail.reason}).` : undefined);
        } else if (state === 'failed') {
          const code = detail && detail.error && detail.error.code;
          if (AUTO_REJOIN_CODES.has(code) && rejoins < MAX_AUTO_REJOINS) {
            rejoins += 1;
            show('reconnecting');
            pendingTimer = setTimeout(() => refresh(), 1000 * 2 ** (rejoins - 1));
            return;
          }
          show('failed', `The live stream could not be played: ${detail && detail.error ? detail.error.message : 'unknown error'}`);
        } else {
          if (state === 'playing') rejoins = 0;
          show(state);
        }
      },
      onError: (err) => console.warn(`live server error: ${err.code}: ${err.message}`),
    });
    // For tests and debugging: the peer connection and timings.
    window.__myvidWatch = handle;
    attachChat(handle, v.id, wrap);
  };

  const refresh = async () => {
    clearTimeout(pendingTimer);
    show('connecting');
    try {
      start(await getVideo(video.id));
    } catch (err) {
      if (err.status === 404) show('ended');
      else show('failed', `Could not load the stream — ${errorText(err)}`);
    }
  };

  retry.addEventListener('click', () => {
    if (handle) handle.stop('retrying');
    handle = null;
    rejoins = 0;
    refresh();
  });
  addEventListener('pagehide', () => {
    clearTimeout(pendingTimer);
    clearTimeout(replayTimer);
    if (handle) handle.stop('the viewer left');
  });

  start(video);
}

load().catch((err) => fail(`Could not load the video — ${errorText(err)}`, err));

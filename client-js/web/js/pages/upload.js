// Upload page: create an upload, send the video (and the preview image, if one was
// chosen: otherwise publishing takes a frame) with progress, have the server check the
// video as soon as it is up ("640×480 · 0:06 — ready to publish", or why it cannot be
// played, with no Publish), publish, then follow the making of its HLS renditions
// ("Processing 42 %" → "Ready in 480p, 360p").
// Video files above the server's multipart threshold go up in parts and resume after a
// reload: choosing the same file again picks the upload up where it stopped.
import { currentUser, createUpload, uploadFile, publish, deleteVideo, myVideos, isLive, transcodeStatus, checkUpload } from '../myvid.js';
import { findPendingUpload, savePendingUpload, uploadResumable, describeSpeed } from '../resumable.js';
import { describeTranscode, followTranscode, mineBadgeText } from '../transcoding.js';
import { CHECKING, describeCheck, describeCheckFailure } from '../upload-check.js';
import { renderHeader, message, errorText, markErrorCode, charCounter, h, loginHref, watchHref, formatDate, liveBadge } from '../ui.js';

renderHeader();
addEventListener('myvid:auth', () => render());

const root = document.getElementById('upload-root');

/**
 * Waits for every promise (an upload that fails does not leave the other one running
 * unseen), then throws the first failure, if any.
 * @param {Promise<unknown>[]} promises
 */
async function allDone(promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A labelled progress bar with a percentage. */
function progressRow(label, testid) {
  const bar = h('progress', { max: '100', value: '0', testid, 'aria-label': `${label} upload progress` });
  const text = h('span', { class: 'pct', testid: `${testid}-text` }, '0%');
  const row = h('div', { class: 'progress-row' }, h('span', { class: 'progress-label' }, label), bar, text);
  return {
    row,
    set(fraction) {
      const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
      bar.value = pct;
      text.textContent = `${pct}%`;
    },
    state(s) {
      row.dataset.state = s;
    },
  };
}

/**
 * The published video's processing: a bar and a line ("Processing 42 %", "Ready in
 * 480p, 360p", or why it failed), asked for every 2 s until it is done. The row is a
 * status region kept `aria-busy` while the percentage moves, so a screen reader says
 * how it ended rather than every step.
 */
function transcodeRow() {
  const bar = h('progress', { max: '100', testid: 'transcode-progress', 'aria-label': 'Processing progress' });
  const text = h('span', { class: 'transcode-line', testid: 'transcode-status' });
  const row = h('div', { class: 'transcode-row', testid: 'transcode', role: 'status', 'aria-live': 'polite', hidden: true }, bar, text);

  /** @param {import('../transcoding.js').TranscodeView} view */
  const show = (view) => {
    row.hidden = false;
    row.dataset.phase = view.phase;
    row.setAttribute('aria-busy', String(!view.done));
    if (view.percent === null) bar.removeAttribute('value');
    else bar.value = view.percent;
    bar.hidden = view.phase === 'failed';
    text.textContent = view.text;
  };
  const hide = () => {
    row.hidden = true;
  };
  /** @param {string} id */
  const follow = (id) => {
    show({ phase: 'waiting', text: 'Waiting to be processed…', percent: null, done: false });
    return followTranscode({
      id,
      fetchStatus: transcodeStatus,
      onStatus: (status) => show(describeTranscode(status)),
      // Not a video that gets renditions (or gone): nothing to follow.
      onGone: hide,
      // A restart or a lost connection: the last words stay, the asking goes on.
      onError: (err) => console.warn(`transcode status: ${errorText(err)}`),
    });
  };
  return { row, follow, hide };
}

/**
 * The server's verdict on the uploaded video file, shown before Publish
 * (`data-state`: checking, playable, unplayable, unknown).
 */
function checkRow() {
  const row = h('p', { class: 'check-result', testid: 'check-result', role: 'status', 'aria-live': 'polite', hidden: true });
  /** @param {import('../upload-check.js').CheckView} view */
  const show = (view) => {
    row.hidden = false;
    row.dataset.state = view.state;
    row.textContent = view.text;
    return view;
  };
  return {
    row,
    /**
     * Asks the server about upload `id` and shows the answer.
     * @param {string} id
     * @returns {Promise<import('../upload-check.js').CheckView>}
     */
    async check(id) {
      show(CHECKING);
      try {
        return show(describeCheck(await checkUpload(id)));
      } catch (err) {
        return show(describeCheckFailure(errorText(err)));
      }
    },
    hide() {
      row.hidden = true;
      delete row.dataset.state;
      row.textContent = '';
    },
  };
}

/** Stops the status loops of the page as last drawn (it is drawn again on log in/out). */
let stopLoops = () => {};
addEventListener('pagehide', () => stopLoops());

function render() {
  stopLoops();
  const user = currentUser();
  if (!user) {
    root.replaceChildren(
      message('info', h('span', null, 'You need to ', h('a', { href: loginHref('upload.html'), testid: 'login-link' }, 'log in'), ' to upload videos.'), 'login-required'),
    );
    return;
  }

  // No `maxlength`: it counts UTF-16 units, the server counts characters; the counter
  // below counts as the server does and holds the submit back over the limit.
  const title = h('input', { name: 'title', id: 'upload-title', required: true, testid: 'upload-title', autocomplete: 'off' });
  const description = h('textarea', { name: 'description', rows: '4', maxlength: '5000', testid: 'upload-description' });
  const preview = h('input', { name: 'preview', type: 'file', accept: 'image/*', testid: 'upload-preview' });
  const video = h('input', { name: 'video', type: 'file', accept: 'video/*', required: true, testid: 'upload-video' });
  const submit = h('button', { type: 'submit', testid: 'upload-submit' }, 'Upload');
  const resumeNotice = h('p', { class: 'msg', testid: 'resume-notice', hidden: true });
  const titleCount = charCounter(title, {
    testid: 'upload-title-count',
    onChange: (over) => {
      submit.disabled = over;
    },
  });

  const form = h(
    'form',
    { class: 'panel upload-form', testid: 'upload-form' },
    h('label', null, 'Title', title, titleCount.element),
    h('label', null, 'Description', description),
    h(
      'div',
      { class: 'file-row' },
      h('label', null, 'Video file', video),
      h('label', null, 'Preview image ', h('span', { class: 'muted' }, '(optional: we take a frame of the video)'), preview),
    ),
    resumeNotice,
    h('div', { class: 'actions' }, submit),
  );

  const previewProgress = progressRow('Preview image', 'preview-progress');
  const videoProgress = progressRow('Video', 'video-progress');
  const statusLine = h('p', { class: 'upload-status', testid: 'upload-status', 'aria-live': 'polite' });
  const speedLine = h('p', { class: 'upload-speed muted', testid: 'upload-speed' });
  const errorBox = h('div', { class: 'msg msg-error', role: 'alert', testid: 'upload-error', hidden: true });
  const publishButton = h('button', { type: 'button', testid: 'publish-button', disabled: true }, 'Publish');
  const resetButton = h('button', { type: 'button', class: 'secondary', testid: 'upload-reset', hidden: true }, 'Upload another video');
  const result = h('div', { testid: 'publish-result' });
  const transcode = transcodeRow();
  const verdict = checkRow();
  const progressPanel = h(
    'section',
    { class: 'panel progress-panel', testid: 'upload-progress', hidden: true, 'aria-label': 'Upload progress' },
    videoProgress.row,
    previewProgress.row,
    speedLine,
    statusLine,
    verdict.row,
    errorBox,
    result,
    transcode.row,
    h('div', { class: 'actions' }, publishButton, resetButton),
  );

  const mine = h('section', { class: 'my-videos', testid: 'my-videos' });

  root.replaceChildren(form, progressPanel, mine);

  let pending = null;
  /** The loop following the published video's transcoding, if any. */
  let following = null;
  const stopFollowing = () => {
    if (following) following.stop();
    following = null;
  };

  // A file whose upload a previous visit left unfinished: say so, and fill in its title.
  video.addEventListener('change', () => {
    const file = video.files[0];
    const earlier = file ? findPendingUpload(file) : null;
    resumeNotice.hidden = !earlier;
    submit.textContent = earlier ? 'Resume upload' : 'Upload';
    if (!earlier) return;
    resumeNotice.textContent = `This file was being uploaded${earlier.title ? ` as “${earlier.title}”` : ''}; the upload goes on where it stopped.`;
    if (earlier.title && !title.value) {
      title.value = earlier.title;
      titleCount.update();
    }
    if (earlier.description && !description.value) description.value = earlier.description;
  });

  /** Sends the video in parts (resuming `earlier` if given); the status line tells a resume. */
  const sendInParts = async (videoFile, videoId, earlier, extra) => {
    videoProgress.state('uploading');
    try {
      await uploadResumable({
        videoId,
        file: videoFile,
        pending: earlier,
        extra,
        onResume: (fraction) => {
          const pct = Math.floor(fraction * 100);
          statusLine.textContent = `Resuming: ${pct}% already uploaded`;
          videoProgress.set(fraction);
        },
        onProgress: (p) => {
          videoProgress.set(p.fraction);
          speedLine.textContent = describeSpeed(p);
        },
      });
      videoProgress.set(1);
      videoProgress.state('done');
      speedLine.textContent = '';
    } catch (err) {
      videoProgress.state('failed');
      throw err;
    }
  };

  const showError = (prefix, err) => {
    errorBox.textContent = prefix ? `${prefix} ${errorText(err)}` : errorText(err);
    markErrorCode(errorBox, err);
    errorBox.hidden = false;
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const previewFile = preview.files[0] || null;
    const videoFile = video.files[0];
    if (!videoFile || titleCount.update()) return;

    for (const el of form.elements) el.disabled = true;
    progressPanel.hidden = false;
    errorBox.hidden = true;
    result.replaceChildren();
    publishButton.disabled = true;
    publishButton.hidden = false;
    resetButton.hidden = true;
    previewProgress.set(0);
    previewProgress.row.hidden = !previewFile;
    videoProgress.set(0);
    verdict.hide();
    statusLine.textContent = 'Starting upload…';

    // The check starts as soon as the video file is up, while the preview may still go.
    /** @type {Promise<import('../upload-check.js').CheckView>|null} */
    let checked = null;
    const thenCheck = (id) => () => {
      checked = verdict.check(id);
    };
    try {
      const send = async (url, file, bar) => {
        bar.state('uploading');
        try {
          await uploadFile(url, file, (p) => bar.set(p.fraction));
          bar.set(1);
          bar.state('done');
        } catch (err) {
          bar.state('failed');
          throw err;
        }
      };
      let earlier = findPendingUpload(videoFile);
      if (earlier) {
        pending = { id: earlier.videoId };
        statusLine.textContent = 'Checking what was already uploaded…';
        const previewAgain = async () => {
          if (earlier.previewDone || !earlier.previewUrl || !previewFile) return previewProgress.set(1);
          await send(earlier.previewUrl, previewFile, previewProgress);
          const record = findPendingUpload(videoFile);
          if (record) savePendingUpload(videoFile, { ...record, previewDone: true });
        };
        try {
          await allDone([previewAgain(), sendInParts(videoFile, earlier.videoId, earlier, {}).then(thenCheck(earlier.videoId))]);
        } catch (err) {
          // The upload is gone from the server (finished elsewhere, or abandoned): start afresh.
          if (err.status !== 404) throw err;
          earlier = null;
        }
      }
      if (!earlier) {
        pending = await createUpload({ title: title.value.trim(), description: description.value, previewFile, videoFile });
        statusLine.textContent = 'Uploading…';
        const threshold = pending.multipart_threshold;
        const inParts = typeof threshold === 'number' && videoFile.size > threshold;
        const extra = { title: title.value.trim(), description: description.value, previewUrl: pending.preview_upload_url, previewDone: !previewFile };
        const sendPreview = async () => {
          if (!previewFile) return;
          await send(pending.preview_upload_url, previewFile, previewProgress);
          const record = inParts && findPendingUpload(videoFile);
          if (record) savePendingUpload(videoFile, { ...record, previewDone: true });
          else extra.previewDone = true;
        };
        const sendVideo = inParts
          ? sendInParts(videoFile, pending.id, null, extra)
          : send(pending.video_upload_url, videoFile, videoProgress);
        await allDone([sendPreview(), sendVideo.then(thenCheck(pending.id))]);
      }
      statusLine.textContent = 'Upload complete.';
      const { publishable } = await checked;
      if (publishable) {
        statusLine.textContent = 'Upload complete. Publish it to make it public.';
        publishButton.disabled = false;
        publishButton.focus();
      } else {
        resetButton.hidden = false;
      }
    } catch (err) {
      statusLine.textContent = 'Upload failed.';
      showError('', err);
      resetButton.hidden = false;
      // A verdict on a video whose upload as a whole failed would only confuse.
      if (checked) checked.then(() => verdict.hide());
    }
    refreshMine();
  });

  publishButton.addEventListener('click', async () => {
    if (!pending) return;
    publishButton.disabled = true;
    errorBox.hidden = true;
    statusLine.textContent = 'Publishing…';
    try {
      const published = await publish(pending.id);
      statusLine.textContent = 'Published!';
      result.replaceChildren(
        message(
          'success',
          h('span', null, 'Your video is published: ', h('a', { href: watchHref(published.id || pending.id), testid: 'watch-link' }, `Watch “${published.title || title.value}”`)),
          'publish-success',
        ),
      );
      const id = published.id || pending.id;
      pending = null;
      publishButton.hidden = true;
      stopFollowing();
      following = transcode.follow(id);
    } catch (err) {
      statusLine.textContent = 'Publishing failed.';
      showError('', err);
      // Retrying makes sense only for transient errors.
      publishButton.disabled = err.code === 'not_a_video' || err.status === 404 || err.status === 403;
    }
    resetButton.hidden = false;
    refreshMine();
  });

  resetButton.addEventListener('click', () => {
    pending = null;
    stopFollowing();
    transcode.hide();
    verdict.hide();
    form.reset();
    resumeNotice.hidden = true;
    submit.textContent = 'Upload';
    speedLine.textContent = '';
    for (const el of form.elements) el.disabled = false;
    titleCount.update();
    progressPanel.hidden = true;
    title.focus();
  });

  /** The loops following processing videos in the list (stopped when it is redrawn). */
  let mineFollowers = [];
  stopLoops = () => {
    stopFollowing();
    mineFollowers.forEach((f) => f.stop());
    mineFollowers = [];
  };

  async function refreshMine() {
    try {
      const videos = await myVideos();
      mineFollowers.forEach((f) => f.stop());
      mineFollowers = [];
      if (!root.contains(mine)) return; // drawn again meanwhile
      if (videos.length === 0) {
        mine.replaceChildren();
        return;
      }
      mine.replaceChildren(h('h2', null, 'Your videos'), h('ul', { class: 'mine-list' }, ...videos.map(mineItem)));
    } catch (err) {
      mine.replaceChildren(markErrorCode(message('error', `Could not load your videos — ${errorText(err)}`), err));
    }
  }

  /** What "Your videos" says of a stream that is not live: an ended recorded one is
   * being made into its replay (it then appears as a video of its own). */
  function streamLabel(v, state) {
    if (state !== 'ended') return `live stream · ${state}`;
    return v.record === false ? 'live stream · ended · not recorded' : 'live stream · ended · replay being prepared';
  }

  function mineItem(v) {
    if (isLive(v)) {
      // Live streams are not published like uploads: they are public while live.
      const state = v.live_state || 'live';
      return h(
        'li',
        { testid: 'mine-item', dataset: { videoId: v.id } },
        h('a', { href: watchHref(v.id) }, v.title || 'Untitled'),
        state === 'live' ? liveBadge() : h('span', { class: 'badge', testid: 'mine-stream-state' }, streamLabel(v, state)),
        h('span', { class: 'muted' }, formatDate(v.created_at)),
      );
    }
    // Published once, whatever its visibility now (set on the watch page).
    const isPublished = v.published_at != null || v.visibility === 'public';
    const visibility = v.visibility || 'private';
    const err = h('span', { class: 'inline-error', role: 'alert', testid: 'mine-publish-error' });
    // An upload that never got published (its file did not play, or was never sent)
    // can be deleted from here; published videos are deleted from their watch page.
    const remove = isPublished
      ? null
      : h('button', {
          type: 'button',
          class: 'small danger',
          testid: 'mine-delete',
          onclick: async (e) => {
            const b = e.currentTarget;
            if (!confirm(`Delete “${v.title || 'Untitled'}”? This cannot be undone.`)) return;
            b.disabled = true;
            err.textContent = '';
            delete err.dataset.code;
            try {
              await deleteVideo(v.id);
              refreshMine();
            } catch (ex) {
              err.textContent = errorText(ex);
              markErrorCode(err, ex);
              b.disabled = false;
            }
          },
        }, 'Delete');
    const btn = isPublished
      ? null
      : h('button', {
          type: 'button',
          class: 'small',
          testid: 'mine-publish',
          onclick: async (e) => {
            const b = e.currentTarget;
            b.disabled = true;
            err.textContent = '';
            delete err.dataset.code;
            try {
              await publish(v.id);
              refreshMine();
            } catch (ex) {
              err.textContent = errorText(ex);
              markErrorCode(err, ex);
              b.disabled = false;
            }
          },
        }, 'Publish');
    return h(
      'li',
      { testid: 'mine-item', dataset: { videoId: v.id } },
      h('a', { href: watchHref(v.id) }, v.title || 'Untitled'),
      h(
        'span',
        { class: `badge badge-visibility badge-${visibility}`, testid: 'mine-visibility', dataset: { visibility } },
        isPublished ? visibility : `${visibility} · draft`,
      ),
      transcodeBadge(v),
      h('span', { class: 'muted' }, formatDate(v.created_at)),
      btn,
      remove,
      err,
    );
  }

  /**
   * "processing 42 %" or "failed" for a published video whose renditions are being
   * made or could not be; nothing once they are ready. A processing badge follows
   * the status until it is done.
   */
  function transcodeBadge(v) {
    const text = mineBadgeText(v);
    if (text === null) return null;
    const badge = h('span', { class: 'badge transcode-state', testid: 'mine-transcode', dataset: { state: v.transcode } }, text);
    if (v.transcode === 'processing') {
      mineFollowers.push(
        followTranscode({
          id: v.id,
          fetchStatus: transcodeStatus,
          onStatus: (status) => {
            const now = mineBadgeText(v, status);
            badge.dataset.state = status.state === 'FAILED' ? 'failed' : status.state === 'READY' ? 'ready' : 'processing';
            if (now === null) badge.remove();
            else badge.textContent = now;
          },
          onGone: () => badge.remove(),
        }),
      );
    }
    return badge;
  }

  refreshMine();
}

render();

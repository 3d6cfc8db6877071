// Channel page, served at /c/{username}: the name, the follower count, Follow /
// Unfollow (or "Manage your videos" on one's own channel), the stream it has live
// now, and its public videos, newest first, with "Load more". Every link here is
// root-absolute: the page lives one folder down and the CSP allows no <base>.
import { channel, channelVideos, currentUser, follow, unfollow } from '../myvid.js';
import { renderHeader, videoCard, message, errorText, markErrorCode, h, formatDate, loginHref } from '../ui.js';

renderHeader();

/** Cards per page: four rows of three on a desktop. */
const PAGE_SIZE = 12;

const status = document.getElementById('status');
const root = document.getElementById('channel');
const grid = document.getElementById('grid');
const videosStatus = document.getElementById('videos-status');
const more = document.getElementById('more');

/**
 * The username in the path (`/c/{username}`), or null when there is none.
 *
 * @returns {string|null}
 */
function usernameFromPath() {
  const match = /^\/c\/([^/]+)$/.exec(location.pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** The channel's not-found page, in the layout, with a way on. */
function notFound(name) {
  root.hidden = true;
  document.title = 'Channel not found – MyVid';
  status.replaceChildren(
    h(
      'section',
      { class: 'not-found', testid: 'not-found' },
      h('h1', null, 'Channel not found'),
      h('p', null, name ? `There is no channel called “${name}”.` : 'This link names no channel.', ' Search for videos, or start from the home page.'),
      h(
        'form',
        { class: 'search-form inline-search', action: '/search.html', method: 'get', role: 'search', testid: 'not-found-search' },
        h('input', { type: 'search', name: 'q', placeholder: 'Search videos', 'aria-label': 'Search videos', maxlength: '200', required: true }),
        h('button', { type: 'submit' }, 'Search'),
      ),
      h('p', null, h('a', { href: '/index.html', testid: 'not-found-home' }, 'Go to the home page')),
    ),
  );
}

function followersText(n) {
  return `${Number(n || 0).toLocaleString('en-US')} ${n === 1 ? 'follower' : 'followers'}`;
}

/**
 * The button beside the name: "Manage your videos" on one's own channel, "Log in to
 * follow" when signed out, else Follow / Unfollow (`aria-pressed`).
 *
 * @param {import('../myvid.js').Channel} info
 */
function drawActions(info) {
  const actions = document.getElementById('actions');
  const me = currentUser();
  if (me && me.username === info.username) {
    actions.replaceChildren(h('a', { href: '/upload.html', class: 'button secondary', testid: 'channel-manage' }, 'Manage your videos'));
    return;
  }
  if (!me) {
    actions.replaceChildren(h('a', { href: loginHref(), class: 'button', testid: 'channel-login-to-follow' }, 'Log in to follow'));
    return;
  }
  const error = h('span', { class: 'inline-error', role: 'alert', testid: 'follow-error' });
  let following = Boolean(info.following);
  const button = h('button', { type: 'button', testid: 'follow-button' });
  const show = () => {
    button.textContent = following ? 'Following' : 'Follow';
    button.setAttribute('aria-pressed', String(following));
    button.className = following ? 'secondary' : '';
    button.title = following ? `Stop following ${info.username}` : '';
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.textContent = '';
    delete error.dataset.code;
    try {
      const state = following ? await unfollow(info.username) : await follow(info.username);
      following = Boolean(state.following);
      document.getElementById('followers').textContent = followersText(state.followers);
      show();
    } catch (err) {
      error.textContent = errorText(err);
      markErrorCode(error, err);
    } finally {
      button.disabled = false;
    }
  });
  show();
  actions.replaceChildren(button, error);
}

let cursor = null;
/** The stream shown under "Live now", left out of the grid below it. */
let liveId = null;

/**
 * Load the next page of the channel's videos (the first when `cursor` is null).
 *
 * @param {string} username
 */
async function loadVideos(username) {
  more.disabled = true;
  grid.setAttribute('aria-busy', 'true');
  try {
    const page = await channelVideos(username, { cursor, limit: PAGE_SIZE });
    cursor = page.next_cursor;
    grid.append(...page.items.filter((v) => v.id !== liveId).map((v) => videoCard(v, { showOwner: false })));
    more.hidden = !cursor;
    videosStatus.replaceChildren(grid.childElementCount === 0 ? message('info', 'No videos yet.', 'empty') : '');
  } catch (err) {
    videosStatus.replaceChildren(markErrorCode(message('error', `Could not load the videos — ${errorText(err)}`, 'error'), err));
  } finally {
    grid.removeAttribute('aria-busy');
    more.disabled = false;
  }
}

async function load() {
  const username = usernameFromPath();
  if (!username) {
    notFound(null);
    return;
  }
  status.replaceChildren(message('info', 'Loading the channel…', 'loading'));
  let info;
  try {
    info = await channel(username);
  } catch (err) {
    if (err.status === 404) notFound(username);
    else status.replaceChildren(markErrorCode(message('error', `Could not load the channel — ${errorText(err)}`, 'error'), err));
    return;
  }
  status.replaceChildren();
  document.title = `${info.username} – MyVid`;
  document.getElementById('name').textContent = info.username;
  document.getElementById('avatar').textContent = [...info.username][0].toUpperCase();
  document.getElementById('followers').textContent = followersText(info.followers);
  const since = formatDate(info.created_at);
  document.getElementById('since').textContent = since ? `· joined ${since}` : '';
  drawActions(info);
  if (info.live) {
    liveId = info.live.id;
    document.getElementById('live').hidden = false;
    document.getElementById('live-card').replaceChildren(videoCard(info.live, { showOwner: false }));
  }
  root.hidden = false;
  more.addEventListener('click', () => loadVideos(info.username));
  await loadVideos(info.username);
}

load().catch((err) => status.replaceChildren(markErrorCode(message('error', `Could not load the channel — ${errorText(err)}`, 'error'), err)));

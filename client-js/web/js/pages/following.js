// Following page: following.html, the channels the signed-in user follows, those live
// now first (with a LIVE badge and a link to the stream), then the rest.
import { following, isLoggedIn } from '../myvid.js';
import { renderHeader, h, message, errorText, markErrorCode, liveBadge, channelHref, loginHref, formatDate } from '../ui.js';

renderHeader();

const status = document.getElementById('status');
const list = document.getElementById('channels');
const more = document.getElementById('more');
let cursor = null;

/**
 * @param {import('../myvid.js').FollowedChannel} item
 * @returns {HTMLElement}
 */
function row(item) {
  const name = item.channel.username;
  const channel = h('a', { class: 'following-name', href: item.channel.url || channelHref(name), testid: 'following-channel' }, name);
  const detail = item.live
    ? [
        liveBadge('following-badge'),
        h('a', { href: `/watch.html?v=${encodeURIComponent(item.live.id)}`, testid: 'following-watch' }, item.live.title),
      ]
    : [h('span', { class: 'muted' }, `Following since ${formatDate(item.followed_at)}`)];
  return h(
    'li',
    { class: `following-item${item.live ? ' is-live' : ''}`, testid: 'following-item', dataset: { live: String(Boolean(item.live)) } },
    channel,
    ...detail,
  );
}

async function loadPage() {
  more.disabled = true;
  list.setAttribute('aria-busy', 'true');
  if (!cursor) status.replaceChildren(message('info', 'Loading…', 'loading'));
  try {
    const page = await following({ cursor });
    const first = !cursor;
    // The server lists live channels first on every page; keep them first overall.
    for (const item of page.items) {
      const el = row(item);
      const firstIdle = item.live ? list.querySelector('[data-live="false"]') : null;
      if (firstIdle) list.insertBefore(el, firstIdle);
      else list.append(el);
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (first && page.items.length === 0) {
      status.replaceChildren(
        message('info', ['You follow no channels yet. Open a channel and press Follow.'], 'following-empty'),
      );
    } else {
      status.replaceChildren();
    }
  } catch (err) {
    status.replaceChildren(markErrorCode(message('error', `Could not load — ${errorText(err)}`, 'error'), err));
  } finally {
    list.removeAttribute('aria-busy');
    more.disabled = false;
  }
}

if (isLoggedIn()) {
  more.addEventListener('click', loadPage);
  loadPage();
} else {
  status.replaceChildren(
    message('info', [h('a', { href: loginHref('following.html'), testid: 'following-login' }, 'Sign in'), ' to see the channels you follow.'], 'signed-out'),
  );
}

// Home page: tabs Live now / Latest / Popular (`?tab=live|latest|popular`), each a
// grid of public videos from `GET /v1/videos?sort=` with "Load more". Without a
// `?tab=`, it opens on Live now when something is live, else on Latest.
import { listVideos } from '../myvid.js';
import { renderHeader, videoCard, message, errorText, markErrorCode, h, param } from '../ui.js';

renderHeader();

/** Cards per page: four rows of three on a desktop. */
const PAGE_SIZE = 12;
const TABS = ['live', 'latest', 'popular'];
const EMPTY = {
  live: 'Nobody is live right now.',
  latest: 'No videos yet.',
  popular: 'No videos yet.',
};

const tabs = /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll('[role="tab"]')]);
const panel = document.getElementById('tab-panel');
const grid = document.getElementById('grid');
const status = document.getElementById('status');
const more = document.getElementById('more');

/** The tab on show and the cursor of its next page; `generation` drops stale answers. */
let current = 'latest';
let cursor = null;
let generation = 0;

function select(tab) {
  current = tab;
  for (const t of tabs) {
    const on = t.dataset.tab === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
  }
  panel.setAttribute('aria-labelledby', `tab-${tab}`);
  panel.dataset.tab = tab;
}

/**
 * Load the first page of `tab` (replacing the grid) or, with `append`, the next one.
 *
 * @param {boolean} append
 */
async function load(append) {
  const mine = ++generation;
  const tab = current;
  more.disabled = true;
  grid.setAttribute('aria-busy', 'true');
  if (!append) {
    grid.replaceChildren();
    more.hidden = true;
    status.replaceChildren(message('info', 'Loading videos…', 'loading'));
  }
  try {
    const page = await listVideos({ sort: tab, cursor: append ? cursor : null, limit: PAGE_SIZE });
    if (mine !== generation) return;
    cursor = page.next_cursor;
    grid.append(...page.items.map((v) => videoCard(v)));
    more.hidden = !cursor;
    status.replaceChildren(
      grid.childElementCount === 0
        ? message('info', h('span', null, `${EMPTY[tab]} `, h('a', { href: tab === 'live' ? '/broadcast.html' : '/upload.html' }, tab === 'live' ? 'Go live yourself' : 'Upload the first one!')), 'empty')
        : '',
    );
  } catch (err) {
    if (mine !== generation) return;
    status.replaceChildren(markErrorCode(message('error', `Could not load videos — ${errorText(err)}`, 'error'), err));
  } finally {
    if (mine === generation) {
      grid.removeAttribute('aria-busy');
      more.disabled = false;
    }
  }
}

function open(tab, { focus = false } = {}) {
  select(tab);
  const url = new URL(location.href);
  url.searchParams.set('tab', tab);
  history.replaceState(null, '', url);
  if (focus) tabs.find((t) => t.dataset.tab === tab).focus();
  load(false);
}

for (const t of tabs) {
  t.addEventListener('click', () => open(t.dataset.tab));
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern, activating on focus).
  t.addEventListener('keydown', (e) => {
    const at = TABS.indexOf(t.dataset.tab);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    open(TABS[(to + TABS.length) % TABS.length], { focus: true });
  });
}
more.addEventListener('click', () => load(true));

async function start() {
  const asked = param('tab');
  if (TABS.includes(asked)) {
    select(asked);
    load(false);
    return;
  }
  // No tab asked for: Live now if anyone is live.
  select('latest');
  let live = null;
  try {
    live = await listVideos({ sort: 'live', limit: 1 });
  } catch {
    // Latest says what went wrong, if anything did.
  }
  select(live && live.items.length > 0 ? 'live' : 'latest');
  load(false);
}

start();

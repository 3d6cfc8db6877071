// Home page: a grid of random public videos, live streams first.
import { randomVideos, isLive } from '../myvid.js';
import { renderHeader, videoCard, message, errorText, markErrorCode, h } from '../ui.js';

renderHeader();

const grid = document.getElementById('grid');
const status = document.getElementById('status');
const shuffle = document.getElementById('shuffle');

async function load() {
  shuffle.disabled = true;
  grid.setAttribute('aria-busy', 'true');
  status.replaceChildren(message('info', 'Loading videos…', 'loading'));
  try {
    // Live streams first (the sort is stable, so the rest stay shuffled).
    const videos = (await randomVideos(12)).sort((a, b) => Number(isLive(b)) - Number(isLive(a)));
    grid.replaceChildren(...videos.map((v) => videoCard(v)));
    status.replaceChildren(
      videos.length === 0
        ? message('info', h('span', null, 'No videos yet. ', h('a', { href: 'upload.html' }, 'Upload the first one!')), 'empty')
        : '',
    );
  } catch (err) {
    grid.replaceChildren();
    status.replaceChildren(markErrorCode(message('error', `Could not load videos — ${errorText(err)}`, 'error'), err));
  } finally {
    grid.removeAttribute('aria-busy');
    shuffle.disabled = false;
  }
}

shuffle.addEventListener('click', load);
load();

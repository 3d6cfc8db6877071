// Search page: search.html?q=words, results best first.
import { searchVideosPage } from '../myvid.js';
import { renderHeader, videoCard, message, errorText, markErrorCode, param } from '../ui.js';

const query = (param('q') || '').trim();
renderHeader({ query });

const heading = document.getElementById('heading');
const status = document.getElementById('status');
const results = document.getElementById('results');
const more = document.getElementById('more');
let cursor = null;

async function loadPage() {
  more.disabled = true;
  results.setAttribute('aria-busy', 'true');
  if (!cursor) status.replaceChildren(message('info', 'Searching…', 'loading'));
  try {
    const page = await searchVideosPage(query, { limit: 20, cursor });
    const first = !cursor;
    results.append(...page.items.map((v) => videoCard(v, { showDescription: true })));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (first && page.items.length === 0) {
      status.replaceChildren(message('info', `No videos match “${query}”.`, 'no-results'));
    } else {
      status.replaceChildren();
    }
  } catch (err) {
    status.replaceChildren(markErrorCode(message('error', `Search failed — ${errorText(err)}`, 'error'), err));
  } finally {
    results.removeAttribute('aria-busy');
    more.disabled = false;
  }
}

if (query) {
  document.title = `${query} – Search – MyVid`;
  heading.textContent = `Results for “${query}”`;
  more.addEventListener('click', loadPage);
  loadPage();
} else {
  status.replaceChildren(message('info', 'Type some words in the search box to find videos.', 'empty-query'));
  document.querySelector('#site-header input[name="q"]')?.focus();
}

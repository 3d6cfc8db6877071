// Watch page: watch.html?v=ID
import { getVideo } from '../myvid.js';
import { renderHeader, message, errorText, param, formatDate, formatDuration, h } from '../ui.js';

renderHeader();

const status = document.getElementById('status');
const article = document.getElementById('watch');
const player = document.getElementById('player');
const playerError = document.getElementById('player-error');

function fail(text) {
  article.hidden = true;
  status.replaceChildren(message('error', text, 'error'));
}

async function load() {
  const id = param('v');
  if (!id) {
    fail('No video specified. Open a video from the home page or a search.');
    return;
  }
  status.replaceChildren(message('info', 'Loading video…', 'loading'));
  let video;
  try {
    video = await getVideo(id);
  } catch (err) {
    if (err.status === 404) fail(`Video not found: there is no video with id “${id}” (or it is not public).`);
    else fail(`Could not load the video — ${errorText(err)}`);
    return;
  }
  status.replaceChildren();
  document.title = `${video.title || 'Untitled'} – MyVid`;

  document.getElementById('title').textContent = video.title || 'Untitled';
  const owner = document.getElementById('owner');
  owner.textContent = video.owner ? `by ${video.owner}` : 'by an anonymous uploader';
  owner.dataset.owner = video.owner || '';
  document.getElementById('date').textContent = formatDate(video.published_at ?? video.created_at);
  document.getElementById('duration').textContent = formatDuration(video.duration_seconds);
  const visibility = document.getElementById('visibility');
  if (video.visibility && video.visibility !== 'public') {
    visibility.hidden = false;
    visibility.textContent = video.published_at ? video.visibility : `${video.visibility} · not published`;
  }
  const description = document.getElementById('description');
  description.textContent = video.description || '';
  description.hidden = !video.description;

  player.addEventListener('error', () => {
    playerError.replaceChildren(
      message(
        'error',
        h('span', null, 'This video could not be played (the link may have expired or the format is not supported). ',
          h('a', { href: location.href }, 'Reload the page')),
        'player-error',
      ),
    );
  });
  if (video.preview_url) player.poster = video.preview_url;
  player.src = video.url;
  article.hidden = false;
}

load().catch((err) => fail(`Could not load the video — ${errorText(err)}`));

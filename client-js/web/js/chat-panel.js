// The live chat panel beside a live player (below it on phones): messages, a
// "N watching" count, an input with a "300 left" counter for signed-in viewers, a
// "Sign in to chat" link for the others, Delete and "Mute 10 min" on every line for
// the stream's moderator, and the server's refusals (rate limit, mute…) as a notice.
//
// Message text is only ever set with textContent. The panel outlives the live
// session it shows: when the page starts a new one (a retry), `attachChat` moves the
// panel to the new handle, and lines already shown are not shown twice.

import { chatToken, CHAT_MUTE_SECONDS } from './live.js';
import { isLoggedIn } from './myvid.js';
import { h, loginHref } from './ui.js';

/** @type {Map<string, ChatPanel>} Panels by stream id: one per page and stream. */
const panels = new Map();

/**
 * Show the chat of `streamId` for a live session: creates the panel next to `beside`
 * the first time (the two side by side in one row), joins the chat with a token when
 * signed in (read only otherwise), and follows the latest handle on later calls.
 *
 * @param {{chat: import('./live.js').ChatHandle}} handle From `watch` or `publish`.
 * @param {string} streamId
 * @param {HTMLElement} beside The player's box.
 * @param {{showCount?: boolean}} [options] `showCount: false` leaves out "N watching"
 *   (the broadcast page shows its own viewer count).
 * @returns {ChatPanel}
 */
export function attachChat(handle, streamId, beside, { showCount = true } = {}) {
  let panel = panels.get(streamId);
  if (!panel) {
    panel = new ChatPanel(streamId, showCount);
    panels.set(streamId, panel);
    const parent = beside.parentElement;
    if (parent && parent.classList.contains('live-with-chat')) {
      // A later stream on the same page (the broadcast page): its panel replaces the last.
      parent.replaceChildren(beside, panel.element);
    } else {
      const row = h('div', { class: 'live-with-chat' });
      beside.before(row);
      row.append(beside, panel.element);
    }
  }
  panel.attach(handle);
  return panel;
}

/** "1 watching", "3 watching". */
function watchingText(n) {
  return `${Number(n).toLocaleString('en-US')} watching`;
}

/** The chat panel of one stream. */
class ChatPanel {
  /**
   * @param {string} streamId
   * @param {boolean} showCount
   */
  constructor(streamId, showCount) {
    this.streamId = streamId;
    this.handle = null;
    this.unsubscribe = [];
    /** @type {Map<string, HTMLElement>} */
    this.rows = new Map();
    this.noticeTimer = null;
    this.maxChars = 300;

    this.count = h('span', { class: 'chat-viewers muted small', testid: 'viewer-count', 'aria-live': 'polite' });
    this.list = h('ol', { class: 'chat-lines', testid: 'chat-lines', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
    this.empty = h('p', { class: 'chat-empty muted small', testid: 'chat-empty' }, 'No messages yet.');
    this.notice = h('p', { class: 'chat-notice small', testid: 'chat-notice', role: 'status', hidden: true });
    this.input = h('input', {
      id: `chat-input-${streamId}`,
      class: 'chat-input',
      type: 'text',
      autocomplete: 'off',
      'aria-label': 'Chat message',
      placeholder: 'Say something…',
      testid: 'chat-input',
    });
    this.left = h('small', { class: 'chat-left muted', testid: 'chat-left', id: `chat-left-${streamId}` });
    this.input.setAttribute('aria-describedby', this.left.id);
    this.sendButton = h('button', { type: 'submit', class: 'small', testid: 'chat-send' }, 'Send');
    this.form = h(
      'form',
      { class: 'chat-form', testid: 'chat-form', hidden: true },
      h('div', { class: 'chat-input-row' }, this.input, this.sendButton),
      this.left,
    );
    this.signIn = h(
      'a',
      { class: 'chat-sign-in', href: loginHref(), testid: 'chat-sign-in', hidden: true },
      'Sign in to chat',
    );
    this.element = h(
      'section',
      { class: 'chat-panel', testid: 'chat-panel', 'aria-label': 'Live chat' },
      h('header', { class: 'chat-head' }, h('h2', { class: 'chat-title' }, 'Chat'), showCount ? this.count : null),
      this.list,
      this.empty,
      this.notice,
      this.form,
      this.signIn,
    );
    this.input.addEventListener('input', () => this.updateLeft());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.updateLeft();
  }

  /** Follow `handle`'s chat (the previous handle's is let go). */
  attach(handle) {
    for (const off of this.unsubscribe) off();
    this.handle = handle;
    const chat = handle.chat;
    this.unsubscribe = [
      chat.on('joined', (j) => this.joined(j)),
      chat.on('message', (line) => this.addLine(line)),
      chat.on('deleted', ({ id }) => this.removeLine(id)),
      chat.on('muted', (m) => {
        if (m.until_ms > 0) this.showNotice(`${m.user} was muted.`, 'muted', 5000);
      }),
      chat.on('refused', (r) => this.refused(r)),
      chat.on('viewers', (n) => this.setCount(n)),
    ];
    this.join(chat);
  }

  /** Joins with a token when signed in; read only when not, or when none is given. */
  async join(chat) {
    let token = null;
    if (isLoggedIn()) {
      try {
        token = (await chatToken(this.streamId)).token;
      } catch (err) {
        console.warn(`chat: no chat token (${err && err.code ? err.code : err}); reading only`);
      }
    }
    if (this.handle && this.handle.chat === chat) chat.join(token);
  }

  joined({ canWrite, moderator, maxChars, viewers }) {
    this.maxChars = maxChars;
    this.moderator = moderator;
    this.element.dataset.moderator = String(moderator);
    this.element.dataset.joined = 'true';
    this.form.hidden = !canWrite;
    this.signIn.hidden = canWrite;
    this.setCount(viewers);
    for (const row of this.rows.values()) this.decorate(row);
    this.updateLeft();
  }

  setCount(n) {
    this.count.textContent = watchingText(n);
    this.count.dataset.count = String(n);
  }

  updateLeft() {
    const left = this.maxChars - [...this.input.value.trim()].length;
    this.left.textContent = `${left} left`;
    this.left.dataset.over = String(left < 0);
    this.sendButton.disabled = left < 0;
  }

  send() {
    const text = this.input.value.trim();
    if (!text || !this.handle) return;
    if (this.handle.chat.send(text)) {
      this.input.value = '';
      this.updateLeft();
    }
  }

  /** One line: the author, the text (as text), and the moderator's buttons. */
  addLine(line) {
    if (this.rows.has(line.id)) return;
    const row = h(
      'li',
      { class: 'chat-line', testid: 'chat-line', dataset: { id: line.id } },
      h('strong', { class: 'chat-user' }),
      ' ',
      h('span', { class: 'chat-text' }),
    );
    row.querySelector('.chat-user').textContent = line.user;
    row.querySelector('.chat-text').textContent = line.text;
    this.rows.set(line.id, row);
    this.decorate(row);
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(row);
    this.empty.hidden = true;
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  /** Adds Delete and "Mute 10 min" to a line, for a moderator. */
  decorate(row) {
    if (!this.moderator || row.querySelector('.chat-actions')) return;
    const id = row.dataset.id;
    row.append(
      h(
        'span',
        { class: 'chat-actions' },
        h('button', { type: 'button', class: 'link small', testid: 'chat-delete', onclick: () => this.handle.chat.delete(id) }, 'Delete'),
        h(
          'button',
          { type: 'button', class: 'link small', testid: 'chat-mute', onclick: () => this.handle.chat.mute(id, CHAT_MUTE_SECONDS) },
          'Mute 10 min',
        ),
      ),
    );
  }

  removeLine(id) {
    const row = this.rows.get(id);
    if (row) row.remove();
    this.rows.delete(id);
    this.empty.hidden = this.rows.size > 0;
  }

  refused(r) {
    if (r.code === 'not_live') return; // the session's own state says it
    const wait = Number.isInteger(r.retry_after_ms) ? Math.min(r.retry_after_ms, 60_000) : 0;
    this.showNotice(r.message, r.code, Math.max(wait, 4000));
  }

  showNotice(text, code, ms) {
    clearTimeout(this.noticeTimer);
    this.notice.textContent = text;
    this.notice.dataset.code = code;
    this.notice.hidden = false;
    this.noticeTimer = setTimeout(() => {
      this.notice.hidden = true;
    }, ms);
  }
}

// Login page: log in or sign up, then go to ?next= (same-origin only) or home.
import { login, signup, currentUser } from '../myvid.js';
import { renderHeader, message, errorText, markErrorCode, param, h } from '../ui.js';

renderHeader();

/** The page to go to after logging in; only same-origin targets are allowed. */
function nextUrl() {
  const next = param('next');
  if (next) {
    try {
      const url = new URL(next, location.href);
      if (url.origin === location.origin && !url.pathname.endsWith('/login.html')) return url.href;
    } catch {
      // ignore malformed targets
    }
  }
  return new URL('/index.html', location.href).href;
}

const status = document.getElementById('status');
const user = currentUser();
if (user) {
  status.replaceChildren(
    message('info', h('span', null, `You are logged in as ${user.username}. `, h('a', { href: nextUrl() }, 'Continue')), 'already-logged-in'),
  );
}

/**
 * @param {HTMLFormElement} form
 * @param {(data: FormData) => Promise<unknown>} action
 */
function wire(form, action) {
  const errorBox = form.querySelector('.form-error');
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox.hidden = true;
    button.disabled = true;
    const label = button.textContent;
    button.textContent = 'Please wait…';
    try {
      await action(new FormData(form));
      location.assign(nextUrl());
    } catch (err) {
      errorBox.textContent = errorText(err);
      markErrorCode(errorBox, err);
      errorBox.hidden = false;
      button.disabled = false;
      button.textContent = label;
    }
  });
}

wire(document.getElementById('login-form'), (data) =>
  login({ credential: String(data.get('credential')).trim(), password: String(data.get('password')) }),
);

wire(document.getElementById('signup-form'), (data) =>
  signup({
    username: String(data.get('username')).trim(),
    email: String(data.get('email')).trim(),
    password: String(data.get('password')),
  }),
);

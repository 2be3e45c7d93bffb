// Sign-in: the API key, checked against the service before it is kept for this tab.
import { ApiError } from '../api.js';
import { field, h, mount } from '../dom.js';
import { probeScopes } from '../scopes.js';
import { signIn } from '../session.js';
import { errorBox } from '../widgets.js';

export function renderSignIn(main, { reason, onSignedIn }) {
  const key = h('input', { type: 'password', name: 'apiKey', autocomplete: 'off', spellcheck: 'false', required: true });
  const out = h('div', { id: 'sign-in-result' }, reason ? h('p', { className: 'problem', role: 'alert' }, reason) : null);
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { className: 'card narrow', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    field('API key', key, 'One of the keys in API_KEYS. It stays in this tab only (session storage) and is sent to this service only.'),
    submit, out);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = key.value.trim();
    if (!value) return;
    submit.disabled = true;
    probeScopes(value).then((scopes) => {
      key.value = '';
      if (scopes.size === 0) {
        mount(out, h('p', { className: 'problem', role: 'alert' }, 'This key is valid but has none of the scopes the console uses (admin, send, read).'));
        return;
      }
      signIn(value, scopes);
      onSignedIn();
    }, (err) => {
      mount(out, err instanceof ApiError && err.status === 401
        ? h('p', { className: 'problem', role: 'alert' }, 'The service does not accept this API key. Check it against API_KEYS.')
        : errorBox(err));
    }).finally(() => {
      submit.disabled = false;
    });
  });
  mount(main, form);
  key.focus();
}

// The console's entry: sign-in or the page the URL's hash names, and the navigation the
// key's scopes allow. Pages: #/setup, #/mailboxes(/id), #/webhooks(/id), #/sending.
import { h, mount } from './dom.js';
import { ApiError } from './api.js';
import { probeScopes } from './scopes.js';
import { can, currentKey, onSignOut, signIn, signOut } from './session.js';
import { renderSignIn } from './views/sign-in.js';
import { renderSetup } from './views/setup.js';
import { renderMailboxes } from './views/mailboxes.js';
import { renderMailbox } from './views/mailbox.js';
import { renderWebhooks } from './views/webhooks.js';
import { renderWebhook } from './views/webhook.js';
import { renderSending } from './views/sending.js';

const PAGES = [
  { path: 'setup', title: 'Connect Office 365', scope: 'admin', list: renderSetup },
  { path: 'mailboxes', title: 'Mailboxes', scope: 'admin', list: renderMailboxes, one: renderMailbox },
  { path: 'webhooks', title: 'Webhooks', scope: 'admin', list: renderWebhooks, one: renderWebhook },
  { path: 'sending', title: 'Sending', scope: 'send', list: renderSending },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const session = document.getElementById('session');
/** What the page showing now must stop (timers) before another replaces it. */
let stopPage = () => undefined;
let signOutReason;

function allowed() {
  return PAGES.filter((p) => can(p.scope));
}

function renderChrome(current) {
  mount(nav, h('ul', {}, allowed().map((p) => h('li', {}, h('a', { href: `#/${p.path}`, 'aria-current': p === current ? 'page' : false }, p.title)))));
  mount(session, h('button', { type: 'button', className: 'link', onclick: () => signOut('Signed out.') }, 'Sign out'));
}

function route() {
  stopPage();
  stopPage = () => undefined;
  if (!currentKey()) {
    mount(nav);
    mount(session);
    document.title = 'Sign in · mailsync console';
    renderSignIn(main, { reason: signOutReason, onSignedIn: () => { signOutReason = undefined; location.hash = `#/${allowed()[0]?.path ?? ''}`; route(); } });
    return;
  }
  const [, name = '', ...rest] = location.hash.split('/');
  const pages = allowed();
  const page = pages.find((p) => p.path === name);
  if (!page) {
    if (pages[0]) location.replace(`#/${pages[0].path}`);
    else mount(main, h('p', {}, 'This key may use none of the console\'s pages.'));
    return;
  }
  renderChrome(page);
  const id = rest.join('/');
  const render = id && page.one ? page.one : page.list;
  document.title = `${page.title} · mailsync console`;
  mount(main);
  const stop = render(main, { id: id ? decodeURIComponent(id) : undefined });
  if (typeof stop === 'function') stopPage = stop;
  main.focus({ preventScroll: true });
}

onSignOut((reason) => {
  signOutReason = reason;
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);

/** A key kept from before (a reload): asked again, since it may have been revoked or its scopes changed. */
async function start() {
  const key = currentKey();
  if (key) {
    try {
      signIn(key, await probeScopes(key));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        signOut('The service no longer accepts this API key (it was changed or revoked). Sign in again.');
        return;
      }
    }
  }
  route();
}
void start();

// Webhooks: the subscriptions with their health, and a form to add one (its signing secret is
// shown once, in this answer only: the console keeps it nowhere).
import { get, post } from '../api.js';
import { field, h, mount, when } from '../dom.js';
import { badge, busy, copyable, errorBox, table } from '../widgets.js';

const EVENTS = ['message.received', 'message.sent', 'message.failed', 'message.bounced', 'message.updated', 'message.deleted',
  'mailbox.error', 'mailbox.recovered', 'mailbox.authorized'];

export function renderWebhooks(main) {
  const list = h('div', { id: 'webhook-list' }, h('p', {}, 'Loading…'));
  const created = h('div', { id: 'webhook-created', 'aria-live': 'polite' });

  async function load() {
    try {
      const rows = [];
      let cursor = null;
      do {
        const page = await get(`/webhooks?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        rows.push(...page.items.map((w) => [
          h('a', { href: `#/webhooks/${w.id}` }, w.url), w.events.join(', '), badge(w.health.status),
          String(w.health.consecutiveFailures), when(w.health.lastSuccessAt), when(w.health.lastFailureAt),
        ]));
        cursor = page.nextCursor;
      } while (cursor && rows.length < 1000);
      mount(list, table('Subscriptions', ['Endpoint', 'Events', 'Health', 'Failures in a row', 'Last success', 'Last failure'], rows, 'No webhook yet.'));
    } catch (err) {
      mount(list, errorBox(err));
    }
  }

  const url = h('input', { type: 'url', name: 'url', required: true, placeholder: 'https://example.com/mailsync', autocomplete: 'off' });
  const boxes = EVENTS.map((e) => h('input', { type: 'checkbox', name: 'events', value: e, checked: e === 'message.received' }));
  const submit = h('button', { type: 'submit' }, 'Add the webhook');
  const form = h('form', { className: 'card', 'aria-labelledby': 'new-webhook' },
    h('h2', { id: 'new-webhook' }, 'Add a webhook'),
    field('Endpoint URL', url),
    h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((box) => h('label', { className: 'inline' }, box, ` ${box.value}`))),
    submit, created);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(submit, async () => {
      try {
        const hook = await post('/webhooks', { url: url.value.trim(), events: boxes.filter((b) => b.checked).map((b) => b.value) });
        url.value = '';
        // Shown this once: leaving or reloading the page forgets it.
        mount(created, h('div', { className: 'ok-box' },
          h('p', {}, h('strong', {}, 'Added. '), 'Copy the signing secret now: it is not shown again (rotate it to get a new one).'),
          copyable(hook.secret, 'signing secret')));
        await load();
      } catch (err) {
        mount(created, errorBox(err));
      }
    });
  });

  mount(main, h('h1', {}, 'Webhooks'), list, form);
  void load();
}

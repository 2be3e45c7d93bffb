// Sending: a test-send form and the sends made from this tab, with their status and SMTP
// answer. The API has no list of sends, so only this tab's are shown (their ids are kept in
// session storage; each is read with GET /v1/send/{id} until it is final).
import { get, post } from '../api.js';
import { field, h, mount, when } from '../dom.js';
import { can, recall, remember } from '../session.js';
import { badge, busy, errorBox, problemBox, table } from '../widgets.js';

const FINAL = new Set(['sent', 'failed', 'canceled']);
const REFRESH_MS = 2_000;

export function renderSending(main) {
  const sends = recall('sends', []);
  const list = h('div', { id: 'send-list' });
  const out = h('div', { 'aria-live': 'polite' });
  const status = new Map();
  let stopped = false;
  let timer;

  const mailbox = can('admin') ? h('select', { name: 'mailboxId', required: true }) : h('input', { type: 'text', name: 'mailboxId', required: true, placeholder: 'mbx_…' });
  if (can('admin')) {
    get('/mailboxes?limit=500').then((page) => mount(mailbox, page.items.map((m) => h('option', { value: m.id }, m.email))),
      (err) => mount(out, errorBox(err)));
  }
  const to = h('input', { type: 'text', name: 'to', required: true, autocomplete: 'off', placeholder: 'someone@example.com' });
  const subject = h('input', { type: 'text', name: 'subject', required: true, value: 'mailsync test' });
  const text = h('textarea', { name: 'text', rows: '4' }, 'A test message sent from the mailsync console.');
  const submit = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { className: 'card', 'aria-labelledby': 'test-send' },
    h('h2', { id: 'test-send' }, 'Send a test message'),
    field('From mailbox', mailbox), field('To', to, 'Addresses separated by commas.'), field('Subject', subject), field('Text', text),
    submit, out);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(submit, async () => {
      try {
        const accepted = await post('/send', {
          mailboxId: mailbox.value, to: to.value.split(',').map((a) => a.trim()).filter(Boolean), subject: subject.value, text: text.value,
        });
        sends.unshift({ id: accepted.id, to: to.value, subject: subject.value });
        remember('sends', sends.slice(0, 50));
        mount(out, h('p', { className: 'ok-line' }, `Queued as ${accepted.id}.`));
        await refresh();
      } catch (err) {
        mount(out, errorBox(err));
      }
    });
  });

  function show() {
    mount(list, table('Sends from this tab, newest first', ['Queued', 'To', 'Subject', 'Status', 'Attempts', 'SMTP answer'],
      sends.map((s) => {
        const r = status.get(s.id);
        return [r ? when(r.createdAt) : '…', s.to, s.subject, r ? badge(r.status) : '…', r ? String(r.attempts) : '…',
          r?.error ? problemBox(r.error, { title: r.error.code }) : (r?.smtpResponse ?? '—')];
      }), 'Nothing sent from this tab yet.'));
  }

  async function refresh() {
    await Promise.all(sends.filter((s) => !FINAL.has(status.get(s.id)?.status)).map(async (s) => {
      try {
        status.set(s.id, await get(`/send/${s.id}`));
      } catch (err) {
        if (err.status === 404) status.set(s.id, { status: 'canceled', attempts: 0, smtpResponse: 'no longer kept by the service' });
      }
    }));
    show();
  }

  async function loop() {
    await refresh();
    if (!stopped) timer = setTimeout(() => void loop(), REFRESH_MS);
  }

  mount(main, h('h1', {}, 'Sending'), form, h('h2', {}, 'Recent sends'),
    h('p', { className: 'help' }, 'The API lists no sends, so this shows the ones sent from this tab.'), list);
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

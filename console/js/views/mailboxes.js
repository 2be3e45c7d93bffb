// Mailboxes: every mailbox with its state, next poll and last error, a page at a time.
import { get } from '../api.js';
import { h, mount, when } from '../dom.js';
import { badge, errorBox, table } from '../widgets.js';

export function renderMailboxes(main) {
  const list = h('div', { id: 'mailbox-list' }, h('p', {}, 'Loading…'));
  const more = h('div');
  const rows = [];
  async function page(cursor) {
    try {
      const answer = await get(`/mailboxes?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      rows.push(...answer.items.map((m) => [
        h('a', { href: `#/mailboxes/${m.id}` }, m.email), badge(m.state), when(m.nextPollAt),
        m.lastError ? h('span', {}, h('code', {}, m.lastError.code), m.lastError.hint ? ` — ${m.lastError.hint}` : '') : '—',
      ]));
      mount(list, table('Mailboxes', ['Mailbox', 'State', 'Next poll', 'Last error'], rows, 'No mailbox yet: add one with Connect Office 365.'));
      mount(more, answer.nextCursor ? h('button', { type: 'button', onclick: () => void page(answer.nextCursor) }, 'More') : null);
    } catch (err) {
      mount(list, errorBox(err));
    }
  }
  mount(main, h('h1', {}, 'Mailboxes'), list, more);
  void page();
}

// One webhook: its health and its delivery log (response codes, errors, next attempt), with
// Retry for a delivery that gave up. Refreshed every few seconds while shown.
import { get, post } from '../api.js';
import { h, mount, when } from '../dom.js';
import { badge, busy, errorBox, facts, table } from '../widgets.js';

const REFRESH_MS = 3_000;

export function renderWebhook(main, { id }) {
  const head = h('div');
  const log = h('div', { id: 'delivery-log' });
  const note = h('div', { 'aria-live': 'polite' });
  let stopped = false;
  let timer;

  const retry = (delivery) => {
    const button = h('button', { type: 'button', 'aria-label': `Retry delivery ${delivery.deliveryId}` }, 'Retry');
    button.addEventListener('click', () => void busy(button, async () => {
      try {
        await post(`/webhooks/${id}/deliveries/${delivery.deliveryId}/retry`);
        mount(note, h('p', { className: 'ok-line' }, `Delivery ${delivery.deliveryId} queued again.`));
        await refresh();
      } catch (err) {
        mount(note, errorBox(err));
      }
    }));
    return button;
  };

  async function refresh() {
    try {
      const [hook, deliveries] = await Promise.all([get(`/webhooks/${id}`), get(`/webhooks/${id}/deliveries?limit=50`)]);
      mount(head, h('h1', {}, 'Webhook ', badge(hook.health.status)), facts([
        ['Endpoint', hook.url], ['Events', hook.events.join(', ')], ['Failures in a row', String(hook.health.consecutiveFailures)],
        ['Failing since', when(hook.health.failingSince)], ['Last success', when(hook.health.lastSuccessAt)], ['Secret rotated', when(hook.secretRotatedAt)],
      ]));
      mount(log, table('Delivery log, newest first', ['Created', 'Event', 'Status', 'Attempts', 'Response code', 'Last error', 'Next attempt', ''],
        deliveries.items.map((d) => [when(d.createdAt), d.eventType, badge(d.status), String(d.attempts),
          d.lastResponseCode === null ? '—' : String(d.lastResponseCode), d.lastError ? `${d.lastError.code}: ${d.lastError.detail}` : '—',
          when(d.nextAttemptAt), d.status === 'failed' ? retry(d) : '']), 'No delivery yet.'));
    } catch (err) {
      mount(log, errorBox(err));
    }
  }

  async function loop() {
    await refresh();
    if (!stopped) timer = setTimeout(() => void loop(), REFRESH_MS);
  }

  mount(main, h('p', {}, h('a', { href: '#/webhooks' }, '← All webhooks')), head, h('h2', {}, 'Deliveries'), note, log);
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

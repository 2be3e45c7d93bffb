// Small pieces the pages share: a problem with its hint, a copyable command, a state badge,
// a facts list, and a button that shows it is busy.
import { announce, h } from './dom.js';
import { setupStepTitle } from './views/setup-steps.js';

/** An error, problem or failed check: what happened, the hint, and the setup step that fixes it. */
export function problemBox(problem, { title } = {}) {
  const p = problem ?? {};
  return h('div', { className: 'problem', role: 'alert' },
    h('p', { className: 'problem-title' }, title ?? p.title ?? 'It failed', p.code ? h('code', {}, ` ${p.code}`) : null),
    p.detail ? h('p', {}, p.detail) : null,
    p.hint ? h('p', { className: 'hint' }, h('strong', {}, 'What to do: '), p.hint) : null,
    p.setupStep ? h('p', {}, 'Setup step: ', h('a', { href: `#/setup/${p.setupStep}` }, setupStepTitle(p.setupStep))) : null,
  );
}

/** The API's error as a problem box. */
export function errorBox(err) {
  return problemBox(err?.problem ?? { detail: String(err?.message ?? err) }, { title: err?.status ? `The service answered ${err.status}` : 'It failed' });
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
    announce('Copied to the clipboard');
  } catch {
    button.textContent = 'Select and copy by hand';
  }
}

/** A command (PowerShell, a URL) with a Copy button; `label` names it for screen readers. */
export function copyable(text, label) {
  const code = h('code', {}, text);
  const button = h('button', { type: 'button', className: 'copy', 'aria-label': `Copy ${label}`, onclick: () => void copyText(text, button) }, 'Copy');
  return h('div', { className: 'copyable' }, h('pre', { tabindex: '0', 'aria-label': label }, code), button);
}

const STATE_TONE = { active: 'ok', healthy: 'ok', delivered: 'ok', sent: 'ok', ok: 'ok', paused: 'muted', canceled: 'muted', pending: 'muted', queued: 'muted', sending: 'muted', scheduled: 'muted', pending_authorization: 'warn', throttled: 'warn' };

/** A state as text with a tone (never colour alone). */
export function badge(state) {
  return h('span', { className: `badge ${STATE_TONE[state] ?? 'bad'}` }, String(state).replaceAll('_', ' '));
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h('dl', { className: 'facts' }, pairs.filter(Boolean).flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

/** Runs `action` with the button disabled and marked busy; errors land in `out` when given. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A table with a caption and header row; `rows` are arrays of cells. */
export function table(caption, headers, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { className: 'empty' }, empty);
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell))))),
  );
}

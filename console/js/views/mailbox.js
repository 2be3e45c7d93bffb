// One mailbox: state, last error with its hint and setup step, polls, folders, the doctor,
// pause/resume/poll now, the sign-in link of a delegated mailbox, and recent messages.
// Refreshed every few seconds while shown.
import { get, post } from '../api.js';
import { h, mount, when } from '../dom.js';
import { can } from '../session.js';
import { badge, busy, errorBox, facts, problemBox, table } from '../widgets.js';

const REFRESH_MS = 3_000;

export function renderMailbox(main, { id }) {
  const head = h('div');
  const actions = h('div', { className: 'actions' });
  const summary = h('div');
  const doctor = h('section', { 'aria-labelledby': 'doctor-title' }, h('h2', { id: 'doctor-title' }, 'The doctor'), h('p', { className: 'help' }, 'Token, permissions, IMAP login and folders, SMTP AUTH: each checked now.'));
  const doctorOut = h('div', { id: 'doctor-report', 'aria-live': 'polite' });
  const signIn = h('div');
  const folders = h('section', { 'aria-labelledby': 'folders-title' });
  const messages = h('section', { 'aria-labelledby': 'messages-title' });
  let stopped = false;
  let timer;

  const act = (label, path) => {
    const button = h('button', { type: 'button' }, label);
    button.addEventListener('click', () => void busy(button, async () => {
      try {
        await post(`/mailboxes/${id}/${path}`);
        await refresh();
      } catch (err) {
        mount(summary, errorBox(err));
      }
    }));
    return button;
  };

  const runDoctor = h('button', { type: 'button', id: 'run-doctor' }, 'Run the doctor');
  runDoctor.addEventListener('click', () => void busy(runDoctor, async () => {
    try {
      const report = await post(`/mailboxes/${id}/diagnose`);
      mount(doctorOut, h('p', {}, h('strong', {}, report.ok ? 'No problem found.' : 'Problems found:')),
        h('ul', { className: 'doctor' }, report.steps.map((s) => h('li', {}, badge(s.ok ? 'ok' : 'failed'), ` ${s.step.replaceAll('_', ' ')}: ${s.detail} (${s.durationMs} ms)`,
          s.ok ? null : problemBox(s, { title: s.code ?? s.step })))));
    } catch (err) {
      mount(doctorOut, errorBox(err));
    }
  }));

  async function authorizeLink(button) {
    try {
      const { authorizeUrl } = await post(`/mailboxes/${id}/authorize`);
      mount(signIn, h('p', {}, h('a', { href: authorizeUrl, target: '_blank', rel: 'noreferrer noopener' }, 'Set up / Renew OAuth connection'),
        ' — open it in a private window so the mailbox\'s user signs in.'));
    } catch (err) {
      mount(signIn, errorBox(err));
    }
    button.focus();
  }

  function show(m) {
    mount(head, h('h1', {}, m.email, ' ', badge(m.state)));
    const buttons = [m.state === 'paused' ? act('Resume', 'resume') : act('Pause', 'pause'), act('Poll now', 'poll')];
    if (m.flow === 'delegated') {
      const link = h('button', { type: 'button' }, 'Get the sign-in link');
      link.addEventListener('click', () => void busy(link, () => authorizeLink(link)));
      buttons.push(link);
    }
    if (!actions.hasChildNodes() || actions.dataset.state !== m.state) {
      actions.dataset.state = m.state;
      mount(actions, buttons);
    }
    mount(summary,
      facts([['Flow', m.flow.replace('_', '-')], ['Connection', m.connectionId], ['Signed-in account', m.account?.username],
        ['Last poll', when(m.lastPollAt)], ['Next poll', when(m.nextPollAt)], ['Poll interval', `${m.pollIntervalSeconds} s`]]),
      m.lastError ? problemBox({ ...m.lastError, detail: `${m.lastError.detail} (${when(m.lastError.at)})` }, { title: 'Last error' }) : h('p', { className: 'ok-line' }, 'No error.'));
    mount(folders, h('h2', { id: 'folders-title' }, 'Folders'), table('Watched folders', ['Folder', 'UID validity', 'Next UID', 'Last seen UID'],
      m.folders.map((f) => [f, ...['uidValidity', 'uidNext', 'lastSeenUid'].map((k) => String(m.folderState?.[f]?.[k] ?? '—'))])));
  }

  async function showMessages() {
    if (!can('read')) {
      mount(messages, h('h2', { id: 'messages-title' }, 'Recent messages'), h('p', { className: 'help' }, 'This API key lacks the read scope.'));
      return;
    }
    try {
      const list = await get(`/mailboxes/${id}/messages?folder=INBOX&limit=10`);
      const who = (people) => people.map((p) => p.name || p.address).join(', ');
      mount(messages, h('h2', { id: 'messages-title' }, 'Recent messages'), table('Newest first, INBOX', ['Date', 'From', 'Subject'],
        list.items.map((m) => [when(m.date), who(m.from), m.subject ?? '(no subject)']), 'No message in INBOX.'));
    } catch (err) {
      mount(messages, h('h2', { id: 'messages-title' }, 'Recent messages'), errorBox(err));
    }
  }

  async function refresh() {
    try {
      show(await get(`/mailboxes/${id}`));
      await showMessages();
    } catch (err) {
      mount(summary, errorBox(err));
    }
  }

  async function loop() {
    await refresh();
    if (!stopped) timer = setTimeout(() => void loop(), REFRESH_MS);
  }

  mount(main, h('p', {}, h('a', { href: '#/mailboxes' }, '← All mailboxes')), head, actions, signIn, summary, folders,
    h('div', {}, doctor, runDoctor, doctorOut), messages);
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// "Connect Office 365, step by step": the setup guide as a wizard. Each step says what to do
// in the Microsoft portals, takes the ids it needs, and is checked live by verify or the
// doctor where it can be; a failing step shows its hint. Progress lives in this tab.
import { post } from '../api.js';
import { announce, h, mount } from '../dom.js';
import { recall, remember } from '../session.js';
import { problemBox } from '../widgets.js';
import { applyDiagnose, applyVerify, firstFailing, loadChecks, saveChecks } from './setup-checks.js';
import { PANELS } from './setup-panels.js';
import { stepsFor } from './setup-steps.js';

const FRESH = {
  flow: 'app_only', name: '', tenantId: '', clientId: '', authorityHost: '', connectionId: null,
  objectId: '', email: '', servers: null, pollIntervalSeconds: '', mailboxId: null, step: 'app_registration',
};

export function renderSetup(main, { id }) {
  const state = { ...FRESH, ...recall('setup', {}) };
  const checks = loadChecks();
  /** The last check's answer, shown on the step it was run from (kept only while on this page). */
  let outcome = null;

  const save = () => remember('setup', state);
  const steps = () => stepsFor(state.flow);
  const go = (stepId) => {
    location.hash = `#/setup/${stepId}`;
  };

  function render() {
    const list = steps();
    const current = list.find((s) => s.id === (id ?? state.step)) ?? list[0];
    state.step = current.id;
    save();
    const index = list.indexOf(current);
    const failing = firstFailing(checks, state.flow);
    const ctx = { state, checks, save, render, verify, diagnose, go, outcome: outcome?.step === current.id ? outcome : null, setOutcome };
    const status = (s) => (checks[s.id]?.ok === true ? 'checked' : checks[s.id]?.ok === false ? 'fails' : 'not checked');
    mount(main,
      h('h1', {}, 'Connect Office 365, step by step'),
      failing ? h('div', { className: 'banner', id: 'failing-step' }, problemBox(checks[failing.id], { title: `Step ${list.indexOf(failing) + 1}, ${failing.title}, fails` }),
        failing !== current ? h('a', { href: `#/setup/${failing.id}` }, 'Go to that step') : null) : null,
      h('div', { className: 'wizard' },
        h('nav', { 'aria-label': 'Setup steps' }, h('ol', { className: 'steps' }, list.map((s) => h('li', { className: `step-${status(s).replace(' ', '-')}` },
          h('a', { href: `#/setup/${s.id}`, 'aria-current': s === current ? 'step' : false }, s.title),
          h('span', { className: 'step-status' }, ` (${status(s)})`))))),
        h('section', { className: 'card panel', 'aria-labelledby': 'step-title', 'data-step': current.id },
          h('p', { className: 'step-count' }, `Step ${index + 1} of ${list.length}`),
          h('h2', { id: 'step-title' }, current.title),
          checks[current.id]?.ok === false ? problemBox(checks[current.id], { title: 'This step fails' }) : null,
          checks[current.id]?.ok === true ? h('p', { className: 'ok-line' }, `✓ Checked by ${checks[current.id].by === 'verify' ? 'verify' : 'the doctor'}.`) : null,
          PANELS[current.id](ctx),
          h('div', { className: 'wizard-nav' },
            index > 0 ? h('a', { className: 'button secondary', href: `#/setup/${list[index - 1].id}` }, 'Back') : null,
            index < list.length - 1 ? h('a', { className: 'button', href: `#/setup/${list[index + 1].id}`, id: 'next-step' }, 'Next') : null,
            h('button', { type: 'button', className: 'link', onclick: startOver }, 'Start over'),
          ),
        ),
      ),
    );
  }

  function setOutcome(step, node) {
    outcome = { step, node };
  }

  function startOver() {
    if (!confirm('Forget this setup in the console? (The connection and mailbox stay in the service.)')) return;
    Object.assign(state, FRESH);
    for (const key of Object.keys(checks)) delete checks[key];
    saveChecks(checks);
    save();
    go('app_registration');
    render();
  }

  /** Runs verify and maps its answer onto the steps (the caller re-renders). */
  async function verify() {
    const result = await post(`/connections/${state.connectionId}/verify`);
    saveChecks(applyVerify(checks, state.flow, result));
    announce(result.ok ? 'Verified' : 'Verify found problems');
    return result;
  }

  async function diagnose() {
    const report = await post(`/mailboxes/${state.mailboxId}/diagnose`);
    saveChecks(applyDiagnose(checks, state.flow, report));
    announce(report.ok ? 'The doctor found no problem' : 'The doctor found problems');
    return report;
  }

  render();
}

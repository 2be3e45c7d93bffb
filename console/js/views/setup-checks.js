// What the live checks say about each setup step: `verify` (the connection's token) and the
// doctor (`diagnose`: token, permissions, IMAP, SMTP AUTH) mapped onto the wizard's steps.
// Kept in this tab's session storage (codes, details and hints only: no secret).
import { recall, remember } from '../session.js';
import { DOCTOR_STEPS, stepsFor, wizardStepOf } from './setup-steps.js';

/** The steps a successful verify proves, in the order a token request meets them. */
const VERIFIED = { app_only: ['tenant_and_client_id', 'client_secret', 'api_permissions', 'admin_consent'], delegated: ['tenant_and_client_id'] };

export const loadChecks = () => recall('setupChecks', {});
export const saveChecks = (checks) => remember('setupChecks', checks);

/** Applies POST /v1/connections/{id}/verify's answer. */
export function applyVerify(checks, flow, result) {
  const order = VERIFIED[flow] ?? [];
  const failing = new Map();
  for (const problem of result.problems ?? []) {
    const step = wizardStepOf(problem.setupStep) ?? 'client_secret';
    if (!failing.has(step)) failing.set(step, { ok: false, code: problem.code, detail: problem.detail, hint: problem.hint, setupStep: problem.setupStep });
  }
  const firstFailing = order.findIndex((step) => failing.has(step));
  order.forEach((step, i) => {
    if (firstFailing === -1 || i < firstFailing) checks[step] = { ok: true, by: 'verify' };
    else delete checks[step];
  });
  for (const [step, outcome] of failing) checks[step] = { ...outcome, by: 'verify' };
  return checks;
}

/** Applies POST /v1/mailboxes/{id}/diagnose's answer. */
export function applyDiagnose(checks, flow, report) {
  const inFlow = new Set(stepsFor(flow).map((s) => s.id));
  const fails = [];
  for (const step of report.steps ?? []) {
    const map = DOCTOR_STEPS[step.step] ?? { proves: [], fallback: 'client_secret' };
    if (step.ok) {
      for (const id of map.proves) if (inFlow.has(id)) checks[id] = { ok: true, by: 'diagnose' };
    } else {
      fails.push([wizardStepOf(step.setupStep) ?? map.fallback, step]);
    }
  }
  for (const [id, step] of fails) checks[id] = { ok: false, by: 'diagnose', code: step.code, detail: step.detail, hint: step.hint, setupStep: step.setupStep };
  if (report.ok) checks.done = { ok: true, by: 'diagnose' };
  else delete checks.done;
  return checks;
}

/** The first failing step of the flow, in the guide's order. */
export function firstFailing(checks, flow) {
  return stepsFor(flow).find((s) => checks[s.id]?.ok === false);
}

/** A doctor's finding: one failed step, with the setup guide's step that fixes it. */
import { classify } from '../../errors/classify.js';

export interface DoctorProblemT {
  code: string;
  detail: string;
  hint?: string;
  setupStep?: string;
  aadstsCode?: number;
}

export function problemOf(err: unknown): DoctorProblemT {
  const c = classify(err);
  const aadsts = c.fields.aadstsCode;
  return {
    code: c.code,
    detail: c.detail,
    ...(c.hint ? { hint: c.hint } : {}),
    ...(c.step ? { setupStep: c.step } : {}),
    ...(typeof aadsts === 'number' ? { aadstsCode: aadsts } : {}),
  };
}

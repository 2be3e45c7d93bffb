/** A doctor's finding: one failed step, with the setup guide's step that fixes it. */
import { Type, type Static } from 'typebox';
import { classify } from '../../errors/classify.js';

export const DoctorProblem = Type.Object(
  {
    code: Type.String(),
    detail: Type.String(),
    hint: Type.Optional(Type.String()),
    setupStep: Type.Optional(Type.String()),
    aadstsCode: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type DoctorProblemT = Static<typeof DoctorProblem>;

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

/**
 * The doctor's answers (POST /v1/connections/{id}/verify, POST
 * /v1/mailboxes/{id}/diagnose) on the wire, checked against the domain's
 * types (domain/doctor/).
 */
import { Type, type Static } from 'typebox';
import type { DiagnoseResultT } from '../../domain/doctor/diagnose-mailbox.js';
import type { DoctorProblemT } from '../../domain/doctor/problem.js';
import type { DoctorStepName as DoctorStepNameT, DoctorStepT } from '../../domain/doctor/step-runner.js';
import type { VerifyResultT } from '../../domain/doctor/verify-connection.js';
import type { Check, Same } from './same.js';
import { CredentialView } from './connections.js';

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

const DoctorStepName = Type.Union([
  Type.Literal('token'),
  Type.Literal('permissions'),
  Type.Literal('imap_login'),
  Type.Literal('imap_folders'),
  Type.Literal('smtp_auth'),
]);

export const DoctorStep = Type.Object(
  {
    step: DoctorStepName,
    ok: Type.Boolean(),
    detail: Type.String({ description: 'What was found; `skipped: <why>` for a step that could not run.' }),
    hint: Type.Optional(Type.String({ description: 'What to change, in the words of the setup guide.' })),
    setupStep: Type.Optional(Type.String({ description: 'The setup guide step that fixes it (see the README).' })),
    code: Type.Optional(Type.String({ description: 'Stable error code of the failure.' })),
    durationMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const DiagnoseResult = Type.Object(
  {
    ok: Type.Boolean({ description: 'true when every step passed.' }),
    mailboxId: Type.String(),
    steps: Type.Array(DoctorStep, { description: 'token, permissions, imap_login, imap_folders, smtp_auth, in this order.' }),
  },
  { additionalProperties: false },
);

export const VerifyResult = Type.Object(
  {
    ok: Type.Boolean(),
    flow: Type.Union([Type.Literal('app_only'), Type.Literal('delegated')]),
    authority: Type.String(),
    roles: Type.Array(Type.String()),
    scopes: Type.Array(Type.String()),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: "The token's expiry (app-only)." }),
    credential: CredentialView,
    problems: Type.Array(DoctorProblem),
  },
  { additionalProperties: false },
);

export type DoctorSchemasAgree = [
  Check<Same<Static<typeof DoctorProblem>, DoctorProblemT>>,
  Check<Same<Static<typeof DoctorStepName>, DoctorStepNameT>>,
  Check<Same<Static<typeof DoctorStep>, DoctorStepT>>,
  Check<Same<Static<typeof DiagnoseResult>, DiagnoseResultT>>,
  Check<Same<Static<typeof VerifyResult>, VerifyResultT>>,
];

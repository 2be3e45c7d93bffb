/** Connection schemas: the API contract (api.md, Connections), checked against the domain's types (domain/connections/model.ts). */
import { Type, type Static } from 'typebox';
import type { ConnectionViewT, CreateConnectionInput, UpdateConnectionInput } from '../../domain/connections/model.js';
import type { Check, Same } from './same.js';

export const Flow = Type.Union([Type.Literal('app_only'), Type.Literal('delegated')], {
  description: '`app_only`: client credentials (a service principal with mailbox permission). `delegated`: a user signs in.',
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Secret = Type.String({ minLength: 1, maxLength: 1024, description: "The client secret's **Value** (not its Secret ID)." });
const AuthorityHost = Type.String({
  maxLength: 200,
  description: 'Identity platform host, for national clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn.',
  examples: ['https://login.microsoftonline.com'],
});

const LoginReturnTo = Type.Union([
  Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { minItems: 1, maxItems: 50, uniqueItems: true }),
  Type.Null(),
], {
  description:
    'The sign-in provider through this connection may send browsers back only under these origins or URL prefixes ' +
    '(`https://app.example.com`, `https://portal.example.com/auth/`; https, or http on localhost), as LOGIN_RETURN_TO_ALLOWLIST ' +
    'does for connections without a list of their own. null: LOGIN_RETURN_TO_ALLOWLIST.',
});

export const CreateConnectionBody = Type.Object(
  {
    name: Name,
    flow: Flow,
    tenantId: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()], {
      description: 'Directory (tenant) ID or a verified domain. Required for app_only and single-tenant apps; empty for a multi-tenant delegated app.',
    })),
    clientId: Type.String({ maxLength: 256, description: 'Application (client) ID.' }),
    clientSecret: Secret,
    authorityHost: Type.Optional(AuthorityHost),
    personalAccounts: Type.Optional(Type.Boolean({
      description: 'Multi-tenant delegated apps only: also accept personal Outlook.com accounts (authority `common`).',
    })),
    loginReturnTo: Type.Optional(LoginReturnTo),
  },
  { additionalProperties: false },
);

export const UpdateConnectionBody = Type.Object(
  {
    name: Type.Optional(Name),
    clientSecret: Type.Optional(Secret),
    loginReturnTo: Type.Optional(LoginReturnTo),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ConnectionView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    flow: Flow,
    tenantId: Type.Union([Type.String(), Type.Null()]),
    clientId: Type.String(),
    authorityHost: Type.String(),
    authority: Type.String({ description: 'The authority URL in use.' }),
    clientSecretHint: Type.String({ description: 'The last 4 characters of the client secret.' }),
    loginReturnTo: LoginReturnTo,
    secretUpdatedAt: Type.String({ format: 'date-time' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export type ConnectionSchemasAgree = [
  Check<Same<Static<typeof CreateConnectionBody>, CreateConnectionInput>>,
  Check<Same<Static<typeof UpdateConnectionBody>, UpdateConnectionInput>>,
  Check<Same<Static<typeof ConnectionView>, ConnectionViewT>>,
];

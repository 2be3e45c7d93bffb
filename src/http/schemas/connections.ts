/** Connection schemas: the API contract (api.md, Connections), checked against the domain's types (domain/connections/model.ts). */
import { Type, type Static } from 'typebox';
import type { ConnectionViewT, CreateConnectionInput, UpdateConnectionInput } from '../../domain/connections/model.js';
import type { Check, Same } from './same.js';
import { CERTIFICATE_PEM_MAX_CHARS } from '../../domain/connections/certificate.js';

export const Flow = Type.Union([Type.Literal('app_only'), Type.Literal('delegated')], {
  description: '`app_only`: client credentials (a service principal with mailbox permission). `delegated`: a user signs in.',
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Secret = Type.String({ minLength: 1, maxLength: 1024, description: "The client secret's **Value** (not its Secret ID)." });
const Certificate = Type.Object(
  {
    pem: Type.String({
      minLength: 1,
      maxLength: CERTIFICATE_PEM_MAX_CHARS,
      description: 'The certificate and its unencrypted RSA private key in PEM, possibly followed by its chain (cat cert.pem key.pem). The key is encrypted at rest and never returned.',
    }),
  },
  { additionalProperties: false, description: 'A certificate credential instead of a client secret: upload the same certificate (public part) to the app registration.' },
);
const Federated = Type.Object(
  {
    tokenFile: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'Absolute path of the token file, read anew for each token request. Default: AZURE_FEDERATED_TOKEN_FILE.',
      examples: ['/var/run/secrets/azure/tokens/azure-identity-token'],
    })),
  },
  { additionalProperties: false, description: 'Workload identity federation: the current token in the file is the client assertion.' },
);
const CredentialView = Type.Object(
  {
    type: Type.Union([Type.Literal('secret'), Type.Literal('certificate'), Type.Literal('federated')]),
    thumbprint: Type.Optional(Type.String({ description: "Certificates: the SHA-1 thumbprint (hex), as the portal's Certificates list shows it." })),
    expiresAt: Type.Optional(Type.String({
      format: 'date-time',
      description: "When the credential expires: read from a certificate; a secret's as given in credentialExpiresAt (absent: unknown). connection.credential_expiring warns 30, 7 and 1 day(s) ahead and at expiry.",
    })),
    tokenFile: Type.Optional(Type.String({ description: 'Federated: the token file given; absent: AZURE_FEDERATED_TOKEN_FILE.' })),
  },
  { additionalProperties: false, description: 'The credential in use, never its secret or key.' },
);
const CREDENTIALS = 'Exactly one of `clientSecret`, `certificate` and `federated`.';
const EXPIRES_AT_DESCRIPTION =
  "Client secrets only: when the secret expires (the Expires column under Certificates & secrets), RFC 3339 with a time zone. Shown as credential.expiresAt and warned of by connection.credential_expiring.";
const CredentialExpiresAt = Type.String({ minLength: 1, maxLength: 64, description: EXPIRES_AT_DESCRIPTION, examples: ['2027-05-31T00:00:00Z'] });
const ConsentedTenant = Type.Object(
  {
    tenantId: Type.String({ description: 'The tenant id Microsoft named when its administrator consented.' }),
    at: Type.String({ format: 'date-time', description: 'When (the latest consent of this tenant).' }),
  },
  { additionalProperties: false },
);

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
      description: 'Directory (tenant) ID or a verified domain of a single-tenant app. Empty (or, for app_only, `organizations`) for a multi-tenant app: a multi-tenant app_only connection serves mailboxes of customer tenants, each naming its tenantId.',
    })),
    clientId: Type.String({ maxLength: 256, description: 'Application (client) ID.' }),
    clientSecret: Type.Optional(Secret),
    certificate: Type.Optional(Certificate),
    federated: Type.Optional(Federated),
    credentialExpiresAt: Type.Optional(CredentialExpiresAt),
    authorityHost: Type.Optional(AuthorityHost),
    personalAccounts: Type.Optional(Type.Boolean({
      description: 'Multi-tenant delegated apps only: also accept personal Outlook.com accounts (authority `common`).',
    })),
    loginReturnTo: Type.Optional(LoginReturnTo),
  },
  { additionalProperties: false, description: CREDENTIALS },
);

export const UpdateConnectionBody = Type.Object(
  {
    name: Type.Optional(Name),
    clientSecret: Type.Optional(Secret),
    certificate: Type.Optional(Certificate),
    federated: Type.Optional(Federated),
    credentialExpiresAt: Type.Optional(Type.Union([CredentialExpiresAt, Type.Null()], {
      description: `${EXPIRES_AT_DESCRIPTION} With a new clientSecret: the new secret's expiry (a new secret without it has none); alone: the current secret's; null: unknown.`,
    })),
    loginReturnTo: Type.Optional(LoginReturnTo),
  },
  { additionalProperties: false, minProperties: 1, description: 'At most one of `clientSecret`, `certificate` and `federated`: the new credential, of the same kind or another.' },
);

export { CredentialView };

export const ConnectionView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    flow: Flow,
    tenantId: Type.Union([Type.String(), Type.Null()]),
    clientId: Type.String(),
    authorityHost: Type.String(),
    authority: Type.String({ description: 'The authority URL in use.' }),
    clientSecretHint: Type.Optional(Type.String({ description: 'Secrets only: the last 4 characters of the client secret.' })),
    credential: CredentialView,
    consentedTenants: Type.Array(ConsentedTenant, { description: 'Tenants whose administrator granted admin consent (POST /v1/connections/{id}/admin-consent), oldest first.' }),
    loginReturnTo: LoginReturnTo,
    secretUpdatedAt: Type.String({ format: 'date-time', description: 'When the credential (secret, certificate or token file) was last set.' }),
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

/** OAuth and sign-in schemas: the API contract of the authorize, callback, login and exchange routes. */
import { Type, type Static } from 'typebox';

export const AuthorizeResult = Type.Object(
  {
    authorizeUrl: Type.String({
      description: "Microsoft's sign-in page for the mailbox user. Open it in a private browser window; it works once, within 10 minutes.",
    }),
  },
  { additionalProperties: false },
);

/**
 * What Microsoft may put on the redirect: a code or an error, the state, and
 * a few informational fields. Bounded so garbage is a 400 page, not work.
 */
export const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    state: Type.Optional(Type.String({ maxLength: 128 })),
    error: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' })),
    error_description: Type.Optional(Type.String({ maxLength: 4096 })),
    error_uri: Type.Optional(Type.String({ maxLength: 2048 })),
    error_subcode: Type.Optional(Type.String({ maxLength: 128 })),
    session_state: Type.Optional(Type.String({ maxLength: 256 })),
    client_info: Type.Optional(Type.String({ maxLength: 4096 })),
    iss: Type.Optional(Type.String({ maxLength: 512 })),
    correlation_id: Type.Optional(Type.String({ maxLength: 128 })),
    trace_id: Type.Optional(Type.String({ maxLength: 128 })),
    admin_consent: Type.Optional(Type.String({ maxLength: 16 })),
    tenant: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type CallbackQueryT = Static<typeof CallbackQuery>;

export const LoginQuery = Type.Object(
  {
    returnTo: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: "Where to send the browser back with `?code=…`: an absolute URL under an origin or prefix of the connection's loginReturnTo (LOGIN_RETURN_TO_ALLOWLIST when it has none).",
    }),
  },
  { additionalProperties: false },
);
export type LoginQueryT = Static<typeof LoginQuery>;

export const LoginExchangeBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 128, description: 'The `code` the browser brought back to returnTo.' }) },
  { additionalProperties: false },
);
export type LoginExchangeBodyT = Static<typeof LoginExchangeBody>;

const Nullable = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const LoginClaimsView = Type.Object(
  {
    oid: Type.String({ description: "The user's object id in their tenant: the stable key for this person." }),
    tid: Type.String({ description: "The user's tenant id." }),
    email: Nullable('The email claim, when the account has one.'),
    name: Nullable('Display name.'),
    preferredUsername: Nullable('The sign-in name (usually the UPN). Not unique over time: key accounts by tid + oid.'),
    connectionId: Type.String({ description: 'The connection the sign-in went through: refuse identities that came through a connection you did not send the user to.' }),
    tenantId: Type.String({ description: "The tenant that verified the identity (the ID token's `tid`, the same value as `tid`)." }),
  },
  { additionalProperties: false },
);

export const AdminConsentStartQuery = Type.Object(
  { ticket: Type.String({ minLength: 1, maxLength: 128, description: 'The link\'s ticket.' }) },
  { additionalProperties: false },
);

export const AdminConsentBody = Type.Object(
  {
    tenant: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 256,
      description: "The customer's tenant (id or verified domain, such as customer.onmicrosoft.com). Default: the connection's tenantId, else organizations (the administrator's own tenant).",
    })),
  },
  { additionalProperties: false },
);
export type AdminConsentBodyT = Static<typeof AdminConsentBody>;

export const AdminConsentResult = Type.Object(
  {
    consentUrl: Type.String({
      description: "The link to send the tenant's administrator: it opens Microsoft's admin consent page and comes back to this service. Works for 7 days, in any browser, until a consent through it succeeds.",
    }),
    expiresAt: Type.String({ format: 'date-time', description: 'When the link stops working.' }),
  },
  { additionalProperties: false },
);

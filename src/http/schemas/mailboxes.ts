/** Mailbox schemas: the API contract (api.md, Mailboxes), checked against the domain's types (domain/mailboxes/model.ts). */
import { Type, type Static } from 'typebox';
import {
  TRACK_WINDOW_DEFAULT, TRACK_WINDOW_MAX, type TrackInputT, type TrackViewT,
  type CreateMailboxInput, type LastErrorT, type MailboxStateT, type MailboxViewT, type ServerOverrideT, type UpdateMailboxInput,
} from '../../domain/mailboxes/model.js';
import { MAILBOX_STATES, type MailboxSummaryT } from '../../domain/mailboxes/summary.js';
import type { FolderCursor as FolderCursorT } from '../../domain/polling/cursor.js';
import type { Check, Same } from './same.js';

const Host = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:\\[\\]-]+$' });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });

export const ServerOverride = Type.Object(
  { host: Host, port: Port, secure: Type.Boolean({ description: 'true: implicit TLS; false: STARTTLS (required).' }) },
  { additionalProperties: false },
);

export const Folder = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'A folder name (INBOX, Archive/2024) or a special use: \\Sent, \\Junk, \\Drafts, \\Trash, \\Archive.',
});

export const MailboxState = Type.Union([
  Type.Literal('active'),
  Type.Literal('pending_authorization'),
  Type.Literal('auth_error'),
  Type.Literal('throttled'),
  Type.Literal('error'),
  Type.Literal('paused'),
]);

/** The newest messages of each watched folder whose changes are followed, by default and at most. */

/** What `track` asks for; omitted members keep their current value (defaults: off, 1,000). */
export const TrackInput = Type.Object(
  {
    flags: Type.Optional(Type.Boolean({ description: 'Announce flag changes (\\Seen, \\Flagged, \\Answered, keywords) as message.updated.' })),
    deletions: Type.Optional(Type.Boolean({ description: 'Announce messages that leave a watched folder (deleted, moved out, expunged) as message.deleted.' })),
    window: Type.Optional(Type.Integer({
      minimum: 1, maximum: TRACK_WINDOW_MAX,
      description: `The newest messages of each watched folder that are followed (default ${TRACK_WINDOW_DEFAULT}); each poll looks at their flags.`,
    })),
  },
  { additionalProperties: false },
);

export const TrackView = Type.Object(
  { flags: Type.Boolean(), deletions: Type.Boolean(), window: Type.Integer() },
  { additionalProperties: false },
);

export const CreateMailboxBody = Type.Object(
  {
    connectionId: Type.String({ maxLength: 64 }),
    email: Type.String({ format: 'email', maxLength: 254, description: 'The mailbox opened over IMAP and SMTP (with signInAs: the shared mailbox).' }),
    tenantId: Type.Optional(Type.String({
      maxLength: 256,
      description: "The mailbox's Entra tenant (id or verified domain). Required on a multi-tenant app_only connection (the customer's tenant, " +
        "whose token opens it); on a single-tenant connection only its own tenant is accepted; refused on a multi-tenant delegated connection (the signed-in user's tenant is used).",
    })),
    signInAs: Type.Optional(Type.String({
      format: 'email', maxLength: 254,
      description: 'Delegated only: the account that signs in (an agent with Full Access to the shared mailbox `email`); mailsync opens `email` with its token. Default: `email` itself.',
    })),
    folders: Type.Optional(Type.Array(Folder, { minItems: 1, maxItems: 20, uniqueItems: true })),
    pollIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    imap: Type.Optional(ServerOverride),
    smtp: Type.Optional(ServerOverride),
    track: Type.Optional(TrackInput),
  },
  { additionalProperties: false },
);

export const UpdateMailboxBody = Type.Object(
  {
    folders: Type.Optional(Type.Array(Folder, {
      minItems: 1, maxItems: 20, uniqueItems: true,
      description: 'A folder added is watched from now: mail already in it is not announced. A folder removed loses its cursor.',
    })),
    pollIntervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    imap: Type.Optional(ServerOverride),
    smtp: Type.Optional(ServerOverride),
    track: Type.Optional(TrackInput),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const LastError = Type.Object(
  {
    code: Type.String(),
    detail: Type.String(),
    hint: Type.Optional(Type.String()),
    setupStep: Type.Optional(Type.String()),
    note: Type.Optional(Type.String({ description: 'Why mailsync keeps retrying, e.g. a connection changed moments ago.' })),
    at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export const FolderCursor = Type.Object(
  {
    uidValidity: Type.Integer(),
    uidNext: Type.Integer(),
    lastSeenUid: Type.Integer(),
    uidValidityChangedAt: Type.Optional(Type.String({
      format: 'date-time',
      description: 'When the folder last changed UIDVALIDITY: mailsync then took a new baseline without announcing the folder again.',
    })),
    suspectUntil: Type.Optional(Type.Integer({
      description: 'A FETCH of messages up to this UID answered more than mailsync accepts: polls fetch them one at a time until they are past it.',
    })),
    tooLargeUid: Type.Optional(Type.Integer({
      description: 'This message\'s envelope alone was too large: the next poll announces it by UID and size only (envelopeTooLarge).',
    })),
  },
  { additionalProperties: false },
);

export const MailboxView = Type.Object(
  {
    id: Type.String(),
    connectionId: Type.String(),
    email: Type.String(),
    tenantId: Type.Union([Type.String(), Type.Null()], {
      description: "The mailbox's Entra tenant: its connection's, the customer tenant it names, or (multi-tenant delegated) the signed-in user's once signed in.",
    }),
    signInAs: Type.Union([Type.String(), Type.Null()], { description: 'The account that signs in for a shared mailbox; null: the mailbox itself.' }),
    flow: Type.Union([Type.Literal('app_only'), Type.Literal('delegated')]),
    folders: Type.Array(Type.String()),
    pollIntervalSeconds: Type.Integer(),
    imap: ServerOverride,
    smtp: ServerOverride,
    track: TrackView,
    state: MailboxState,
    authorizeUrl: Type.Optional(Type.String({ description: 'Delegated mailboxes awaiting sign-in: open it in a private browser window as the mailbox user.' })),
    account: Type.Union([
      Type.Object({ username: Type.String(), authorizedAt: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
      Type.Null(),
    ]),
    lastPollAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    nextPollAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    lastError: Type.Union([LastError, Type.Null()]),
    folderState: Type.Record(Type.String(), FolderCursor),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

export type MailboxSchemasAgree = [
  Check<Same<Static<typeof TrackInput>, TrackInputT>>,
  Check<Same<Static<typeof TrackView>, TrackViewT>>,
  Check<Same<Static<typeof ServerOverride>, ServerOverrideT>>,
  Check<Same<Static<typeof MailboxState>, MailboxStateT>>,
  Check<Same<Static<typeof CreateMailboxBody>, CreateMailboxInput>>,
  Check<Same<Static<typeof UpdateMailboxBody>, UpdateMailboxInput>>,
  Check<Same<Static<typeof LastError>, LastErrorT>>,
  Check<Same<Static<typeof MailboxView>, MailboxViewT>>,
  Check<Same<Static<typeof FolderCursor>, FolderCursorT>>,
];

const Count = Type.Integer({ minimum: 0 });

export const MailboxSummary = Type.Object(
  {
    total: Count,
    byState: Type.Object(
      Object.fromEntries(Object.keys(MAILBOX_STATES).map((state) => [state, Count])) as Record<MailboxStateT, typeof Count>,
      { additionalProperties: false },
    ),
    overdue: Type.Integer({ minimum: 0, description: 'Mailboxes whose poll is due more than one poll interval ago.' }),
    workers: Type.Integer({ minimum: 0, description: 'Worker processes whose heartbeat is under 15 s old.' }),
  },
  { additionalProperties: false },
);

export type MailboxSummaryAgrees = Check<Same<Static<typeof MailboxSummary>, MailboxSummaryT>>;

/**
 * The wire format of the folder and acting-on-mail routes (api.md, "Folders"
 * and "Acting on a message"): TypeBox schemas, validated before the handler
 * runs. The domain (domain/messages/actions.ts, mail-folders.ts) checks what
 * a schema cannot say (a folder path's levels).
 */
import { Type, type Static } from 'typebox';
import { DEFAULT_FOLDER } from '../../domain/messages/model.js';
import { Uid } from './messages.js';

/** The most UIDs one bulk request names: one IMAP command's worth. */
export const MAX_BULK_UIDS = 1_000;

const FolderName = (description: string) => Type.String({ minLength: 1, maxLength: 1000, description });

const SourceFolder = FolderName('The folder the message is in: a path as IMAP lists it (INBOX, Archive/2024) or a special use (\\Sent, \\Junk, \\Drafts, \\Trash, \\Archive). Default INBOX.');
const TargetFolder = FolderName('The folder to move to: a path as GET …/folders lists it, or a special use (\\Archive, \\Junk, \\Trash…).');

const SpecialUse = Type.Union([Type.String({ description: '\\Inbox, \\Sent, \\Trash, \\Junk, \\Drafts, \\Archive, \\All, \\Flagged' }), Type.Null()]);

export const FolderView = Type.Object(
  {
    path: Type.String({ description: 'The full path, levels joined by the delimiter: what other routes take as `folder`.' }),
    name: Type.String({ description: 'The last level of the path.' }),
    delimiter: Type.String({ description: 'The hierarchy separator (Exchange: /).' }),
    specialUse: SpecialUse,
    watched: Type.Boolean({ description: 'The mailbox polls this folder (its `folders` name it by path or special use).' }),
    messages: Type.Optional(Type.Integer({ minimum: 0, description: 'With ?counts=true: messages in the folder (STATUS).' })),
    unseen: Type.Optional(Type.Integer({ minimum: 0, description: 'With ?counts=true: messages without \\Seen.' })),
  },
  { additionalProperties: false },
);

export const FolderList = Type.Object({ folders: Type.Array(FolderView) }, { additionalProperties: false });

export const FolderListQuery = Type.Object(
  {
    counts: Type.Optional(Type.Boolean({
      default: false,
      description: 'Also `messages` and `unseen` per folder: one STATUS each, so slower (the first 1,000 selectable folders).',
    })),
  },
  { additionalProperties: false },
);

export const CreateFolderBody = Type.Object(
  {
    path: Type.String({
      minLength: 1, maxLength: 2000,
      description: 'Levels separated by / (Processed/2026), UTF-8; no empty level, control character, * or %, nor spaces around a level.',
    }),
  },
  { additionalProperties: false },
);
export type CreateFolderBodyT = Static<typeof CreateFolderBody>;

export const ActionQuery = Type.Object({ folder: Type.Optional({ ...SourceFolder, default: DEFAULT_FOLDER }) }, { additionalProperties: false });

export const DeleteQuery = Type.Object(
  {
    folder: Type.Optional({ ...SourceFolder, default: DEFAULT_FOLDER }),
    permanent: Type.Optional(Type.Boolean({
      default: false,
      description: 'true: remove the message for good (\\Deleted, then UID EXPUNGE of this UID only), answered 204. Default: move it to \\Trash.',
    })),
  },
  { additionalProperties: false },
);

export const FlagsBody = Type.Object(
  {
    seen: Type.Optional(Type.Boolean({ description: 'Set (true) or clear (false) \\Seen: read or unread.' })),
    flagged: Type.Optional(Type.Boolean({ description: 'Set or clear \\Flagged (Outlook\'s flag).' })),
    answered: Type.Optional(Type.Boolean({ description: 'Set or clear \\Answered.' })),
  },
  { additionalProperties: false, minProperties: 1, description: 'At least one of seen, flagged, answered; the others are left as they are.' },
);

export const FlagsResult = Type.Object(
  {
    folder: Type.String(),
    uid: Uid,
    flags: Type.Array(Type.String(), { description: 'The message\'s flags as the server has them after the change.' }),
  },
  { additionalProperties: false },
);

export const MoveBody = Type.Object({ to: TargetFolder }, { additionalProperties: false });

export const MoveResult = Type.Object(
  {
    folder: Type.String({ description: 'The folder the message is in now (a special use resolved to its path).' }),
    uid: Type.Union([Uid, Type.Null()], { description: 'Its UID there, or null when the server did not say (no or an unreadable COPYUID).' }),
  },
  { additionalProperties: false },
);

export const BulkBody = Type.Object(
  {
    folder: Type.Optional({ ...SourceFolder, default: DEFAULT_FOLDER }),
    uids: Type.Array(Uid, { minItems: 1, maxItems: MAX_BULK_UIDS, uniqueItems: true, description: 'The messages, by UID in `folder`: 1 to 1,000, each once.' }),
    seen: Type.Optional(Type.Boolean()),
    flagged: Type.Optional(Type.Boolean()),
    moveTo: Type.Optional(TargetFolder),
    delete: Type.Optional(Type.Union([Type.Literal(true), Type.Literal('permanent')], {
      description: 'true: move to \\Trash; "permanent": remove for good (UID EXPUNGE of these UIDs only). Not with moveTo.',
    })),
  },
  { additionalProperties: false },
);
export type BulkBodyT = Static<typeof BulkBody>;

export const BulkResult = Type.Object(
  {
    done: Type.Array(Uid, { description: 'UIDs every requested action was applied to, ascending.' }),
    missing: Type.Array(Uid, { description: 'UIDs the folder does not hold (never there, or moved or expunged meanwhile), ascending.' }),
  },
  { additionalProperties: false },
);

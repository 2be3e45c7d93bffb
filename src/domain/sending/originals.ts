/**
 * Replies and forwards (issue 17): `reply: { uid, folder, all? }` or
 * `forward: { uid, folder }` name a message of the sending mailbox; at
 * acceptance mailsync reads it and fills in what a mail client would:
 * - reply: In-Reply-To (its Message-ID), References (its References and its
 *   Message-ID, the last 100), subject "Re: …" and `to` (its Reply-To, else
 *   its From) when omitted; `all` adds its other recipients as `cc`, without
 *   the mailbox's own addresses or those already in `to`;
 * - forward: subject "Fwd: …" when omitted, the original attached whole
 *   (`message/rfc822`); the recipients are the request's.
 * Once sent, the worker marks the original \Answered (reply) or $Forwarded
 * (forward), best effort: a failure there is logged, the message stays sent.
 * An original that is gone is a 400 at acceptance, pointing at `/reply/uid`
 * or `/forward/uid`.
 */
import { AppError, ValidationError } from '../../errors/errors.js';
import type { MessageViewT } from '../messages/model.js';
import type { SendInput } from './model.js';

/** What replying and forwarding need of the mailbox's messages (the message reader and actions). */
export interface OriginalMessages {
  /** The message, parsed; AppError `message_not_found` when it is not there. */
  get(mailboxId: string, uid: number, folder: string): Promise<MessageViewT>;
  /** Its source, at most `maxBytes` (AppError `message_too_large` past it). */
  source(mailboxId: string, uid: number, folder: string, maxBytes: number): Promise<Buffer>;
  /** Adds a flag to it (\Answered, $Forwarded). */
  mark(mailboxId: string, uid: number, folder: string, flag: string): Promise<void>;
}

/** Which original a sent message answers, and the flag it gets once sent. */
export interface OriginalRef {
  folder: string;
  uid: number;
  flag: '\\Answered' | '$Forwarded';
}

const MAX_REFERENCES = 100;

const prefixed = (prefix: 'Re' | 'Fwd', subject: string | null): string => {
  // As a subject it is sent again: no line breaks or other control characters (the request's own would be refused).
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  const text = (subject ?? '').replace(/[\x00-\x08\x0A-\x1F\x7F]+/g, ' ').trim().slice(0, 990);
  const already = prefix === 'Re' ? /^re\s*:/i : /^(fwd?|fw)\s*:/i;
  return already.test(text) ? text : `${prefix}: ${text}`;
};

const bare = (list: readonly { address: string | null }[]): string[] =>
  list.map((a) => a.address).filter((a): a is string => a !== null && a !== '');

/** The request with the reply's fields filled in from the original. */
export function replyInput(input: SendInput, original: MessageViewT, own: readonly string[]): SendInput {
  const mine = new Set(own.map((a) => a.toLowerCase()));
  const references = [...original.references, ...(original.messageId ? [original.messageId] : [])].slice(-MAX_REFERENCES);
  const to = input.to ?? bare(original.replyTo.length > 0 ? original.replyTo : original.from).filter((a) => !mine.has(a.toLowerCase()));
  const cc = input.cc ?? (input.reply?.all
    ? [...new Set(bare([...original.to, ...original.cc]).map((a) => a.toLowerCase()))].filter((a) => !mine.has(a) && !to.some((t) => t.toLowerCase() === a))
    : undefined);
  return {
    ...input,
    to,
    ...(cc !== undefined && cc.length > 0 ? { cc } : {}),
    subject: input.subject ?? prefixed('Re', original.subject),
    ...(original.messageId ? { inReplyTo: input.inReplyTo ?? original.messageId } : {}),
    ...(references.length > 0 ? { references: input.references ?? references } : {}),
  };
}

/** The request with the forward's subject and the original attached. */
export function forwardInput(input: SendInput, original: MessageViewT, source: Buffer): SendInput {
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  const name = (original.subject ?? 'message').replace(/[\x00-\x1F\x7F/\\]/g, ' ').trim().slice(0, 200) || 'message';
  return {
    ...input,
    subject: input.subject ?? prefixed('Fwd', original.subject),
    attachments: [...(input.attachments ?? []), { filename: `${name}.eml`, contentType: 'message/rfc822', content: source.toString('base64') }],
  };
}

/** Reads the original a request names and fills the request in; undefined `ref` when it names none. */
export async function withOriginal(
  input: SendInput, mailbox: { id: string; email: string }, originals: OriginalMessages | undefined, maxBytes: number,
): Promise<{ input: SendInput; ref?: OriginalRef }> {
  const wanted = input.reply ?? input.forward;
  if (!wanted) return { input };
  const at = input.reply ? '/reply' : '/forward';
  if (input.reply && input.forward) throw new ValidationError('Reply or forward, not both.', [{ field: '/forward', message: 'cannot be combined with reply' }]);
  if (input.raw !== undefined) throw new ValidationError('raw is the whole message: it cannot reply or forward.', [{ field: at, message: 'cannot be combined with raw' }]);
  if (!originals) throw new AppError('internal', 'Replying and forwarding need the message reader.');
  const gone = (err: unknown): never => {
    if (err instanceof AppError && err.code === 'message_not_found') {
      throw new ValidationError(`Message ${wanted.uid} is not in ${wanted.folder} of ${mailbox.email} (deleted or moved?).`, [
        { field: `${at}/uid`, message: `no message with UID ${wanted.uid} in ${wanted.folder}` },
      ]);
    }
    throw err;
  };
  const original = await originals.get(mailbox.id, wanted.uid, wanted.folder).catch(gone);
  const own = [mailbox.email, ...(input.from ? [input.from.address] : [])];
  if (input.reply) return { input: replyInput(input, original, own), ref: { folder: wanted.folder, uid: wanted.uid, flag: '\\Answered' } };
  const source = await originals.source(mailbox.id, wanted.uid, wanted.folder, maxBytes).catch(gone);
  return { input: forwardInput(input, original, source), ref: { folder: wanted.folder, uid: wanted.uid, flag: '$Forwarded' } };
}

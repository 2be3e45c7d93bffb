/**
 * The content of a message about to be announced, for the consumers that
 * asked for it (webhook `include`): downloaded (BODY.PEEK[], so \Seen stays
 * as it was) and parsed once, whatever the number of consumers.
 *
 * Content never holds an announcement back: a message too large to parse is
 * announced without it (`too_large`, decided on RFC822.SIZE before any
 * download, and again by counting the bytes, as the server's size is only its
 * word), one the parser gives up on as `unparseable`, one expunged meanwhile
 * or whose download failed as `unavailable`. A download that fails on a
 * session that was fine before it costs that message its content, not the
 * poll; a session already broken fails the poll as any command would (the
 * next poll announces the rest), so one broken connection cannot strip the
 * content from a whole batch.
 */
import type { Readable } from 'node:stream';
import type { ParsedMessage, ParseLimits } from '../../adapters/mail/parse.js';
import { AppError } from '../../errors/errors.js';
import type { MessageSummary } from '../events/events.js';
import { messageContent, type ContentOmittedReason, type EventContent } from '../events/message-content.js';

/** What fetching content needs beside the session: the MIME parser and its limit. */
export interface ContentPorts {
  parse(source: Readable, limits: ParseLimits): Promise<ParsedMessage>;
  /** Largest message downloaded and parsed, in bytes (MESSAGE_PARSE_MAX_BYTES). */
  maxBytes: number;
}

/** What fetching content needs of the poll's IMAP session. */
export interface ContentSession {
  /** Connected and logged in. */
  readonly usable: boolean;
  /** The source of a message of the selected folder's path, at most `maxBytes`; undefined when it is gone. */
  download(path: string, uid: number, maxBytes: number): Promise<Readable | undefined>;
}

const omitted = (reason: ContentOmittedReason): EventContent => ({ ok: false, omitted: reason });

export async function fetchContent(session: ContentSession, path: string, envelope: MessageSummary, ports: ContentPorts): Promise<EventContent> {
  if (envelope.size !== null && envelope.size > ports.maxBytes) return omitted('too_large');
  const wasUsable = session.usable;
  let source: Readable | undefined;
  try {
    // One byte more than the limit: a message the server under-reported then fails the parser's count.
    source = await session.download(path, envelope.uid, ports.maxBytes + 1);
  } catch (err) {
    if (!wasUsable) throw err;
    return omitted('unavailable');
  }
  if (!source) return omitted('unavailable');
  try {
    return { ok: true, content: messageContent(await ports.parse(source, { maxBytes: ports.maxBytes })) };
  } catch (err) {
    if (err instanceof AppError && err.code === 'message_too_large') return omitted('too_large');
    if (err instanceof AppError && err.code === 'message_unparseable') return omitted('unparseable');
    // The download failed midway (its error reaches the parser through the stream).
    return omitted('unavailable');
  }
}

/**
 * POST /v1/send, GET and DELETE /v1/send/{id}: accepting a message, reporting
 * on it and canceling it. Accepting validates, then stores the message encrypted, its status,
 * its Idempotency-Key claim and its id in the outbox in one atomic step; a
 * worker takes the id from the outbox and queues the BullMQ job (send id
 * only). The answer (202 `{ id, status: 'queued' }`) waits for neither the
 * job nor SMTP: one Redis round trip, and no window in which a stored
 * message has no way to a worker.
 *
 * Idempotency: the claim `<body hash> <send id>` (a keyed hash, see
 * idempotency.ts) is written in the same script that stores the message,
 * and only when the key has none, so of N
 * concurrent requests with one key exactly one stores a message; the others
 * read its claim and answer the same id (or 422 for another body). There is
 * no window where a claim exists without its message. A retry is not looked
 * up first: that cost every keyed request a round trip (bench/send with a key
 * per request: 32 % of the bare route with the lookup, 38 % without), while
 * a retry only costs the encryption and the content written and deleted again
 * inside the accept transaction.
 *
 * Scheduling: a message with a `sendAt` in the future is accepted the same
 * way, as `scheduled`: kept in the scheduled set by its time instead of the
 * outbox, until a worker's sweeper moves it to the queue (SendingJobs). A
 * `sendAt` not in the future is sent at once. Canceling (DELETE) is one
 * script: a `scheduled` or `queued` message becomes `canceled` and its content
 * is deleted; one a worker has begun (`sending`) or finished is a 409, since
 * it may already be on its way.
 */
import { AppError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { SendRecord, SendStore } from '../../store/send-store.js';
import { newId } from '../ids.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import type { KeyRing } from '../../crypto/subkeys.js';
import { BodyHasher, IDEMPOTENCY_TTL_SECONDS, idempotencyKeyDigest } from './idempotency.js';
import { encodeStored, newMessageId, storedMessage } from './message.js';
import type { SendAcceptedT, SendInput, SendViewT } from './model.js';
import { NO_DECODED_PARTS, type MessageParts } from './parts.js';
import { withOriginal, type OriginalMessages } from './originals.js';
import { checkSend, dueAt, type SendLimits } from './validate.js';

/**
 * A sender looked up in the last SENDER_CACHE_MS is not read from Redis again: under load the
 * lookup is one Redis round trip per message for a record that rarely changes. The cost: a
 * message for a mailbox deleted in that moment is accepted, and fails in the worker (not_found).
 */
const SENDER_CACHE_MS = 2_000;
const SENDER_CACHE_MAX = 10_000;

export interface SendServiceDeps {
  store: SendStore;
  mailboxes: Pick<MailboxService, 'get'>;
  limits: SendLimits;
  /** The keys of the idempotency body hash, derived from ENCRYPTION_KEY (IDEMPOTENCY_KEY_INFO). */
  idempotencyKeys: KeyRing;
  /** The mailbox's messages, for replies and forwards (the message reader). */
  originals?: OriginalMessages;
  now?: () => Date;
}

export function toSendView(record: SendRecord): SendViewT {
  return {
    id: record.id,
    mailboxId: record.mailboxId,
    status: record.status,
    attempts: record.attempts,
    messageId: record.messageId,
    smtpResponse: record.smtpResponse,
    error: record.error,
    rejectedRecipients: record.rejectedRecipients,
    bounces: record.bounces,
    contentReleasedAt: record.contentReleasedAt,
    ...(record.sendAt ? { sendAt: record.sendAt } : {}),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export class SendService {
  private readonly now: () => Date;
  private readonly senders = new Map<string, { mailbox: MailboxRecord; until: number }>();
  private readonly bodies: BodyHasher;

  constructor(private readonly deps: SendServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.bodies = new BodyHasher(deps.idempotencyKeys);
  }

  /**
   * `parts`: the base64 fields the HTTP layer decoded as the body streamed in (placeholders in
   * `request` name them); without it every base64 field is text.
   */
  async accept(request: SendInput, idempotencyKey?: string, parts: MessageParts = NO_DECODED_PARTS): Promise<SendAcceptedT> {
    // The request is checked before anything is read (a reply's recipients may come from its
    // original); a reply or forward is then filled in from the original and checked whole.
    const replying = request.reply !== undefined || request.forward !== undefined;
    const first = checkSend(request, this.deps.limits, { recipientsLater: request.reply !== undefined, parts });
    const dueMs = dueAt(request.sendAt, this.now().getTime());
    const mailbox = await this.sender(request.mailboxId);
    const { input, ref } = await withOriginal(request, mailbox, this.deps.originals, this.deps.limits.maxMessageBytes);
    const checked = replying ? checkSend(input, this.deps.limits, { parts }) : first;
    const claim = idempotencyKey === undefined
      ? undefined
      : { keyDigest: idempotencyKeyDigest(idempotencyKey), bodyHash: this.bodies.hash(request, parts), ttlSeconds: IDEMPOTENCY_TTL_SECONDS };
    const at = this.now();
    const id = newId('snd');
    // A raw message keeps its own Message-ID; mailsync's names the send (bounces are matched by it).
    const messageId = checked.rawMessageId ?? newMessageId(mailbox.email, id);
    // A scheduled message is dated when it goes out (RFC 5322: when it was ready to enter the mail
    // system), as mail clients' own scheduled sends are, not weeks earlier when it was accepted.
    const content = encodeStored(storedMessage(input, mailbox.email, messageId, dueMs === undefined ? at : new Date(dueMs), checked.rawRecipients, ref, parts));
    const sendAt = input.sendAt === undefined ? null : new Date(Date.parse(input.sendAt)).toISOString();
    const result = await this.deps.store.accept(
      { id, mailboxId: mailbox.id, recipients: checked.recipients, messageId, createdAt: at.toISOString(), sendAt, dueMs }, content, claim);
    if (!result.created) return replay(result, this.bodies.matches(result.bodyHash, claim!.bodyHash, request, parts));
    return { id, status: dueMs === undefined ? 'queued' : 'scheduled' };
  }

  /**
   * Cancels a message no worker has taken: 200 with the view (`canceled`, also when it already
   * was); 409 send_not_cancelable once it is sending, sent or failed; 404 for an unknown id.
   */
  async cancel(sendId: string): Promise<SendViewT> {
    const record = await this.deps.store.cancel(sendId, this.now());
    if (!record) throw new NotFoundError('Message', sendId);
    if (record.status !== 'canceled') {
      throw new AppError('send_not_cancelable', `Message ${sendId} is ${record.status}: only a scheduled or queued message can be canceled.`, {
        hint: record.status === 'sending'
          ? 'A worker is handing it to the mail server now: it may already be delivered. GET /v1/send/{id} shows how it ends.'
          : 'It is finished; GET /v1/send/{id} shows how it ended. Cancel before a worker takes the message, e.g. schedule it with sendAt.',
        fields: { sendId, sendStatus: record.status },
      });
    }
    return toSendView(record);
  }

  async view(sendId: string): Promise<SendViewT> {
    const record = await this.deps.store.get(sendId);
    if (!record) throw new NotFoundError('Message', sendId);
    return toSendView(record);
  }

  private async sender(mailboxId: string): Promise<MailboxRecord> {
    const at = this.now().getTime();
    let entry = this.senders.get(mailboxId);
    if (!entry || entry.until <= at) {
      if (this.senders.size >= SENDER_CACHE_MAX) this.senders.clear();
      entry = { mailbox: await this.lookUp(mailboxId), until: at + SENDER_CACHE_MS };
      this.senders.set(mailboxId, entry);
    }
    const { mailbox } = entry;
    if (mailbox.state === 'pending_authorization') {
      throw new AppError('not_authorized', `Mailbox ${mailbox.id} has not been signed in yet: it cannot send.`, {
        hint: 'Sign in as the mailbox user first: POST /v1/mailboxes/{id}/authorize and open the URL in a private browser window.',
        step: 'user_sign_in',
      });
    }
    return mailbox;
  }

  private async lookUp(mailboxId: string): Promise<MailboxRecord> {
    try {
      return await this.deps.mailboxes.get(mailboxId);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new ValidationError(`Mailbox ${mailboxId} does not exist.`, [{ field: '/mailboxId', message: 'no such mailbox' }]);
      }
      throw err;
    }
  }
}

/** The first response again for the same body; 422 for another one. */
function replay(claim: { sendId: string; status: SendAcceptedT['status'] }, sameBody: boolean): SendAcceptedT {
  if (!sameBody) {
    throw new AppError('idempotency_mismatch', 'This Idempotency-Key was used for a different request body in the last 24 hours.', {
      hint: 'Use a new Idempotency-Key for a new message; retry a message with exactly the body first sent with its key.',
      fields: { sendId: claim.sendId },
    });
  }
  return { id: claim.sendId, status: claim.status };
}

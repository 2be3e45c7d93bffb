/**
 * One go at a queued message, as a worker runs it. The order matters:
 *
 * 1. A finished message (a job run again after its worker died between
 *    recording the outcome and completing the job) only announces its
 *    outcome again: event ids are derived from the send id, so a receiver
 *    gets it once. A canceled message (or a scheduled one, not due yet) is
 *    left alone; the begin script starts no attempt on either, so a cancel
 *    that comes between this look and the attempt still wins.
 * 2. The mailbox's rate windows: over the limit, the message waits (the
 *    caller delays the job) without counting an attempt; so it does while
 *    other workers hold every SMTP connection slot of the mailbox (Exchange
 *    allows 3 connections per mailbox at once).
 * 3. The attempt is counted before anything can fail, so a message that
 *    keeps killing its worker still ends (maxAttempts).
 * 4. `submitting` is recorded just before SMTP and cleared with the outcome,
 *    which is recorded at once after the server's answer: the only window in
 *    which a message can be submitted twice is between the server's 250 and
 *    that write. A later attempt that finds the marker logs the possible
 *    duplicate (same Message-ID).
 * 5. A 535 gets one fresh token and one more try (Exchange answers 535 at
 *    once, so nodemailer never renews a token by itself); other failures are
 *    transient or permanent as classifySmtpFailure (or, for token failures,
 *    classify) says: transient ones are retried with exponential backoff and
 *    jitter, permanent ones fail at once with their code and hint.
 * 6. An outcome that cannot be announced because Redis is full (storage_full)
 *    is announced again later: the job is delayed, not failed, so BullMQ's
 *    attempts are not used up and the event is not dropped however long the
 *    incident lasts (the outcome is recorded; the next go only announces).
 */
import { createHash } from 'node:crypto';
import type { SmtpSendPool, SmtpSent, SmtpTarget } from '../../adapters/smtp/send-pool.js';
import { classify } from '../../errors/classify.js';
import { AppError, NotFoundError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RejectedRecipientInfo, SendFailureInfo, SendRecord, SendStore } from '../../store/send-store.js';
import type { SendRateLimiter } from '../../store/send-rate-limiter.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import type { MailboxTokens } from '../mailboxes/mailbox-tokens.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import { retryDelayMs } from '../webhooks/retry-schedule.js';
import { decodeStored, outgoingMail } from './message.js';
import type { OriginalMessages, OriginalRef } from './originals.js';

export type DeliveryOutcome =
  | { kind: 'sent' | 'failed' | 'done' }
  /** Rate limited: try again in `delayMs`, not an attempt. */
  | { kind: 'wait'; delayMs: number }
  /** A transient failure: try again in `delayMs`. */
  | { kind: 'retry'; delayMs: number };

export interface DeliveryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  throttleDelayMs: number;
  maxAttempts: number;
}

export interface DeliveryDeps {
  store: SendStore;
  limiter: Pick<SendRateLimiter, 'reserve'>;
  mailboxes: Pick<MailboxService, 'get'>;
  tokens: Pick<MailboxTokens, 'tokenFor'>;
  smtp: Pick<SmtpSendPool, 'send' | 'drop'> & Partial<Pick<SmtpSendPool, 'reserve'>>;
  events: EventPublisher;
  /** Flags a reply's or forward's original once it is sent. */
  originals?: Pick<OriginalMessages, 'mark'>;
  metrics?: Pick<Metrics, 'sends'>;
  logger: Logger;
  policy: DeliveryPolicy;
  now?: () => number;
  random?: () => number;
}

/** How long a message waits, at least, while other workers hold every SMTP connection slot of its mailbox. */
export const SLOT_WAIT_MS = 1_000;

/** Stable per message and outcome: announcing twice delivers once. */
/** How long a message whose outcome could not be announced (Redis full) waits before announcing again. */
export const ANNOUNCE_RETRY_MS = 5_000;

export function sendEventId(type: 'message.sent' | 'message.failed', sendId: string): string {
  return `evt_${createHash('sha256').update(`${type}\n${sendId}`).digest('base64url').slice(0, 32)}`;
}

function failureInfo(err: unknown): SendFailureInfo {
  const c = classify(err);
  return { code: c.code, detail: c.detail, ...(c.hint ? { hint: c.hint } : {}) };
}

/** classifySmtpFailure's verdict when the error came from SMTP; classify's otherwise. */
function isTransient(err: unknown): boolean {
  if (err instanceof AppError && typeof err.fields.transient === 'boolean') return err.fields.transient;
  return classify(err).retryable;
}

/** The refused recipients the SMTP adapter attached to an "all recipients were rejected" failure. */
function rejectedOf(e: unknown): RejectedRecipientInfo[] {
  return e instanceof AppError ? (e.fields.rejectedRecipients as RejectedRecipientInfo[] | undefined) ?? [] : [];
}

export class Delivery {
  private readonly now: () => number;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
  }

  async run(sendId: string): Promise<DeliveryOutcome> {
    const { store } = this.deps;
    const record = await store.get(sendId);
    if (!record || record.status === 'canceled' || record.status === 'scheduled') return { kind: 'done' };
    if (record.status === 'sent' || record.status === 'failed') return this.announce(record);
    const wait = await this.deps.limiter.reserve(record.mailboxId, sendId, record.recipients);
    if (wait > 0) return { kind: 'wait', delayMs: wait + Math.round(250 * (this.deps.random ?? Math.random)()) };
    if (this.deps.smtp.reserve && !(await this.deps.smtp.reserve(record.mailboxId))) {
      return { kind: 'wait', delayMs: SLOT_WAIT_MS + Math.round(SLOT_WAIT_MS * (this.deps.random ?? Math.random)()) };
    }

    const begun = await store.begin(sendId, new Date(this.now()));
    if (!begun) return { kind: 'done' };
    if (begun.status === 'sent' || begun.status === 'failed') return this.announce(begun);
    // Canceled (or scheduled again) since the look above: no attempt was started.
    if (begun.status !== 'sending') return { kind: 'done' };
    const log = this.deps.logger.child({ sendId, mailboxId: begun.mailboxId });
    if (begun.submitting) {
      log.warn({ attempt: begun.attempts, previous: begun.submitting }, 'the previous attempt died while submitting: sending again (a possible duplicate, with the same Message-ID)');
    }
    if (begun.attempts > this.deps.policy.maxAttempts) {
      return this.fail(begun, begun.error ?? { code: 'internal', detail: `Gave up after ${this.deps.policy.maxAttempts} attempts.` }, []);
    }
    let sent: SmtpSent;
    let original: OriginalRef | undefined;
    try {
      ({ sent, original } = await this.submit(begun));
    } catch (e) {
      return this.failed(begun, e, log);
    }
    // Submitted: only recording it is left. Should that fail for good, the job fails, BullMQ
    // runs it again, and that attempt finds `submitting` set (a possible duplicate, logged).
    await this.record(() => store.finish(sendId, { status: 'sent', smtpResponse: sent.response, error: null, rejectedRecipients: sent.rejected }, new Date(this.now())));
    this.deps.metrics?.sends.inc({ result: 'sent' });
    if (sent.rejected.length > 0) log.info({ rejected: sent.rejected.length }, 'message sent; some recipients were refused');
    if (original) await this.markOriginal(begun.mailboxId, original, log);
    return this.announce({ ...begun, status: 'sent', smtpResponse: sent.response, rejectedRecipients: sent.rejected }, 'sent');
  }

  /** A reply's original gets \Answered, a forward's $Forwarded: best effort, the message is sent either way. */
  private async markOriginal(mailboxId: string, original: OriginalRef, log: Logger): Promise<void> {
    try {
      await this.deps.originals?.mark(mailboxId, original.uid, original.folder, original.flag);
    } catch (err) {
      log.warn({ err, uid: original.uid, flag: original.flag }, 'sent, but the original could not be flagged');
    }
  }

  private async submit(record: SendRecord): Promise<{ sent: SmtpSent; original: OriginalRef | undefined }> {
    const mailbox = await this.deps.mailboxes.get(record.mailboxId).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new AppError('not_found', `Mailbox ${record.mailboxId} was deleted before the message was sent.`) : e;
    });
    const content = await this.deps.store.content(record.id);
    if (!content) throw new AppError('not_found', 'The message content is no longer stored.');
    const stored = decodeStored(content);
    const mail = outgoingMail(stored, record.id);
    const target = this.target(mailbox);
    let token = await this.deps.tokens.tokenFor(mailbox.id);
    await this.deps.store.markSubmitting(record.id, `${record.attempts}:${this.now()}`);
    try {
      return { sent: await this.deps.smtp.send(target, token, mail), original: stored.original };
    } catch (e) {
      if (!(e instanceof AppError && (e.code === 'smtp_auth_failed' || e.code === 'shared_mailbox_access_denied'))) throw e;
      this.deps.smtp.drop(mailbox.id);
      token = await this.deps.tokens.tokenFor(mailbox.id, { forceRefresh: true });
      return { sent: await this.deps.smtp.send(target, token, mail), original: stored.original };
    }
  }

  private target(mailbox: MailboxRecord): SmtpTarget {
    return { key: mailbox.id, host: mailbox.smtp.host, port: mailbox.smtp.port, secure: mailbox.smtp.secure, user: mailbox.email, flow: mailbox.flow, ...(mailbox.signInAs ? { signInAs: mailbox.signInAs } : {}) };
  }

  private async failed(record: SendRecord, e: unknown, log: Logger): Promise<DeliveryOutcome> {
    const info = failureInfo(e);
    if (!isTransient(e) || record.attempts >= this.deps.policy.maxAttempts) {
      log.info({ code: info.code, attempt: record.attempts }, 'message failed');
      return this.fail(record, info, rejectedOf(e));
    }
    const throttled = info.code === 'smtp_throttled';
    // A daily quota says how long at least (holdMs); the per-minute limit and the connection cap wait throttleDelayMs.
    const holdMs = e instanceof AppError && typeof e.fields.holdMs === 'number' ? e.fields.holdMs : 0;
    const delayMs = throttled
      ? Math.max(this.deps.policy.throttleDelayMs, holdMs)
      : retryDelayMs({ ...this.deps.policy, windowMs: 0 }, record.attempts, this.deps.random);
    log.info({ code: info.code, attempt: record.attempts, delayMs }, 'message not sent; retrying later');
    await this.record(() => this.deps.store.retryLater(record.id, info, new Date(this.now())));
    this.deps.metrics?.sends.inc({ result: 'retrying' });
    return { kind: 'retry', delayMs };
  }

  private async fail(record: SendRecord, error: SendFailureInfo, rejected: RejectedRecipientInfo[]): Promise<DeliveryOutcome> {
    await this.record(() => this.deps.store.finish(record.id, { status: 'failed', smtpResponse: null, error, rejectedRecipients: rejected }, new Date(this.now())));
    this.deps.metrics?.sends.inc({ result: 'failed' });
    return this.announce({ ...record, status: 'failed', error, rejectedRecipients: rejected }, 'failed');
  }

  /** Publishes the outcome (idempotent by event id); while Redis is full, again later. */
  private async announce(record: SendRecord, kind: 'sent' | 'failed' | 'done' = 'done'): Promise<DeliveryOutcome> {
    try {
      await this.publishOutcome(record);
    } catch (e) {
      if (classify(e).code !== 'storage_full') throw e;
      this.deps.logger.warn({ sendId: record.id, code: 'storage_full' }, 'outcome not announced: Redis is full; announcing again later');
      return { kind: 'retry', delayMs: ANNOUNCE_RETRY_MS };
    }
    return { kind };
  }

  private async publishOutcome(record: SendRecord): Promise<void> {
    if (record.status === 'sent') {
      await this.deps.events.publish(newEvent('message.sent', {
        sendId: record.id, mailboxId: record.mailboxId, messageId: record.messageId, smtpResponse: record.smtpResponse,
      }, sendEventId('message.sent', record.id)));
    } else if (record.status === 'failed' && record.error) {
      await this.deps.events.publish(newEvent('message.failed', {
        sendId: record.id, mailboxId: record.mailboxId, error: record.error,
      }, sendEventId('message.failed', record.id)));
    }
  }

  /**
   * Records an outcome, trying for about 8 s: after a submission, losing this
   * write to a Redis hiccup would mean submitting the message again.
   */
  private async record(write: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (e) {
        if (attempt >= 8) throw e;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** Math.min(attempt, 4)));
      }
    }
  }
}

/**
 * Messages to send: a status record (a hash, no content) and the content
 * (encrypted with AES-256-GCM, the associated data binding it to its send
 * id), both under the `{<prefix>:snd}` hash tag with the idempotency claims,
 * the index of unfinished messages and the outbox, so that acceptance is one
 * transaction: a message is stored whole, with its claim and its place in
 * the outbox, or not at all. Workers take ids from the outbox and queue
 * their jobs (see jobs/sending/send-jobs.ts).
 *
 * Life of a record: [scheduled →] queued → sending (an attempt; `attempts`
 * counts them, worker crashes included) → sent | failed, or back to queued to
 * wait for a retry; scheduled or queued → canceled. A scheduled message
 * waits in the scheduled set (by its sendAt), not in the pending index or
 * the outbox, until releaseDue moves it there. `submitting` is set just before the message is handed to SMTP and
 * cleared with the outcome: an attempt that finds it set knows the previous
 * one died while submitting (it may have been delivered).
 * Once finished, the content expires after the content retention, the
 * record after the (longer) record retention; a canceled message's content
 * is deleted at once, its record kept for the record retention.
 */
import type { Redis } from '../adapters/redis/redis.js';
import { gathered, PIECE_BYTES, type Cipher } from '../crypto/envelope.js';
import type { SendKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

export type SendStatus = 'scheduled' | 'queued' | 'sending' | 'sent' | 'failed' | 'canceled';

export interface SendFailureInfo {
  code: string;
  detail: string;
  hint?: string;
}

export interface RejectedRecipientInfo {
  address: string;
  responseCode: number | null;
  response: string;
}

/** A delivery status notification's word on one recipient of a sent message (domain/sending/bounces.ts). */
export interface BounceInfo {
  recipient: string;
  action: 'failed' | 'delayed';
  status: string | null;
  diagnosticCode: string | null;
  /** When mailsync read the report. */
  at: string;
}

/** Bounces kept per message at most (a message has at most SEND_MAX_RECIPIENTS recipients, each reported failed or delayed). */
export const MAX_BOUNCES = 200;

export interface SendRecord {
  id: string;
  mailboxId: string;
  status: SendStatus;
  attempts: number;
  /** Distinct recipients, for the recipients rate window. */
  recipients: number;
  messageId: string;
  smtpResponse: string | null;
  error: SendFailureInfo | null;
  rejectedRecipients: RejectedRecipientInfo[];
  /** What delivery status notifications said of its recipients after it was sent. */
  bounces: BounceInfo[];
  /** When its content is (or was) deleted: set when it finished (SEND_RETENTION_SECONDS later; 0: then). */
  contentReleasedAt: string | null;
  /** Set while an attempt hands the message to SMTP (`<attempt>:<ms>`). */
  submitting: string | null;
  /** When the message was asked to go out (ISO), if it was given a time. */
  sendAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SendRetention {
  contentSeconds: number;
  recordSeconds: number;
}

/** What a claimed Idempotency-Key was first answered: the message's id and the status it was accepted with. */
export interface ClaimInfo {
  bodyHash: string;
  sendId: string;
  status: 'scheduled' | 'queued';
}

export type AcceptResult = { created: true } | ({ created: false } & ClaimInfo);

/**
 * A message as accepted: it starts queued (or scheduled, when `dueMs` is given: until then), with
 * no attempts.
 */
export type NewSend = Pick<SendRecord, 'id' | 'mailboxId' | 'recipients' | 'messageId' | 'createdAt'> & {
  /** The time asked for (ISO), when one was. */
  sendAt?: string | null | undefined;
  /** When a scheduled message is due (ms); undefined: due now. */
  dueMs?: number | undefined;
};

// Accepts a batch of messages (those accepted in one turn of the event loop) in one transaction:
// MULTI, an MSET of the contents, this script (store/lua/send-accept.lua: its KEYS and ARGV, 10 per
// message, are described there), EXEC. Keeping content out of the script is what makes this cheap:
// a script's argument is copied into Lua and again into Redis, and the client writes one long
// command. In bench/send, Redis CPU per message fell from about 18 to 13 µs and the service's from
// about 78 to 70 µs. A message whose Idempotency-Key is already claimed is not stored: the script
// deletes the content the MSET wrote for it, inside the same transaction, so no client ever sees
// it. Ids are 96 random bits: the script does not look for an existing record (the MSET could not
// have spared one anyway). A new record is queued with no attempts; the fields an attempt fills
// (smtpResponse, error, rejected, submitting) are absent until then.
const ACCEPT = new LuaScript('send-accept');

/** Content over this size is written in pieces before its batch (writeLarge), never copied into one buffer. */
const LARGE_CONTENT_BYTES = 1024 * 1024;
/** How long a large content written before its batch lives if the batch never runs. */
const UNACCEPTED_CONTENT_TTL_MS = 3_600_000;

/** A batch closes at this many messages or this many bytes of content, whichever comes first. */
const BATCH_MESSAGES = 64;
const BATCH_BYTES = 1024 * 1024;

interface QueuedAccept {
  keys: [string, string, string];
  args: (string | number)[];
  contentKey: string;
  /** The encrypted content for the batch's MSET; none when it is already written (a large one). */
  envelope: Buffer[];
  bytes: number;
  resolve(result: AcceptResult): void;
  reject(err: unknown): void;
}

// KEYS: outbox; ARGV: how many. Takes the oldest ids (LPOP with a count needs Redis 6.2).
const TAKE = new LuaScript('send-take-outbox-1');

// KEYS: record; ARGV: now. An unfinished record starts an attempt; answers the record after.
const BEGIN = new LuaScript('send-begin-1');

// KEYS: record; ARGV: marker
const MARK = new LuaScript('send-mark-submitting-1');

// KEYS: record; ARGV: now, error. Back to the queue to wait for a retry.
const RETRY = new LuaScript('send-retry-1');

// KEYS: record, content, pending; ARGV: id, status, now, smtpResponse, error, rejected, content ttl, record ttl
const FINISH = new LuaScript('send-finish-3');

// KEYS: record; ARGV: bounces (JSON), the most kept, now. Answers how many were new (-1: no record).
const BOUNCE = new LuaScript('send-bounce-1');
// KEYS: record, content, pending, scheduled; ARGV: id, now, record ttl. Scheduled or queued → canceled.
const CANCEL = new LuaScript('send-cancel-4');

// KEYS: scheduled, pending, outbox, a record per id; ARGV: now ms, now ISO, the ids. Moves the due ones to the queue.
const RELEASE_DUE = new LuaScript('send-release-due');

const contentPurpose = (sendId: string): string => `send:${sendId}:content`;
const json = (value: unknown): string => (value === null ? '' : JSON.stringify(value));

function parse(hash: Record<string, string>): SendRecord | undefined {
  if (!hash.id || !hash.status) return undefined;
  return {
    id: hash.id,
    mailboxId: hash.mailboxId ?? '',
    status: hash.status as SendStatus,
    attempts: Number(hash.attempts ?? 0),
    recipients: Number(hash.recipients ?? 0),
    messageId: hash.messageId ?? '',
    smtpResponse: hash.smtpResponse || null,
    error: hash.error ? (JSON.parse(hash.error) as SendFailureInfo) : null,
    rejectedRecipients: hash.rejected ? (JSON.parse(hash.rejected) as RejectedRecipientInfo[]) : [],
    // cjson writes an empty array as {}: no bounces.
    bounces: hash.bounces ? asArray<BounceInfo>(JSON.parse(hash.bounces)) : [],
    contentReleasedAt: hash.contentReleasedAt || null,
    submitting: hash.submitting || null,
    sendAt: hash.sendAt || null,
    createdAt: hash.createdAt ?? '',
    updatedAt: hash.updatedAt ?? '',
  };
}

const asArray = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

function pairsToHash(reply: unknown): Record<string, string> {
  const list = Array.isArray(reply) ? (reply as string[]) : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

export class SendStore {
  private queued: QueuedAccept[] = [];
  private flushScheduled = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: SendKeys,
    private readonly cipher: Cipher,
    private readonly retention: SendRetention,
  ) {}

  /**
   * Stores a new message (record, encrypted content, pending index, outbox)
   * and its Idempotency-Key claim in one step; when the key is already
   * claimed, stores nothing and answers the claim. The messages accepted in
   * one turn of the event loop go to Redis in one transaction (a batch is
   * atomic as a whole, and each message in it is stored whole or not at all).
   */
  async accept(
    send: NewSend,
    content: readonly Buffer[],
    claim?: { keyDigest: string; bodyHash: string; ttlSeconds: number },
  ): Promise<AcceptResult> {
    const record = this.keys.record(send.id);
    const contentKey = this.keys.content(send.id);
    const plainBytes = content.reduce((n, piece) => n + piece.length, 0);
    let envelope: Buffer[] = [];
    if (plainBytes > LARGE_CONTENT_BYTES) await this.writeLarge(contentKey, content, contentPurpose(send.id));
    else envelope = [Buffer.concat(this.cipher.encryptChunks(content, contentPurpose(send.id)))];
    return new Promise<AcceptResult>((resolve, reject) => {
      this.queued.push({
        keys: [record, contentKey, claim ? this.keys.idempotency(claim.keyDigest) : record],
        args: [send.id, Date.parse(send.createdAt), claim ? claimValue(claim.bodyHash, send.id, send.dueMs !== undefined) : '', claim?.ttlSeconds ?? 0,
          send.mailboxId, send.recipients, send.messageId, send.createdAt, send.dueMs ?? '', send.sendAt ?? ''],
        contentKey,
        envelope,
        bytes: envelope[0]?.length ?? 0,
        resolve,
        reject,
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushAccepts());
      }
    });
  }

  /**
   * A large content is encrypted and written piece by piece before its message joins a batch:
   * SET of the head, then an APPEND per mebibyte, each awaited, so only one piece of ciphertext
   * exists at a time and nothing copies the whole (a MULTI would: ioredis joins a transaction's
   * commands into one buffer). The key expires unless the accept script, which PERSISTs it with
   * the record, runs: a process that dies in between leaves nothing for long.
   */
  private async writeLarge(key: string, content: readonly Buffer[], purpose: string): Promise<void> {
    const stream = this.cipher.encryptStream(purpose);
    await this.redis.set(key, stream.head, 'PX', UNACCEPTED_CONTENT_TTL_MS);
    for (const piece of gathered(content, PIECE_BYTES)) await this.redis.append(key, stream.update(piece));
    await this.redis.append(key, stream.final());
  }

  private flushAccepts(): void {
    this.flushScheduled = false;
    while (this.queued.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queued.length && count < BATCH_MESSAGES && (count === 0 || bytes + this.queued[count]!.bytes <= BATCH_BYTES)) {
        bytes += this.queued[count]!.bytes;
        count++;
      }
      void this.storeBatch(this.queued.splice(0, count));
    }
  }

  private async storeBatch(batch: QueuedAccept[]): Promise<void> {
    const keys: string[] = [this.keys.pending(), this.keys.outbox(), this.keys.scheduled()];
    const args: (string | number)[] = [];
    const contents: (string | Buffer)[] = [];
    for (const item of batch) {
      keys.push(...item.keys);
      args.push(...item.args);
      if (item.envelope.length === 1) contents.push(item.contentKey, item.envelope[0]!);
    }
    let answers: unknown;
    try {
      answers = await this.acceptTransaction(contents, keys, args);
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => {
      const answer = Array.isArray(answers) ? (answers as unknown[])[i] : undefined;
      if (answer === '') item.resolve({ created: true });
      else if (typeof answer === 'string') item.resolve({ created: false, ...splitClaim(answer) });
      else item.reject(new Error('unexpected answer from the accept script'));
    });
  }

  /** MULTI, MSET of the small contents, the script, EXEC: one round trip. */
  private async acceptTransaction(contents: (string | Buffer)[], keys: string[], args: (string | number)[]): Promise<unknown> {
    const transaction = this.redis.multi();
    if (contents.length > 0) transaction.mset(...contents);
    // EVAL with the source, not EVALSHA: after a NOSCRIPT (a restarted Redis) the MSET would
    // already have written contents with no record. Redis keeps the compiled script by its SHA1.
    transaction.eval(ACCEPT.source, keys.length, ...keys, ...args);
    const replies = await transaction.exec();
    const [error, answer] = replies?.[replies.length - 1] ?? [new Error('the accept transaction was discarded'), undefined];
    if (error) throw error;
    return answer;
  }

  async get(sendId: string): Promise<SendRecord | undefined> {
    return parse(await this.redis.hgetall(this.keys.record(sendId)));
  }

  /** The decrypted content; undefined once it expired (retention) or was never stored. */
  async content(sendId: string): Promise<Buffer | undefined> {
    const envelope = await this.redis.getBuffer(this.keys.content(sendId));
    return envelope === null ? undefined : this.cipher.decryptBytes(envelope, contentPurpose(sendId));
  }

  /** Starts an attempt on an unfinished message (counts it); answers the record as it is then. */
  async begin(sendId: string, now: Date): Promise<SendRecord | undefined> {
    return parse(pairsToHash(await BEGIN.run(this.redis, [this.keys.record(sendId)], [now.toISOString()])));
  }

  /** Notes that this attempt hands the message to SMTP now. */
  async markSubmitting(sendId: string, marker: string): Promise<void> {
    await MARK.run(this.redis, [this.keys.record(sendId)], [marker]);
  }

  async retryLater(sendId: string, error: SendFailureInfo, now: Date): Promise<void> {
    await RETRY.run(this.redis, [this.keys.record(sendId)], [now.toISOString(), json(error)]);
  }

  async finish(
    sendId: string,
    outcome: { status: 'sent' | 'failed'; smtpResponse: string | null; error: SendFailureInfo | null; rejectedRecipients: RejectedRecipientInfo[] },
    now: Date,
  ): Promise<void> {
    await FINISH.run(this.redis, [this.keys.record(sendId), this.keys.content(sendId), this.keys.pending()], [
      sendId, outcome.status, now.toISOString(), outcome.smtpResponse ?? '', json(outcome.error),
      outcome.rejectedRecipients.length > 0 ? JSON.stringify(outcome.rejectedRecipients) : '',
      this.retention.contentSeconds, this.retention.recordSeconds,
      new Date(now.getTime() + this.retention.contentSeconds * 1000).toISOString(),
    ]);
  }

  /** Adds what a delivery report said of the message's recipients, each once; how many were new (-1: the record is gone). */
  async addBounces(sendId: string, bounces: readonly BounceInfo[], now: Date): Promise<number> {
    return Number(await BOUNCE.run(this.redis, [this.keys.record(sendId)], [JSON.stringify(bounces), MAX_BOUNCES, now.toISOString()]));
  }

  /**
   * Cancels a message no worker has taken yet (scheduled or queued): it becomes canceled, its
   * content is deleted. Answers the record as it is after: `canceled` (now or before), or the status
   * that made it too late (sending, sent, failed); undefined when there is no such message.
   */
  async cancel(sendId: string, now: Date): Promise<SendRecord | undefined> {
    const reply = await CANCEL.run(this.redis,
      [this.keys.record(sendId), this.keys.content(sendId), this.keys.pending(), this.keys.scheduled()],
      [sendId, now.toISOString(), this.retention.recordSeconds]);
    return parse(pairsToHash(reply));
  }

  /**
   * Moves up to `max` scheduled messages whose time has come to the queue (pending index and
   * outbox); answers the ids moved. Safe to run in several workers at once: each message is moved
   * once (the script moves only a record still scheduled).
   */
  async releaseDue(now: Date, max: number): Promise<string[]> {
    const nowMs = now.getTime();
    const ids = await this.redis.zrangebyscore(this.keys.scheduled(), '-inf', String(nowMs), 'LIMIT', '0', String(max));
    if (ids.length === 0) return [];
    const keys = [this.keys.scheduled(), this.keys.pending(), this.keys.outbox(), ...ids.map((id) => this.keys.record(id))];
    return (await RELEASE_DUE.run(this.redis, keys, [nowMs, now.toISOString(), ...ids])) as string[];
  }

  /**
   * Takes up to `max` ids from the outbox, waiting up to `timeoutSeconds` for the first one on
   * `blocking` (a connection of its own: BLPOP holds it). Each id is taken once, by one worker.
   */
  async takeOutbox(blocking: Redis, timeoutSeconds: number, max: number): Promise<string[]> {
    const first = await blocking.blpop(this.keys.outbox(), timeoutSeconds);
    if (!first) return [];
    const more = max > 1 ? ((await TAKE.run(this.redis, [this.keys.outbox()], [max - 1])) as string[]) : [];
    return [first[1], ...more];
  }

  /** Unfinished messages accepted before `beforeMs`, oldest first, from `offset` on. */
  async pendingBefore(beforeMs: number, offset: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pending(), '-inf', String(beforeMs), 'LIMIT', String(offset), String(limit));
  }
}

/** `<body hash> <send id>`, and ` scheduled` for a message accepted as scheduled (claims written before sendAt have two parts). */
function claimValue(bodyHash: string, sendId: string, scheduled: boolean): string {
  return scheduled ? `${bodyHash} ${sendId} scheduled` : `${bodyHash} ${sendId}`;
}

function splitClaim(raw: string): ClaimInfo {
  const [bodyHash = '', sendId = '', status] = raw.split(' ');
  return { bodyHash, sendId, status: status === 'scheduled' ? 'scheduled' : 'queued' };
}

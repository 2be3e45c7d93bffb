/**
 * Every Redis key the service uses is built here, under one prefix.
 *
 * Redis Cluster: commands and scripts that touch several keys need them in one
 * hash slot. The control plane (connections, mailboxes, webhooks, their
 * indexes) is small and often read together, so it shares the hash tag
 * `{<prefix>}`; BullMQ's queues share the tag `{<prefix>:q}` so each queue's
 * keys stay together, as BullMQ requires on a cluster.
 *
 * Polling is the exception, as it is most of the job traffic: each poll shard
 * (store/poll-shards.ts) has its own tag `{<prefix>:poll:<shard>}` holding its
 * BullMQ queue, its part of the schedule (due and overdue-at sets) and the poll
 * locks of its mailboxes, so a script may take a mailbox's lock and its due
 * together, and a cluster spreads the shards over its masters.
 *
 * Every builder that takes a record's id checks its shape (domain/ids.ts) and
 * throws MalformedIdError (a not_found) for any other: `con_X:mailboxes` must
 * not name connection con_X's mailbox set. Callers check ids before they get
 * here (HTTP routes, job payloads); this is the last line, so no id of another
 * shape can become a key.
 */
import { createHash } from 'node:crypto';
import { requireId } from '../domain/ids.js';
import { DEFAULT_POLL_SHARDS, MAX_POLL_SHARDS, pollShardOf } from './poll-shards.js';

export interface KeySpace {
  readonly prefix: string;
  /** The prefix BullMQ prepends to its queue keys. */
  readonly queuePrefix: string;
  connection(id: string): string;
  /** Sorted set of connection ids by creation time. */
  connections(): string;
  /** Worker heartbeats: a sorted set of worker ids by last beat (ms). */
  workers(): string;
  mailbox(id: string): string;
  /** Sorted set of mailbox ids by creation time. */
  mailboxes(): string;
  /** Set of the mailbox ids of one connection. */
  connectionMailboxes(connectionId: string): string;
  /** Claims one address per connection (value: the mailbox id). */
  mailboxAddress(connectionId: string, email: string): string;
  /** How many poll shards the schedule, poll queues and poll locks are cut into (POLL_SHARDS). */
  readonly pollShards: number;
  /** The shard of a mailbox (store/poll-shards.ts). */
  pollShardOf(mailboxId: string): number;
  /** The prefix of one shard's BullMQ poll queue: the shard's hash tag. */
  pollQueuePrefix(shard: number): string;
  /** Sorted set: mailbox id → when its next poll is due (ms), for one shard. The poll schedule's source of truth. */
  pollDue(shard: number): string;
  /** Sorted set: mailbox id → due time plus its poll interval (ms), past which it is overdue. Kept with pollDue(shard). */
  pollOverdueAt(shard: number): string;
  /** The shard count the schedule in Redis is laid out for (jobs/polling/shard-migration.ts); absent before sharding. */
  pollLayout(): string;
  /** Held by the one process moving schedule entries between layouts. */
  pollLayoutLock(): string;
  /** The unsharded schedule of versions before poll shards: read once by the migration, then deleted. */
  readonly legacyPoll: { due(): string; overdueAt(): string };
  /** Hash: mailbox state → how many mailboxes are in it, kept by the mailbox store's scripts. */
  mailboxStates(): string;
  /** Sorted set (scores 0): `<term>\0<created ms>\0<id>` per term of each mailbox, for filtered pages (store/record-pages.ts). */
  mailboxTerms(): string;
  /** The version of the mailbox terms index once every mailbox is in it (set after an upgrade's first build). */
  mailboxTermsBuilt(): string;
  /**
   * Held while one worker polls one mailbox: in the mailbox's poll shard's tag, beside its due time,
   * so one script takes it and checks the trigger is still the due time (store/poll-claim.ts).
   */
  pollLock(mailboxId: string): string;
  /** Hash: mailbox id → when its last poll started (ms): the view's lastPollAt, kept apart from the record (store/poll-marks.ts). */
  pollLastAt(): string;
  /**
   * The tracked window of one watched folder of a mailbox (issue 16): one compact value (UIDs,
   * flag codes, Message-IDs), in the mailbox's slot so all of them go in one DEL.
   */
  trackedWindow(mailboxId: string, folder: string): string;
  /** The polls in flight for one tenant (a semaphore). */
  tenantPolls(tenant: string): string;
  /** The SMTP connection slots of one mailbox held by workers (store/connection-slots.ts). */
  smtpSlots(mailboxId: string): string;
  /** An MSAL cache partition (encrypted): `app:<hash>` or `mbx:<mailboxId>`. */
  tokenCache(partition: string): string;
  /** The single-flight lock of one token acquisition. */
  tokenLock(partition: string): string;
  /** A sign-in in progress (encrypted, 10 min, taken once), by the SHA-256 of its OAuth `state`. */
  oauthState(stateDigest: string): string;
  /** A verified sign-in awaiting POST /v1/login/exchange (encrypted, 60 s, taken once), by the SHA-256 of its code. */
  loginCode(codeDigest: string): string;
  /** An admin consent link (encrypted, 7 days), by the SHA-256 of its ticket. */
  adminConsentLink(ticketDigest: string): string;
  /**
   * The claim that one credential expiry warning was announced (SET NX, expiring long after the
   * credential): per connection, threshold (days) and the expiry it warned of (ms).
   */
  credentialWarning(connectionId: string, thresholdDays: number, expiresAtMs: number): string;
  /** A rate-limit counter (one key per name, window and subject; expires with its window). */
  rateLimit(name: string): string;
  /** A webhook subscription record (JSON). */
  webhook(id: string): string;
  /** Sorted set of webhook subscription ids by creation time. */
  webhooks(): string;
  /** Counter bumped by every change to a webhook subscription: readers cache until it moves. */
  webhooksVersion(): string;
  /** Webhook delivery data: see WebhookDeliveryKeys. */
  readonly webhookDelivery: WebhookDeliveryKeys;
  /** Sending: see SendKeys. */
  readonly send: SendKeys;
}

/**
 * Webhook deliveries are data, not control plane: they live under their own
 * hash tag `{<prefix>:wh}` so the delivery scripts (which touch a delivery
 * record, its subscription's indexes and its scheduling sets at once) stay in
 * one slot, apart from the control plane's.
 */
export interface WebhookDeliveryKeys {
  /** Hash: one delivery's state and its body. */
  record(deliveryId: string): string;
  /** What record(id) puts before the id: scripts that delete records by the ids they list. */
  recordPrefix(): string;
  /** Sorted set: a subscription's delivery ids by creation time (ms), for listing. */
  index(subscriptionId: string): string;
  /** Sorted set: finished (delivered or failed) delivery ids by finish time (ms), for retention. */
  finished(subscriptionId: string): string;
  /** Sorted set: delivery ids holding one of the subscription's in-flight slots, by lease deadline (ms). */
  slots(subscriptionId: string): string;
  /** Sorted set: delivery ids waiting for a slot, by the time they may be attempted (ms). */
  parked(subscriptionId: string): string;
  /** Hash: delivery id → the ticket of its current admission. */
  tickets(subscriptionId: string): string;
  /** Hash: the endpoint's health (consecutive failures, unhealthy, next probe time). */
  health(subscriptionId: string): string;
  /** Sorted set: subscription ids by when the sweeper must next look at them (ms). */
  wakeups(): string;
  /** Counter that numbers admission tickets. */
  ticketSeq(): string;
  /**
   * Hash: an event's content (message.received with `include`), stored once for all its
   * deliveries, and who holds it (store/lua/includes/content-hold.lua).
   */
  content(eventId: string): string;
}

/**
 * Sending. A message's status record, its encrypted content, the
 * idempotency claims, the index of unfinished messages, the scheduled set and the outbox share
 * the hash tag `{<prefix>:snd}`, so acceptance (all of them at once) is one
 * transaction.
 * Rate windows are per mailbox and touched alone: one tag per mailbox.
 */
export interface SendKeys {
  /** Hash: one message's status (no content). */
  record(sendId: string): string;
  /** The message content, encrypted (AES-256-GCM, bound to the send id). */
  content(sendId: string): string;
  /** An Idempotency-Key's claim (24 h), by the SHA-256 of the key: `<body hash> <send id>`. */
  idempotency(keyDigest: string): string;
  /** Sorted set: unfinished send ids by the time they became due (acceptance, or their sendAt) (ms), for the sweeper. */
  pending(): string;
  /** Sorted set: scheduled send ids by their sendAt (ms), until they are due. */
  scheduled(): string;
  /** List: accepted send ids whose job a worker has yet to queue (the outbox). */
  outbox(): string;
  /** Sorted set: send ids submitted from a mailbox by time (ms): the messages window. */
  rateMessages(mailboxId: string): string;
  /** Sorted set: send ids submitted from a mailbox by time (ms): the recipients window. */
  rateRecipients(mailboxId: string): string;
  /** Hash: send id → its recipient count, and `_total`, for the recipients window. */
  rateRecipientCounts(mailboxId: string): string;
}

/** An event id as a key part: its digest, so that any id (they are not all made here) names one key of one shape. */
const eventKey = (id: string): string => createHash('sha256').update(id).digest('base64url').slice(0, 32);

export interface KeySpaceOptions {
  /** @defaultValue DEFAULT_POLL_SHARDS (16) */
  pollShards?: number;
}

export function createKeySpace(prefix: string, options: KeySpaceOptions = {}): KeySpace {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new Error(`invalid Redis prefix: ${prefix}`);
  const shards = options.pollShards ?? DEFAULT_POLL_SHARDS;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_POLL_SHARDS) throw new Error(`invalid poll shard count: ${shards}`);
  const shardTag = (shard: number): string => {
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= shards) throw new Error(`poll shard ${shard} out of 0..${shards - 1}`);
    return `{${prefix}:poll:${shard}}`;
  };
  const tag = `{${prefix}}`;
  const wh = `{${prefix}:wh}`;
  const snd = `{${prefix}:snd}`;
  const con = (id: string): string => requireId(id, 'con');
  const mbx = (id: string): string => requireId(id, 'mbx');
  const whk = (id: string): string => requireId(id, 'whk');
  const sub = (id: string, what: string): string => `${wh}:sub:${whk(id)}:${what}`;
  return {
    prefix,
    queuePrefix: `{${prefix}:q}`,
    connection: (id) => `${tag}:connection:${con(id)}`,
    connections: () => `${tag}:connections`,
    workers: () => `${tag}:workers`,
    mailbox: (id) => `${tag}:mailbox:${mbx(id)}`,
    pollShards: shards,
    pollShardOf: (mailboxId) => pollShardOf(mbx(mailboxId), shards),
    pollQueuePrefix: (shard) => shardTag(shard),
    // `schedule:` and `lock:` stay clear of BullMQ's `<tag>:poll:*` keys (the queue is named poll).
    pollDue: (shard) => `${shardTag(shard)}:schedule:due`,
    pollOverdueAt: (shard) => `${shardTag(shard)}:schedule:overdue-at`,
    pollLayout: () => `${tag}:poll:layout`,
    pollLayoutLock: () => `${tag}:poll:layout:lock`,
    legacyPoll: { due: () => `${tag}:poll:due`, overdueAt: () => `${tag}:poll:overdue-at` },
    mailboxStates: () => `${tag}:mailboxes:states`,
    mailboxTerms: () => `${tag}:mailboxes:terms`,
    mailboxTermsBuilt: () => `${tag}:mailboxes:terms:built`,
    pollLock: (mailboxId) => `${shardTag(pollShardOf(mbx(mailboxId), shards))}:lock:${mailboxId}`,
    pollLastAt: () => `${tag}:poll:last-at`,
    tenantPolls: (tenant) => `${prefix}:{tenant:${tenant}}:polls`,
    smtpSlots: (mailboxId) => `${prefix}:{mbx:${mbx(mailboxId)}}:smtp-slots`,
    // The folder is a user's string: its digest keeps the key short and free of odd characters.
    trackedWindow: (mailboxId, folder) => `${prefix}:{mbx:${mbx(mailboxId)}}:track:${createHash('sha256').update(folder).digest('base64url').slice(0, 16)}`,
    mailboxes: () => `${tag}:mailboxes`,
    connectionMailboxes: (connectionId) => `${tag}:connection:${con(connectionId)}:mailboxes`,
    mailboxAddress: (connectionId, email) => `${tag}:connection:${con(connectionId)}:address:${email.toLowerCase()}`,
    // Token partitions are independent of each other: each gets its own slot.
    tokenCache: (partition) => `${prefix}:{tok:${partition}}:cache`,
    tokenLock: (partition) => `${prefix}:{tok:${partition}}:lock`,
    // One-time records are read and deleted alone (GETDEL): no hash tag, so they spread over a cluster.
    oauthState: (digest) => `${prefix}:oauth-state:${digest}`,
    loginCode: (digest) => `${prefix}:login-code:${digest}`,
    adminConsentLink: (digest) => `${prefix}:admin-consent-link:${digest}`,
    credentialWarning: (connectionId, days, ms) => `${prefix}:credential-warning:${con(connectionId)}:${Math.trunc(days)}:${Math.trunc(ms)}`,
    rateLimit: (name) => `${prefix}:rate:${name}`,
    webhook: (id) => `${tag}:webhook:${whk(id)}`,
    webhooks: () => `${tag}:webhooks`,
    webhooksVersion: () => `${tag}:webhooks:version`,
    webhookDelivery: {
      record: (id) => `${wh}:delivery:${requireId(id, 'dlv')}`,
      recordPrefix: () => `${wh}:delivery:`,
      index: (id) => sub(id, 'deliveries'),
      finished: (id) => sub(id, 'finished'),
      slots: (id) => sub(id, 'slots'),
      parked: (id) => sub(id, 'parked'),
      tickets: (id) => sub(id, 'tickets'),
      health: (id) => sub(id, 'health'),
      wakeups: () => `${wh}:wakeups`,
      ticketSeq: () => `${wh}:ticket-seq`,
      content: (id) => `${wh}:content:${eventKey(id)}`,
    },
    send: {
      record: (id) => `${snd}:send:${requireId(id, 'snd')}`,
      content: (id) => `${snd}:send:${requireId(id, 'snd')}:content`,
      idempotency: (digest) => `${snd}:idempotency:${digest}`,
      pending: () => `${snd}:pending`,
      scheduled: () => `${snd}:scheduled`,
      outbox: () => `${snd}:outbox`,
      rateMessages: (mailboxId) => `${prefix}:{rate:${mbx(mailboxId)}}:messages`,
      rateRecipients: (mailboxId) => `${prefix}:{rate:${mbx(mailboxId)}}:recipients`,
      rateRecipientCounts: (mailboxId) => `${prefix}:{rate:${mbx(mailboxId)}}:recipient-counts`,
    },
  };
}

/**
 * The BullMQ worker pool that polls mailboxes. Per job: take the mailbox's
 * poll lock (no mailbox is polled by two workers at once), check the job is
 * still the mailbox's scheduled one, poll, record the outcome and state
 * change, announce state changes, and schedule the next poll (the interval,
 * Exchange's suggested back-off, or an exponential back-off after errors).
 *
 * Sessions stay open between polls while the interval is short, and idle
 * on INBOX: a new message reported by IDLE triggers a poll at once; the
 * scheduled poll stays as the safety net (IDLE notifications can be lost).
 */
import { DelayedError, type Job } from '../../adapters/queue/bullmq.js';
import { createPollSession, type PollSession } from '../../adapters/imap/poll-session.js';
import { SessionPool } from '../../adapters/imap/session-pool.js';
import { parseMessage } from '../../adapters/mail/parse.js';
import { AppError, NotFoundError } from '../../errors/errors.js';
import { newEvent, type EventPublisher } from '../../domain/events/events.js';
import type { MailboxRecord, MailboxService } from '../../domain/mailboxes/service.js';
import { isId } from '../../domain/ids.js';
import { mailLogin } from '../../domain/mailboxes/mail-login.js';
import { failureResult, pollMailbox, type PollResult, type PollerPorts } from '../../domain/polling/poller.js';
import { IMAP_HINTS } from '../../adapters/imap/errors.js';
import { backoffDelayMs, nextPollAt, throttleDelayMs } from '../../domain/polling/schedule.js';
import { transition } from '../../domain/polling/transitions.js';
import type { ConnectionService } from '../../domain/connections/service.js';
import type { LastErrorT } from '../../domain/mailboxes/schemas.js';
import { tokenRetryDecision } from '../../domain/tokens/retry-policy.js';
import type { TokenService } from '../../domain/tokens/token-service.js';
import { classify } from '../../errors/classify.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { KeptLease, RedisLock } from '../../store/lock.js';
import type { RedisSemaphore } from '../../store/semaphore.js';
import type { KeySpace } from '../../store/keys.js';
import type { JobHandler, JobModule, Sweeper } from '../runtime.js';
import { POLL_QUEUE, type PollJobData, type PollScheduler } from './scheduler.js';
import { wakePeers } from './wake-peers.js';

/** The longest a mailbox whose poll met a full Redis waits for its next poll. */
const STORAGE_FULL_REPOLL_MS = 30_000;

export interface PollingSettings {
  /** Polls one worker process runs at once. */
  concurrency: number;
  /** Keep sessions open between polls for mailboxes polled at least this often (s); 0: never. */
  keepSessionsUnderSeconds: number;
  /** Listen with IMAP IDLE on kept sessions. */
  idle: boolean;
  maxSessions: number;
  /** Trusted CAs for IMAP (Node's roots plus NODE_EXTRA_CA_CERTS). */
  ca: readonly string[];
  /**
   * The poll lock's lifetime, in ms. It is extended every third of it while the poll runs, so a
   * worker that dies leaves a lock that lapses within this time, and another worker takes over.
   */
  lockTtlMs: number;
  /** The most one poll may take, in ms, whatever the server does. */
  pollTimeoutMs: number;
  sweepEveryMs: number;
  maxMessagesPerFolder: number;
  /** Largest message downloaded and parsed for the consumers that want content (MESSAGE_PARSE_MAX_BYTES), in bytes. */
  contentMaxBytes: number;
  /** Message bytes downloaded for content per folder per poll (see PollOptions.maxContentBytes). */
  maxContentBytes: number;
  /** Polls in flight per tenant across all workers; 0: no limit. */
  tenantConcurrency: number;
}

export interface PollingDeps {
  scheduler: PollScheduler;
  lock: RedisLock;
  semaphore: RedisSemaphore;
  keys: KeySpace;
  mailboxes: MailboxService;
  connections: ConnectionService;
  tokens: TokenService;
  events: EventPublisher;
  metrics: Metrics;
  logger: Logger;
  settings: PollingSettings;
  now?: () => number;
}

export class PollingJobs implements JobModule {
  readonly name = 'polling';
  readonly handlers: readonly JobHandler<PollJobData>[];
  readonly sweepers: readonly Sweeper[];
  private readonly now: () => number;
  private readonly pool: SessionPool;
  private stopped = false;

  constructor(private readonly deps: PollingDeps) {
    this.now = deps.now ?? Date.now;
    this.pool = new SessionPool({
      maxOpen: deps.settings.maxSessions,
      idleMs: Math.max(deps.settings.keepSessionsUnderSeconds * 2_000, 10_000),
      renewBeforeMs: 5 * 60_000,
      onSize: (size) => deps.metrics.imapConnections.set(size),
    });
    this.handlers = [{
      queue: POLL_QUEUE,
      process: (job, token) => this.process(job, token),
      settings: {
        concurrency: deps.settings.concurrency,
        // Polls are short: a dead worker's poll jobs are re-run within about 15 s;
        // the re-run waits (retrying every 1–2 s) until the dead poll's lock
        // lapses, at most lockTtlMs after its last extension.
        lockDurationMs: 10_000,
        stalledIntervalMs: 5_000,
        // A poll that keeps stalling is dropped by BullMQ; the sweeper re-adds its trigger.
        maxStalledCount: 3,
      },
    }];
    this.sweepers = [{
      everyMs: deps.settings.sweepEveryMs,
      run: () => deps.scheduler.sweep(deps.settings.sweepEveryMs * 2),
      failed: (err) => deps.logger.warn({ err }, 'poll sweep failed'),
    }];
  }

  onStart(): void {
    this.stopped = false;
  }

  /** No session is kept from now on, and the kept ones close (before the worker stops, as always). */
  async onStopping(): Promise<void> {
    this.stopped = true;
    await this.pool.closeAll();
  }

  private async process(job: Job<PollJobData>, token: string | undefined): Promise<string> {
    const { mailboxId, due } = job.data;
    if (!isId(mailboxId, 'mbx') || !Number.isSafeInteger(due)) {
      this.deps.logger.warn({ jobId: job.id }, 'poll job with an invalid payload dropped');
      return 'invalid';
    }
    const lease = await this.deps.lock.acquire(this.deps.keys.pollLock(mailboxId), this.deps.settings.lockTtlMs);
    if (!lease) {
      // Another worker is polling this mailbox, or a dead one's lock has not
      // lapsed yet: try again in a second or two rather than wait for the sweeper.
      if (!token) return 'busy';
      await job.moveToDelayed(this.soon(), token);
      throw new DelayedError();
    }
    const kept = this.deps.lock.keep(lease, this.deps.settings.lockTtlMs);
    try {
      if ((await this.deps.scheduler.dueOf(mailboxId)) !== due) return 'stale';
      let mailbox: MailboxRecord;
      try {
        mailbox = await this.deps.mailboxes.get(mailboxId);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        this.pool.drop(mailboxId);
        await this.deps.scheduler.unschedule(mailboxId);
        return 'gone';
      }
      if (mailbox.state === 'paused' || mailbox.state === 'pending_authorization') return mailbox.state;
      return await this.withinTenantLimit(mailbox, () => this.pollAndReschedule(mailbox, due, kept));
    } finally {
      kept.stop();
      await this.deps.lock.release(lease).catch(() => undefined);
    }
  }

  private async pollAndReschedule(mailbox: MailboxRecord, due: number, kept: KeptLease): Promise<string> {
    const log = this.deps.logger.child({ mailboxId: mailbox.id });
    const started = this.now();
    this.deps.metrics.pollLag.observe(Math.max(0, started - due) / 1000);
    const result = await this.boundedPoll(mailbox, log, kept.lost);
    if (kept.isLost()) {
      // Another worker holds the mailbox now: it records and reschedules. If it has not rescheduled
      // yet, poll again in a second or two (under the lock, as always) rather than wait for the sweeper.
      log.warn('poll lock taken by another worker during the poll: poll abandoned');
      try {
        if ((await this.deps.scheduler.dueOf(mailbox.id)) === due) await this.deps.scheduler.schedule(mailbox.id, this.soon());
      } catch (err) {
        log.warn({ err }, 'could not reschedule after a lost poll lock: the sweeper will');
      }
      return 'lock_lost';
    }
    const durationMs = this.now() - started;
    this.deps.metrics.pollDuration.observe(durationMs / 1000);
    log.debug({ startedAt: started, lagMs: Math.max(0, started - due), durationMs, result: result.kind }, 'poll finished');
    this.deps.metrics.polls.inc({ result: result.kind === 'ok' ? (result.announced > 0 ? 'ok' : 'unchanged') : result.kind });
    if (result.kind === 'ok') this.deps.metrics.messagesReceived.inc(result.announced);
    else log.info({ code: result.error.code }, 'poll failed');
    if (result.kind !== 'ok' && result.error.code === 'storage_full') return this.afterStorageFull(mailbox);

    const next = this.nextDue(mailbox, due, result);
    const at = new Date(this.now()).toISOString();
    const failure = result.kind === 'ok' ? null : await this.describeFailure(mailbox, result, at);
    const outcome = result.kind === 'ok' ? { kind: 'ok' as const } : { kind: result.kind, error: result.error };
    let change = transition(mailbox.state, outcome);
    const updated = await this.deps.mailboxes.change(mailbox.id, (current) => {
      change = transition(current.state, outcome);
      // A pause or a new sign-in while we polled wins over our outcome.
      const state = current.state === 'paused' || current.state === 'pending_authorization' ? current.state : change.state;
      return {
        ...current,
        state,
        lastPollAt: at,
        nextPollAt: new Date(next).toISOString(),
        failures: result.kind === 'ok' ? 0 : (current.failures ?? 0) + 1,
        lastError: failure ?? (state === 'active' ? null : current.lastError),
      };
    });
    if (updated.state !== 'paused' && updated.state !== 'pending_authorization') await this.deps.scheduler.schedule(mailbox.id, next, updated.pollIntervalSeconds * 1000);
    await this.announce(updated, change.event);
    if (change.event?.type === 'mailbox.recovered' && mailbox.lastError) await this.wakePeersOf(mailbox, mailbox.lastError.code, log);
    if (result.kind === 'ok') this.listen(updated);
    return result.kind;
  }

  /** This mailbox got past an outage of a shared server: its peers held in error by it are polled soon. */
  private async wakePeersOf(recovered: MailboxRecord, code: string, log: Logger): Promise<void> {
    try {
      const woken = await wakePeers({ mailboxes: this.deps.mailboxes, scheduler: this.deps.scheduler, now: this.now }, recovered, code);
      if (woken > 0) log.info({ woken, code }, 'outage over: mailboxes in error for it are polled again now');
    } catch (err) {
      log.warn({ err }, 'could not wake the mailboxes held by the outage: they keep their back-off');
    }
  }

  /**
   * Redis was full (a publish or a cursor write refused): not this mailbox's failure. It keeps its
   * state (no mailbox.error to every subscriber, no back-off growing to minutes) and is polled again
   * within its interval, at most STORAGE_FULL_REPOLL_MS: the cursor never passed the mail not yet
   * announced, so that poll announces it. While Redis still refuses, this reschedule fails too; the
   * job then fails unrecorded, and once there is room BullMQ runs it again (its lock lapsed: a
   * stalled job) or the sweeper re-adds the overdue mailbox's trigger.
   */
  private async afterStorageFull(mailbox: MailboxRecord): Promise<string> {
    const intervalMs = mailbox.pollIntervalSeconds * 1000;
    await this.deps.scheduler.schedule(mailbox.id, this.now() + Math.min(intervalMs, STORAGE_FULL_REPOLL_MS), intervalMs);
    return 'storage_full';
  }

  /** A second or two from now, jittered: when a mailbox that could not be polled is tried again. */
  private soon(): number {
    return this.now() + 1000 + Math.floor(Math.random() * 1000);
  }

  /**
   * One poll, with a deadline. imapflow's timeouts are idle timeouts: a server
   * that answers a byte at a time, or a literal that trickles, keeps a poll
   * alive forever. At the deadline the poll's sessions are closed, which fails
   * the command in flight (the poll then cleans up as after any IMAP error),
   * and the poll counts as failed at once.
   */
  private async boundedPoll(mailbox: MailboxRecord, log: Logger, lockLost: Promise<void>): Promise<PollResult> {
    const limitMs = this.deps.settings.pollTimeoutMs;
    const sessions: PollSession[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<PollResult>((resolve) => {
      timer = setTimeout(() => {
        for (const session of sessions) session.close();
        const where = `${mailbox.imap.host}:${mailbox.imap.port}`;
        resolve(failureResult(new AppError('imap_unreachable',
          `${where} did not complete the poll of ${mailbox.email} within ${Math.round(limitMs / 1000)} s (it answers too slowly or not at all); the connection was dropped.`,
          { hint: IMAP_HINTS.unreachable, step: 'network' })));
      }, limitMs);
    });
    // A lost lock ends the poll as the deadline does: its sessions close, its command fails.
    void lockLost.then(() => {
      for (const session of sessions) session.close();
    });
    try {
      return await Promise.race([
        pollMailbox(mailbox, this.ports(mailbox, log, (session) => void (sessions.includes(session) || sessions.push(session))), {
          maxMessagesPerFolder: this.deps.settings.maxMessagesPerFolder,
          batchSize: 100,
          maxContentBytes: this.deps.settings.maxContentBytes,
        }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * At most `tenantConcurrency` polls of one tenant's mailboxes run at once,
   * across every worker; a poll over the limit is put back by a second or two.
   */
  private async withinTenantLimit(mailbox: MailboxRecord, poll: () => Promise<string>): Promise<string> {
    const limit = this.deps.settings.tenantConcurrency;
    if (limit <= 0) return poll();
    const key = this.deps.keys.tenantPolls(mailbox.tenantId ?? mailbox.connectionId);
    // The permit is not extended: it outlives the longest poll.
    const permit = await this.deps.semaphore.acquire(key, limit, this.deps.settings.pollTimeoutMs + 5_000);
    if (!permit) {
      await this.deps.scheduler.schedule(mailbox.id, this.soon());
      return 'tenant_busy';
    }
    try {
      return await poll();
    } finally {
      await this.deps.semaphore.release(permit).catch(() => undefined);
    }
  }

  /**
   * The mailbox's lastError: the failure with the setup step that fixes it,
   * and, for an auth failure of a connection changed in the last hour, a
   * note that Microsoft may still be applying the change (we keep retrying).
   */
  private async describeFailure(mailbox: MailboxRecord, result: Exclude<PollResult, { kind: 'ok' }>, at: string): Promise<LastErrorT> {
    const step = classify(result.cause).step;
    const described: LastErrorT = { ...result.error, ...(step ? { setupStep: step } : {}), at };
    if (result.kind !== 'auth_error') return described;
    const connection = await this.deps.connections.record(mailbox.connectionId).catch(() => undefined);
    if (!connection) return described;
    const changedAt = new Date(Math.max(Date.parse(connection.createdAt), Date.parse(connection.secretUpdatedAt)));
    if (!tokenRetryDecision(result.cause, changedAt, new Date(this.now())).awaitingPropagation) return described;
    return {
      ...described,
      note: 'The connection was set up or changed less than an hour ago: changes in the Azure portal take tens of minutes to apply, so mailsync keeps retrying.',
    };
  }

  private nextDue(mailbox: MailboxRecord, due: number, result: PollResult): number {
    const now = this.now();
    const intervalMs = mailbox.pollIntervalSeconds * 1000;
    switch (result.kind) {
      case 'ok':
        return result.more ? now : nextPollAt(due, intervalMs, now);
      case 'throttled':
        return now + throttleDelayMs(result.retryAfterMs, intervalMs);
      default:
        return now + backoffDelayMs((mailbox.failures ?? 0) + 1, intervalMs);
    }
  }

  private async announce(mailbox: MailboxRecord, event: ReturnType<typeof transition>['event']): Promise<void> {
    if (!event) return;
    if (event.type === 'mailbox.recovered') {
      await this.deps.events.publish(newEvent('mailbox.recovered', { mailboxId: mailbox.id, state: mailbox.state }));
    } else {
      await this.deps.events.publish(newEvent('mailbox.error', { mailboxId: mailbox.id, state: mailbox.state, error: event.error }));
    }
  }

  private keepsSessions(mailbox: MailboxRecord): boolean {
    return mailbox.pollIntervalSeconds <= this.deps.settings.keepSessionsUnderSeconds && !this.stopped;
  }

  /** `using` is told every session the poll works with, new or pooled, as soon as it exists (for the deadline). */
  private ports(mailbox: MailboxRecord, log: Logger, using: (session: PollSession) => void): PollerPorts {
    return {
      token: async (m) => {
        // No token goes to an IMAP server off MAIL_HOST_ALLOWLIST.
        this.deps.mailboxes.assertServersAllowed(m);
        return m.flow === 'app_only'
          ? this.deps.tokens.appToken(m.connectionId)
          : this.deps.tokens.delegatedToken(m.connectionId, m.id, m.account ?? undefined);
      },
      session: async (m, token) => {
        const open = async (): Promise<PollSession> => {
          const session = createPollSession({ ...m.imap, ...mailLogin(m, token.accessToken, this.deps.settings.ca, log) });
          using(session);
          await session.connect();
          return session;
        };
        const { session } = await this.pool.acquire(m.id, token, open);
        using(session);
        return {
          session,
          done: (healthy) => this.pool.release(m.id, session, token, healthy && this.keepsSessions(m)),
        };
      },
      saveCursor: async (mailboxId, folder, cursor) => {
        // A folder no longer watched (a PATCH while this poll ran) keeps no cursor: watching it again starts afresh.
        await this.deps.mailboxes.change(mailboxId, (current) => (current.folders.includes(folder)
          ? { ...current, folderState: { ...current.folderState, [folder]: cursor } }
          : current));
      },
      events: this.deps.events,
      content: { parse: parseMessage, maxBytes: this.deps.settings.contentMaxBytes },
      now: () => new Date(this.now()),
    };
  }

  /** IDLE on the kept session: new mail triggers a poll now. */
  private listen(mailbox: MailboxRecord): void {
    // IDLE watches INBOX, where new mail lands; other folders rely on the scheduled polls.
    if (!this.deps.settings.idle || !this.keepsSessions(mailbox) || !mailbox.folders.some((f) => f.toUpperCase() === 'INBOX')) return;
    const session = this.pool.peek(mailbox.id);
    if (!session) return;
    session.onNewMail(() => {
      this.deps.scheduler.pollNow(mailbox.id).catch((err: unknown) => this.deps.logger.warn({ err, mailboxId: mailbox.id }, 'idle poll not scheduled'));
    });
    void session.idleOn('INBOX').catch(() => undefined);
  }
}

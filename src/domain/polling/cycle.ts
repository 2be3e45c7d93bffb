/**
 * One poll cycle of one mailbox, as a poll job triggers it: take the
 * mailbox's poll lock if the trigger is still the mailbox's scheduled one (no
 * mailbox is polled by two workers at once; one script does both), poll
 * within the tenant's concurrency and a deadline, record the outcome and state
 * change, announce state changes, and schedule the next poll (the interval,
 * Exchange's suggested back-off, or an exponential back-off after errors).
 *
 * A poll that went well for a mailbox with nothing to clear (active, no error,
 * no failures) changes nothing in the mailbox record and writes nothing to
 * it: its next due time goes in the schedule and its time in the poll marks,
 * which is where the views read nextPollAt and lastPollAt (issue 19: the read
 * and compare-and-set of the record were a third of a kept poll's Redis work).
 *
 * Sessions stay open between polls while the interval is short, and idle on
 * INBOX: new mail reported by IDLE triggers a poll at once, and so does a
 * message changed or gone when the mailbox follows changes (issue 16: the
 * poll finds and announces them, so IDLE never announces anything itself and
 * nothing is announced twice); the scheduled poll stays as the safety net
 * (IDLE notifications can be lost).
 */
import { classify } from '../../errors/classify.js';
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { KeptLease } from '../../store/lock.js';
import type { ConnectionService } from '../connections/service.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import { mailLogin } from '../mailboxes/mail-login.js';
import { isTracked } from '../mailboxes/track.js';
import type { LastErrorT } from '../mailboxes/model.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import { tokenRetryDecision } from '../tokens/retry-policy.js';
import type { TokenService } from '../tokens/token-service.js';
import type { BounceHandler } from './bounce-check.js';
import type { ContentPorts } from './content.js';
import { failureResult, pollMailbox, type PollResult, type PollerPorts } from './poller.js';
import type {
  MailboxLocks, PollMailSession, PollMarksPort, PollSchedulePort, PollSessions, TenantPermits, TrackedWindows,
} from './ports.js';
import { backoffDelayMs, nextPollAt, throttleDelayMs } from './schedule.js';
import { transition } from './transitions.js';
import { wakePeers } from './wake-peers.js';

/** The longest a mailbox whose poll met a full Redis waits for its next poll. */
const STORAGE_FULL_REPOLL_MS = 30_000;

export interface PollCycleSettings {
  /** Keep sessions open between polls for mailboxes polled at least this often (s); 0: never. */
  keepSessionsUnderSeconds: number;
  /** Listen with IMAP IDLE on kept sessions. */
  idle: boolean;
  /**
   * The poll lock's lifetime, in ms. It is extended every third of it while the poll runs, so a
   * worker that dies leaves a lock that lapses within this time, and another worker takes over.
   */
  lockTtlMs: number;
  /** The most one poll may take, in ms, whatever the server does. */
  pollTimeoutMs: number;
  maxMessagesPerFolder: number;
  /** Largest message downloaded and parsed for the consumers that want content (MESSAGE_PARSE_MAX_BYTES), in bytes. */
  contentMaxBytes: number;
  /** Message bytes downloaded for content per folder per poll (see PollOptions.maxContentBytes). */
  maxContentBytes: number;
  /** Polls in flight per tenant across all workers; 0: no limit. */
  tenantConcurrency: number;
  /** A tracked folder's full look at least this often (s; track-folder.ts); 0: at every poll. */
  trackFullLookSeconds: number;
}

export interface PollCycleDeps {
  schedule: PollSchedulePort;
  locks: MailboxLocks;
  /** When each mailbox's last poll was recorded (lastPollAt). */
  marks: PollMarksPort;
  permits: TenantPermits;
  /** Where the permits are kept (store/keys.ts). */
  keys: { tenantPolls(tenant: string): string };
  sessions: PollSessions;
  mailboxes: MailboxService;
  connections: Pick<ConnectionService, 'record'>;
  tokens: Pick<TokenService, 'appToken' | 'delegatedToken'>;
  events: EventPublisher;
  /** The tracked windows of mailboxes that follow changes (store/tracked-windows.ts). */
  windows?: TrackedWindows;
  metrics: Metrics;
  logger: Logger;
  /** Trusted CAs for IMAP (Node's roots plus NODE_EXTRA_CA_CERTS). */
  ca: readonly string[];
  /** What to tell the user when the IMAP server does not finish a poll in time (the adapter's words). */
  unreachableHint: string;
  /** The MIME parser, for the content of messages a consumer wants (a webhook's `include`). */
  parse: ContentPorts['parse'];
  /** Delivery reports found among new mail, matched to their sends (bounce-check.ts). */
  bounces?: BounceHandler;
  settings: PollCycleSettings;
  now?: () => number;
}

/** What became of one trigger; `busy`: another worker holds the mailbox, try again in a second or two. */
export type CycleOutcome =
  | PollResult['kind'] | 'busy' | 'stale' | 'gone' | 'paused' | 'pending_authorization' | 'tenant_busy' | 'lock_lost' | 'storage_full';

export class PollCycle {
  private readonly now: () => number;
  /** No session is kept from now on (the worker is stopping). */
  private stopping = false;
  /** Mailboxes whose IDLE-triggered poll is being scheduled: a burst of notifications schedules one. */
  private readonly waking = new Set<string>();
  /**
   * Mailboxes this process is polling, and whether their session heard of activity meanwhile. A
   * notice during a poll (mail after its STATUS, reported in the answer to a later command) cannot
   * schedule a poll then: the poll's own reschedule would replace it, and the mail would wait for
   * the next scheduled poll. It is kept here, and the poll is followed by another at once.
   */
  private readonly polling = new Map<string, { heard: boolean }>();

  constructor(private readonly deps: PollCycleDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Sessions are kept between polls again (a worker started, or started again). */
  resume(): void {
    this.stopping = false;
  }

  /** Sessions given back from now on are closed; the kept ones are the adapter's to close. */
  stop(): void {
    this.stopping = true;
  }

  /** Runs the poll that the trigger `due` of this mailbox asks for, if it is still the mailbox's. */
  async run(mailboxId: string, due: number): Promise<CycleOutcome> {
    const { locks, settings } = this.deps;
    // The record is read under the lock (the last poll's cursors are in it), sent with the claim.
    const { claim: lease, value: mailbox } = await locks.claimThenRead(mailboxId, due, settings.lockTtlMs, () => this.deps.mailboxes.find(mailboxId));
    // Another worker is polling this mailbox (or a dead one's lock has not lapsed yet), or the
    // trigger is no longer the mailbox's due time.
    if (lease === 'busy' || lease === 'stale') return lease;
    const kept = locks.keep(lease, settings.lockTtlMs);
    let released: Promise<void> | undefined;
    const hold: Hold = {
      kept,
      release: () => {
        kept.stop();
        released ??= locks.release(lease).then(() => undefined, () => undefined);
        return released;
      },
    };
    try {
      if (!mailbox) {
        this.deps.sessions.drop(mailboxId);
        await this.deps.schedule.unschedule(mailboxId);
        return 'gone';
      }
      if (mailbox.state === 'paused' || mailbox.state === 'pending_authorization') return mailbox.state;
      return await this.withinTenantLimit(mailbox, () => this.pollAndReschedule(mailbox, due, hold));
    } finally {
      await hold.release();
    }
  }

  /** A second or two from now, jittered: when a mailbox that could not be polled is tried again. */
  soon(): number {
    return this.now() + 1000 + Math.floor(Math.random() * 1000);
  }

  private async pollAndReschedule(mailbox: MailboxRecord, due: number, hold: Hold): Promise<CycleOutcome> {
    const log = this.deps.logger.child({ mailboxId: mailbox.id });
    const watch = { heard: false };
    this.polling.set(mailbox.id, watch);
    try {
      const outcome = await this.pollAndRecord(mailbox, due, hold, log);
      // Heard while polling: mail the poll did not see. Its reschedule is done: now poll again.
      if (outcome === 'ok' && watch.heard) await this.wake(mailbox.id);
      return outcome;
    } finally {
      this.polling.delete(mailbox.id);
    }
  }

  private async pollAndRecord(mailbox: MailboxRecord, due: number, hold: Hold, log: Logger): Promise<CycleOutcome> {
    const { kept } = hold;
    const started = this.now();
    this.deps.metrics.pollLag.observe(Math.max(0, started - due) / 1000);
    // The record as the poll's last cursor write left it (the poll's own reads are of `mailbox`).
    let latest = mailbox;
    const result = await this.boundedPoll(mailbox, log, kept, (saved) => (latest = saved));
    if (kept.isLost()) {
      // Another worker holds the mailbox now: it records and reschedules. If it has not rescheduled
      // yet, poll again in a second or two (under the lock, as always) rather than wait for the sweeper.
      log.warn('poll lock taken by another worker during the poll: poll abandoned');
      try {
        if ((await this.deps.schedule.dueOf(mailbox.id)) === due) await this.deps.schedule.schedule(mailbox.id, this.soon());
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
    const at = this.now();
    if (result.kind === 'ok' && hasNothingToClear(latest)) {
      // Nothing of the record changes. A pause, a deletion, a resume or a "poll now" while it polled
      // moved the due time or took it away: the reschedule then leaves the schedule as it is.
      // The lock goes with them (one write; Redis runs them in order): the poll is over once the
      // schedule has moved, and announces nothing.
      await Promise.all([
        this.deps.schedule.reschedule(mailbox.id, due, next, latest.pollIntervalSeconds * 1000),
        this.deps.marks.mark(mailbox.id, at),
        hold.release(),
      ]);
      this.listen(latest);
      return 'ok';
    }
    const failure = result.kind === 'ok' ? null : await this.describeFailure(mailbox, result, new Date(at).toISOString());
    const outcome = result.kind === 'ok' ? { kind: 'ok' as const } : { kind: result.kind, error: result.error };
    let change = transition(mailbox.state, outcome);
    const updated = await this.deps.mailboxes.change(mailbox.id, (current) => {
      change = transition(current.state, outcome);
      // A pause or a new sign-in while we polled wins over our outcome.
      const state = current.state === 'paused' || current.state === 'pending_authorization' ? current.state : change.state;
      return {
        ...current,
        state,
        failures: result.kind === 'ok' ? 0 : (current.failures ?? 0) + 1,
        lastError: failure ?? (state === 'active' ? null : current.lastError),
      };
    });
    const schedulable = updated.state !== 'paused' && updated.state !== 'pending_authorization';
    await Promise.all([
      schedulable ? this.deps.schedule.reschedule(mailbox.id, due, next, updated.pollIntervalSeconds * 1000) : undefined,
      this.deps.marks.mark(mailbox.id, at),
    ]);
    await this.announce(updated, change.event);
    if (change.event?.type === 'mailbox.recovered' && mailbox.lastError) await this.wakePeersOf(mailbox, mailbox.lastError.code, log);
    if (result.kind === 'ok') this.listen(updated);
    return result.kind;
  }

  /** This mailbox got past an outage of a shared server: its peers held in error by it are polled soon. */
  private async wakePeersOf(recovered: MailboxRecord, code: string, log: Logger): Promise<void> {
    try {
      const woken = await wakePeers({ mailboxes: this.deps.mailboxes, scheduler: this.deps.schedule, now: this.now }, recovered, code);
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
   * job then fails unrecorded, and once there is room it runs again (its lock lapsed: a stalled
   * job) or the sweeper re-adds the overdue mailbox's trigger.
   */
  private async afterStorageFull(mailbox: MailboxRecord): Promise<CycleOutcome> {
    const intervalMs = mailbox.pollIntervalSeconds * 1000;
    await this.deps.schedule.schedule(mailbox.id, this.now() + Math.min(intervalMs, STORAGE_FULL_REPOLL_MS), intervalMs);
    return 'storage_full';
  }

  /**
   * One poll, with a deadline. imapflow's timeouts are idle timeouts: a server
   * that answers a byte at a time, or a literal that trickles, keeps a poll
   * alive forever. At the deadline the poll's sessions are closed, which fails
   * the command in flight (the poll then cleans up as after any IMAP error),
   * and the poll counts as failed at once.
   */
  private async boundedPoll(mailbox: MailboxRecord, log: Logger, kept: KeptLease, saved: (record: MailboxRecord) => void): Promise<PollResult> {
    const limitMs = this.deps.settings.pollTimeoutMs;
    const sessions: PollMailSession[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<PollResult>((resolve) => {
      timer = setTimeout(() => {
        for (const session of sessions) session.close();
        const where = `${mailbox.imap.host}:${mailbox.imap.port}`;
        resolve(failureResult(new AppError('imap_unreachable',
          `${where} did not complete the poll of ${mailbox.email} within ${Math.round(limitMs / 1000)} s (it answers too slowly or not at all); the connection was dropped.`,
          { hint: this.deps.unreachableHint, step: 'network' })));
      }, limitMs);
    });
    // A lost lock ends the poll as the deadline does: its sessions close, its command fails.
    kept.onLost(() => {
      for (const session of sessions) session.close();
    });
    try {
      return await Promise.race([
        pollMailbox(mailbox, this.ports(mailbox, log, (session) => void (sessions.includes(session) || sessions.push(session)), saved), {
          maxMessagesPerFolder: this.deps.settings.maxMessagesPerFolder,
          batchSize: 100,
          maxContentBytes: this.deps.settings.maxContentBytes,
          fullLookSeconds: this.deps.settings.trackFullLookSeconds,
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
  private async withinTenantLimit(mailbox: MailboxRecord, poll: () => Promise<CycleOutcome>): Promise<CycleOutcome> {
    const limit = this.deps.settings.tenantConcurrency;
    if (limit <= 0) return poll();
    const key = this.deps.keys.tenantPolls(mailbox.tenantId ?? mailbox.connectionId);
    // The permit is not extended: it outlives the longest poll.
    const permit = await this.deps.permits.acquire(key, limit, this.deps.settings.pollTimeoutMs + 5_000);
    if (!permit) {
      await this.deps.schedule.schedule(mailbox.id, this.soon());
      return 'tenant_busy';
    }
    try {
      return await poll();
    } finally {
      await this.deps.permits.release(permit).catch(() => undefined);
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
    return mailbox.pollIntervalSeconds <= this.deps.settings.keepSessionsUnderSeconds && !this.stopping;
  }

  /**
   * `using` is told every session the poll works with, new or pooled, as soon as it exists (for the
   * deadline); `saved`, the record as each cursor write leaves it.
   */
  private ports(mailbox: MailboxRecord, log: Logger, using: (session: PollMailSession) => void, saved: (record: MailboxRecord) => void): PollerPorts {
    return {
      token: async (m) => {
        // No token goes to an IMAP server off MAIL_HOST_ALLOWLIST.
        this.deps.mailboxes.assertServersAllowed(m);
        return m.flow === 'app_only'
          ? this.deps.tokens.appToken(m.connectionId, { tenantId: m.tenantId })
          : this.deps.tokens.delegatedToken(m.connectionId, m.id, m.account ?? undefined);
      },
      session: async (m, token) => {
        const login = { ...m.imap, ...mailLogin(m, token.accessToken, this.deps.ca, log) };
        const { session, done } = await this.deps.sessions.open(m.id, login, token, using);
        return { session, done: (healthy) => done(healthy && this.keepsSessions(m)) };
      },
      saveCursor: async (mailboxId, folder, cursor) => {
        // A folder no longer watched (a PATCH while this poll ran) keeps no cursor: watching it again starts afresh.
        saved(await this.deps.mailboxes.change(mailboxId, (current) => (current.folders.includes(folder)
          ? { ...current, folderState: { ...current.folderState, [folder]: cursor } }
          : current)));
      },
      events: this.deps.events,
      ...(this.deps.windows ? { windows: this.deps.windows } : {}),
      content: { parse: this.deps.parse, maxBytes: this.deps.settings.contentMaxBytes },
      ...(this.deps.bounces ? { bounces: this.deps.bounces } : {}),
      now: () => new Date(this.now()),
    };
  }

  /** IDLE on the kept session: new mail (and, when followed, a changed or gone message) triggers a poll now. */
  private listen(mailbox: MailboxRecord): void {
    // IDLE watches INBOX, where new mail lands; other folders rely on the scheduled polls.
    if (!this.deps.settings.idle || !this.keepsSessions(mailbox) || !mailbox.folders.some((f) => f.toUpperCase() === 'INBOX')) return;
    const tracked = isTracked(mailbox.track);
    const inbox = mailbox.folders.find((f) => f.toUpperCase() === 'INBOX')!;
    this.deps.sessions.listen(mailbox.id, 'INBOX', (kind) => {
      if (kind === 'change' && !tracked) return;
      const polling = this.polling.get(mailbox.id);
      if (polling) {
        polling.heard = true;
        return;
      }
      void this.wake(mailbox.id);
    }, mailbox.folderState[inbox]?.uidNext);
  }

  /** A poll now, for what IDLE heard. A thousand messages marked read at once are a thousand notifications: one poll. */
  private async wake(mailboxId: string): Promise<void> {
    if (this.waking.has(mailboxId)) return;
    this.waking.add(mailboxId);
    try {
      await this.deps.schedule.pollNow(mailboxId);
    } catch (err) {
      this.deps.logger.warn({ err, mailboxId }, 'idle poll not scheduled');
    } finally {
      this.waking.delete(mailboxId);
    }
  }
}

/** The poll lock as a poll holds it: kept alive, and given back once, as early as the poll allows. */
interface Hold {
  kept: KeptLease;
  release(): Promise<void>;
}

/** Active without an error or failures to clear: a poll that went well changes nothing of the record. */
function hasNothingToClear(mailbox: MailboxRecord): boolean {
  return mailbox.state === 'active' && !mailbox.lastError && !mailbox.failures;
}

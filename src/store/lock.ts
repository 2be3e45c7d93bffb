/**
 * A Redis lock with an owner token: SET NX PX to take it, a compare-and-delete
 * script to release only one's own. Used for single-flight work across
 * processes (one token request per connection, one poll per mailbox).
 *
 * Leases kept alive while work runs share one timer per lifetime (LeaseKeeper),
 * not one each: a poll of a kept session takes milliseconds, and a timer made
 * and cleared per poll cost more than the poll's own work (issue 19).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';
import { LuaScript } from './lua-script.js';

const RELEASE = new LuaScript('lock-release-1');
// Extends one's own lease; takes it again if it lapsed and nobody took it meanwhile.
const EXTEND = new LuaScript('lock-extend-1');

export interface Lease {
  key: string;
  token: string;
}

export interface KeptLease {
  /** Settles when the lease is known lost (never, if it is kept to the end). */
  readonly lost: Promise<void>;
  isLost(): boolean;
  /** Calls `listener` once when the lease is known lost (at once if it is already). */
  onLost(listener: () => void): void;
  /** Stops extending (before releasing it). */
  stop(): void;
}

/** A random owner token for a lease. */
export const leaseToken = (): string => randomBytes(12).toString('base64url');

export class RedisLock {
  private readonly keepers = new Map<number, LeaseKeeper>();

  constructor(private readonly redis: Redis) {}

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const token = leaseToken();
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? { key, token } : undefined;
  }

  async release(lease: Lease): Promise<boolean> {
    return (await RELEASE.run(this.redis, [lease.key], [lease.token])) === 1;
  }

  /**
   * Gives one's own lease `ttlMs` more from now, taking it again if it lapsed
   * and is free (Redis was unreachable past the TTL, or restarted empty);
   * false when someone else holds it.
   */
  async extend(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await EXTEND.run(this.redis, [lease.key], [lease.token, ttlMs])) === 1;
  }

  /**
   * Keeps a lease alive while work runs: extends it every third of `ttlMs`.
   * `lost` settles once an extension finds another holder. While Redis is
   * unreachable nobody else can take the lease, so the work goes on, and the
   * first extension after it returns either keeps the lease or says it is
   * lost. A dead process stops extending, so its lease lapses within `ttlMs`.
   */
  keep(lease: Lease, ttlMs: number): KeptLease {
    let keeper = this.keepers.get(ttlMs);
    if (!keeper) {
      keeper = new LeaseKeeper((kept) => this.extend(kept, ttlMs), Math.max(10, Math.floor(ttlMs / 3)));
      this.keepers.set(ttlMs, keeper);
    }
    return keeper.keep(lease);
  }

  async isHeld(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }
}

/** One kept lease: lost or not, and who wants to know. */
class KeptEntry implements KeptLease {
  private lostFlag = false;
  private listeners: (() => void)[] | undefined;
  private lostPromise: Promise<void> | undefined;

  constructor(readonly lease: Lease, private readonly unkeep: (entry: KeptEntry) => void) {}

  get lost(): Promise<void> {
    this.lostPromise ??= new Promise<void>((resolve) => this.onLost(resolve));
    return this.lostPromise;
  }

  isLost(): boolean {
    return this.lostFlag;
  }

  onLost(listener: () => void): void {
    if (this.lostFlag) listener();
    else (this.listeners ??= []).push(listener);
  }

  markLost(): void {
    if (this.lostFlag) return;
    this.lostFlag = true;
    this.unkeep(this);
    for (const listener of this.listeners?.splice(0) ?? []) listener();
  }

  stop(): void {
    this.unkeep(this);
  }
}

/**
 * The leases of one lifetime kept by one timer, running only while it keeps
 * any. Each tick extends every lease it keeps (one command each, written
 * together). A lease kept just after a tick is first extended at the next,
 * within a third of its lifetime, as a timer of its own would.
 */
export class LeaseKeeper {
  private readonly entries = new Set<KeptEntry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly extend: (lease: Lease) => Promise<boolean>, private readonly everyMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  keep(lease: Lease): KeptLease {
    const entry = new KeptEntry(lease, (e) => this.unkeep(e));
    this.entries.add(entry);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.everyMs);
      this.timer.unref();
    }
    return entry;
  }

  private unkeep(entry: KeptEntry): void {
    this.entries.delete(entry);
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    for (const entry of this.entries) {
      this.extend(entry.lease).then((mine) => {
        if (!mine) entry.markLost();
      }, () => undefined);
    }
  }
}

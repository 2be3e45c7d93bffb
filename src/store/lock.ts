/**
 * A Redis lock with an owner token: SET NX PX to take it, a compare-and-delete
 * script to release only one's own. Used for single-flight work across
 * processes (one token request per connection, one poll per mailbox).
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
  lost: Promise<void>;
  isLost(): boolean;
  /** Stops extending (before releasing it). */
  stop(): void;
}

export class RedisLock {
  constructor(private readonly redis: Redis) {}

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const token = randomBytes(12).toString('base64url');
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? { key, token } : undefined;
  }

  async release(lease: Lease): Promise<boolean> {
    return (await this.redis.eval(RELEASE.source, 1, lease.key, lease.token)) === 1;
  }

  /**
   * Gives one's own lease `ttlMs` more from now, taking it again if it lapsed
   * and is free (Redis was unreachable past the TTL, or restarted empty);
   * false when someone else holds it.
   */
  async extend(lease: Lease, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND.source, 1, lease.key, lease.token, ttlMs)) === 1;
  }

  /**
   * Keeps a lease alive while work runs: extends it every third of `ttlMs`.
   * `lost` settles once an extension finds another holder. While Redis is
   * unreachable nobody else can take the lease, so the work goes on, and the
   * first extension after it returns either keeps the lease or says it is
   * lost. A dead process stops extending, so its lease lapses within `ttlMs`.
   */
  keep(lease: Lease, ttlMs: number): KeptLease {
    let lost = false;
    let signal: () => void = () => undefined;
    const lostPromise = new Promise<void>((resolve) => (signal = resolve));
    const markLost = (): void => {
      if (lost) return;
      lost = true;
      clearInterval(timer);
      signal();
    };
    const timer = setInterval(() => {
      this.extend(lease, ttlMs).then((mine) => {
        if (!mine) markLost();
      }, () => undefined);
    }, Math.max(10, Math.floor(ttlMs / 3)));
    timer.unref();
    return { lost: lostPromise, isLost: () => lost, stop: () => clearInterval(timer) };
  }

  async isHeld(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }
}

/**
 * The poll locks (domain/polling/ports.ts MailboxLocks): a poll job's claim
 * on its mailbox is the mailbox's poll lock, taken only while the job's
 * trigger is still the mailbox's due time, in one script
 * (store/lua/poll-claim-2.lua); a stale trigger takes no lock. The lock and
 * the schedule share a hash tag (store/keys.ts), so the script runs in one
 * slot of a cluster. Keeping and releasing are RedisLock's.
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { leaseToken, RedisLock, type KeptLease, type Lease } from './lock.js';
import { LuaScript } from './lua-script.js';

const CLAIM = new LuaScript('poll-claim-2');

/** The lease, or why there is none: another worker holds the mailbox (`busy`), or the trigger is no longer its due time (`stale`). */
export type PollClaim = Lease | 'busy' | 'stale';

export class PollLocks {
  private readonly lock: RedisLock;

  constructor(private readonly redis: Redis, private readonly keys: Pick<KeySpace, 'pollLock' | 'pollDue'>) {
    this.lock = new RedisLock(redis);
  }

  async claim(mailboxId: string, due: number, ttlMs: number): Promise<PollClaim> {
    const key = this.keys.pollLock(mailboxId);
    const token = leaseToken();
    const answer = await CLAIM.run(this.redis, [key, this.keys.pollDue()], [mailboxId, due, token, ttlMs]);
    if (answer === 1) return { key, token };
    return answer === 0 ? 'busy' : 'stale';
  }

  keep(lease: Lease, ttlMs: number): KeptLease {
    return this.lock.keep(lease, ttlMs);
  }

  release(lease: Lease): Promise<boolean> {
    return this.lock.release(lease);
  }
}

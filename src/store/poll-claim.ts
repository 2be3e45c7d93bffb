/**
 * The poll locks (domain/polling/ports.ts MailboxLocks): a poll job's claim
 * on its mailbox is the mailbox's poll lock, taken only while the job's
 * trigger is still the mailbox's due time, in one script
 * (store/lua/poll-claim-2.lua); a stale trigger takes no lock. The lock and
 * the schedule share a hash tag (store/keys.ts), so the script runs in one
 * slot of a cluster. Keeping and releasing are RedisLock's.
 *
 * What the poll reads under the lock (the mailbox record) can go with the
 * claim, in the same write (claimThenRead): Redis runs a connection's commands
 * in order, so the read sees what the previous holder wrote before it let go.
 */
import { isCluster, type Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { leaseToken, RedisLock, type KeptLease, type Lease } from './lock.js';
import { LuaScript } from './lua-script.js';

const CLAIM = new LuaScript('poll-claim-2');

/** The lease, or why there is none: another worker holds the mailbox (`busy`), or the trigger is no longer its due time (`stale`). */
export type PollClaim = Lease | 'busy' | 'stale';

export class PollLocks {
  private readonly lock: RedisLock;

  constructor(private readonly redis: Redis, private readonly keys: Pick<KeySpace, 'pollLock' | 'pollDue' | 'pollShardOf'>) {
    this.lock = new RedisLock(redis);
  }

  async claim(mailboxId: string, due: number, ttlMs: number): Promise<PollClaim> {
    const key = this.keys.pollLock(mailboxId);
    const token = leaseToken();
    const answer = await CLAIM.run(this.redis, [key, this.keys.pollDue(this.keys.pollShardOf(mailboxId))], [mailboxId, due, token, ttlMs]);
    if (answer === 1) return { key, token };
    return answer === 0 ? 'busy' : 'stale';
  }

  /**
   * The claim, and `read` (of keys in this Redis) run after it: sent with it, on one server (one
   * write instead of two round trips); sent again once the claim is answered when the claim had to
   * send its script's source (NOSCRIPT: it then ran after the read). On a cluster the two may go to
   * different nodes, with no order between them: there the read waits for the claim. `value` is
   * the read's answer when the claim is a lease.
   */
  async claimThenRead<T>(mailboxId: string, due: number, ttlMs: number, read: () => Promise<T>): Promise<{ claim: PollClaim; value?: T }> {
    if (isCluster(this.redis)) {
      const claim = await this.claim(mailboxId, due, ttlMs);
      if (typeof claim === 'string') return { claim };
      try {
        return { claim, value: await read() };
      } catch (err) {
        await this.release(claim).catch(() => undefined);
        throw err;
      }
    }
    const loads = CLAIM.loads;
    const claiming = this.claim(mailboxId, due, ttlMs);
    const reading = read();
    // Answered or not, the early read is not awaited on every path: its failure is the later read's.
    reading.catch(() => undefined);
    const claim = await claiming;
    if (typeof claim === 'string') return { claim };
    try {
      return { claim, value: CLAIM.loads === loads ? await reading : await read() };
    } catch (err) {
      // Not left to lapse: the lock goes back with the failure.
      await this.release(claim).catch(() => undefined);
      throw err;
    }
  }

  keep(lease: Lease, ttlMs: number): KeptLease {
    return this.lock.keep(lease, ttlMs);
  }

  release(lease: Lease): Promise<boolean> {
    return this.lock.release(lease);
  }
}

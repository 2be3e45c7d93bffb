/**
 * The SMTP connection slots of each mailbox, shared by every worker
 * (adapters/smtp/send-pool.ts ConnectionSlots): Exchange Online accepts at
 * most 3 SMTP connections per mailbox at once and answers a 4th with
 * `432 4.3.2`. A worker takes the slots of its pool's connections before the
 * pool opens any, renews them while the pool lives and gives them back when
 * it closes; a crashed worker's slots lapse with their lease.
 *
 * One sorted set per mailbox (in the mailbox's slot on a cluster), a member
 * per slot held, scored by its lease's expiry.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from '../adapters/redis/redis.js';
import type { ConnectionSlots, SlotLease } from '../adapters/smtp/send-pool.js';
import { LuaScript } from './lua-script.js';

const TAKE = new LuaScript('slots-take-1');
const RENEW = new LuaScript('slots-renew-1');

export interface ConnectionSlotSettings {
  /** Slots per mailbox across every worker (Exchange: 3). */
  limit: number;
  /** A lease lapses this long after it was taken or last renewed (ms). */
  leaseMs: number;
}

export class RedisConnectionSlots implements ConnectionSlots {
  constructor(
    private readonly redis: Redis,
    private readonly key: (mailboxId: string) => string,
    private readonly settings: ConnectionSlotSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async take(mailboxId: string, count: number): Promise<SlotLease | undefined> {
    const key = this.key(mailboxId);
    const holder = randomBytes(9).toString('base64url');
    const { leaseMs, limit } = this.settings;
    const now = this.now();
    const taken = await TAKE.run(this.redis, [key], [now, now + leaseMs, holder, count, limit, leaseMs * 2]);
    if (taken !== 1) return undefined;
    return {
      renew: async () => {
        const at = this.now();
        return (await RENEW.run(this.redis, [key], [at, at + leaseMs, holder, count, leaseMs * 2])) === 1;
      },
      release: async () => {
        await this.redis.zrem(key, ...Array.from({ length: count }, (_, n) => `${holder}:${n + 1}`));
      },
    };
  }
}

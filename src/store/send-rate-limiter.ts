/**
 * Exchange Online's submission limits per mailbox, as Redis sliding windows
 * shared by every worker process: at most `messages` messages per
 * `messagesWindowMs` (30 a minute) and `recipients` recipients per
 * `recipientsWindowMs` (10,000 a rolling day). One atomic script checks both
 * windows and takes a slot in both, or takes nothing and answers how long to
 * wait until a slot frees. The caller delays the message that long: over
 * the limit a message waits, it is never refused or dropped.
 *
 * A message that already holds a slot (a retry after a transient failure
 * inside the window) keeps it and is not counted twice. Each window is a
 * sorted set of send ids by submission time; the recipients window also
 * keeps each send's recipient count and a running total in a hash, so the
 * check is O(expired entries), not O(window).
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { SendKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

export interface SendRateLimits {
  /** 0: no limit. */
  messages: number;
  messagesWindowMs: number;
  /** 0: no limit. */
  recipients: number;
  recipientsWindowMs: number;
}

// Checks both windows and takes a slot in both, or answers the wait (store/lua/send-rate-reserve-3.lua).
const RESERVE = new LuaScript('send-rate-reserve-3');

export class SendRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SendKeys,
    private readonly limits: SendRateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.messages > 0 || this.limits.recipients > 0;
  }

  /** Takes a slot for the message: 0 when it may be submitted now, else how long to wait (ms). */
  async reserve(mailboxId: string, sendId: string, recipients: number): Promise<number> {
    if (!this.enabled) return 0;
    const { messages, messagesWindowMs, recipients: recipientLimit, recipientsWindowMs } = this.limits;
    const wait = await RESERVE.run(
      this.redis,
      [this.keys.rateMessages(mailboxId), this.keys.rateRecipients(mailboxId), this.keys.rateRecipientCounts(mailboxId)],
      [this.now(), messagesWindowMs, messages, recipientsWindowMs, recipientLimit, sendId, recipients],
    );
    return Number(wait);
  }
}

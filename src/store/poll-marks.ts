/**
 * When each mailbox's last poll was recorded: one hash field per mailbox
 * (pollLastAt), written by every recorded poll, read by the mailbox views
 * (lastPollAt). Kept apart from the mailbox record so that a poll that finds
 * nothing new writes one field instead of reading and rewriting the record
 * (issue 19); the record and this hash share the control plane's hash tag, so
 * the mark is written only while the record exists (store/lua/poll-mark-2.lua).
 */
import type { Redis } from '../adapters/redis/redis.js';
import type { KeySpace } from './keys.js';
import { LuaScript } from './lua-script.js';

const MARK = new LuaScript('poll-mark-2');

export class PollMarks {
  constructor(private readonly redis: Redis, private readonly keys: Pick<KeySpace, 'mailbox' | 'pollLastAt'>) {}

  /** Notes `at` (ms) as the mailbox's last poll; nothing when the mailbox is gone. */
  async mark(mailboxId: string, at: number): Promise<void> {
    await MARK.run(this.redis, [this.keys.mailbox(mailboxId), this.keys.pollLastAt()], [mailboxId, at]);
  }

  /** The last poll (ms) of each mailbox, in order; undefined for one never polled since it was kept here. */
  async lastAt(mailboxIds: readonly string[]): Promise<(number | undefined)[]> {
    if (mailboxIds.length === 0) return [];
    const values = await this.redis.hmget(this.keys.pollLastAt(), ...mailboxIds);
    return values.map((value) => (value === null ? undefined : Number(value)));
  }

  /** Forgets a deleted mailbox's mark. */
  async remove(mailboxId: string): Promise<void> {
    await this.redis.hdel(this.keys.pollLastAt(), mailboxId);
  }
}

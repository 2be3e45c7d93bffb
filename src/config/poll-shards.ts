/** Poll shards (store/poll-shards.ts): how many when POLL_SHARDS is not set, and the most allowed. */

/** Even splits for 1, 2, 4, 8 or 16 workers, and room to spread over up to 16 cluster masters. */
export const DEFAULT_POLL_SHARDS = 16;
/** Each owned shard is one BullMQ worker (two Redis connections) in a worker process. */
export const MAX_POLL_SHARDS = 256;

/**
 * Every Redis key the service uses is built here, under one prefix.
 *
 * Redis Cluster: commands and scripts that touch several keys need them in one
 * hash slot. The control plane (connections, mailboxes, webhooks, their
 * indexes) is small and often read together, so it shares the hash tag
 * `{<prefix>}`; BullMQ's queues share the tag `{<prefix>:q}` so each queue's
 * keys stay together, as BullMQ requires on a cluster.
 */
export interface KeySpace {
  readonly prefix: string;
  /** The prefix BullMQ prepends to its queue keys. */
  readonly queuePrefix: string;
  connection(id: string): string;
  /** Sorted set of connection ids by creation time. */
  connections(): string;
  /** Worker heartbeats: a sorted set of worker ids by last beat (ms). */
  workers(): string;
}

export function createKeySpace(prefix: string): KeySpace {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new Error(`invalid Redis prefix: ${prefix}`);
  const tag = `{${prefix}}`;
  return {
    prefix,
    queuePrefix: `{${prefix}:q}`,
    connection: (id) => `${tag}:connection:${id}`,
    connections: () => `${tag}:connections`,
    workers: () => `${tag}:workers`,
  };
}

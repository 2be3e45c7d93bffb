/**
 * The outbox relay: turns accepted messages into BullMQ jobs. The API puts
 * each send id in the outbox (a Redis list) in the same script that stores
 * the message, so a stored message always has its way to a worker, and the
 * API does no BullMQ work per request. Every worker process runs one relay;
 * BLPOP hands each id to exactly one of them, which queues its job (job id =
 * send id, so queueing twice is harmless).
 *
 * A relay that dies between taking ids and queueing their jobs loses the
 * ids from the outbox, not the messages: they stay in the pending index,
 * where the sweeper finds them without a job and queues them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from '../../adapters/redis/redis.js';
import type { Logger } from '../../logging/logger.js';
import type { SendStore } from '../../store/send-store.js';

/** How long one BLPOP waits (s): also how long stop() may wait for it. */
const WAIT_SECONDS = 1;
/** Most ids taken at once. */
const BATCH = 500;

export interface OutboxRelayDeps {
  store: Pick<SendStore, 'takeOutbox'>;
  /** Makes the relay's own connection: BLPOP holds a connection while it waits. */
  blockingConnection: () => Redis;
  enqueue: (sendId: string) => Promise<void>;
  logger: Logger;
}

export class OutboxRelay {
  private running: Promise<void> | undefined;
  private connection: Redis | undefined;
  private stopping = false;

  constructor(private readonly deps: OutboxRelayDeps) {}

  start(): void {
    if (this.running) return;
    this.stopping = false;
    const connection = this.deps.blockingConnection();
    // While Redis is down the connection retries by itself; without a listener ioredis
    // would print each failed attempt to stderr as an "Unhandled error event".
    connection.on('error', (err: Error) => this.deps.logger.warn({ err }, 'send outbox connection error'));
    this.connection = connection;
    this.running = this.loop(connection);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Ends a BLPOP in progress at once (it rejects, and the loop sees `stopping`).
    this.connection?.disconnect();
    this.connection = undefined;
    await this.running;
    this.running = undefined;
  }

  private async loop(connection: Redis): Promise<void> {
    while (!this.stopping) {
      let ids: string[] = [];
      try {
        ids = await this.deps.store.takeOutbox(connection, WAIT_SECONDS, BATCH);
        await Promise.all(ids.map((id) => this.deps.enqueue(id)));
      } catch (err) {
        if (this.stopping) return;
        this.deps.logger.warn({ err, taken: ids.length }, 'send outbox relay failed; the sweeper queues what it took');
        await sleep(1_000);
      }
    }
  }
}

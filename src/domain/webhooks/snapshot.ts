/**
 * The subscriptions as one in-process snapshot, for the hot paths: every
 * published event needs the list (which subscriptions want it) and every
 * attempt needs one subscription and its decrypted keys. The snapshot is
 * reloaded whenever the version counter (bumped by every change, in any
 * process) has moved, so a subscription created, deleted or rotated
 * anywhere is seen by the next publish or attempt, and the steady state
 * costs one GET instead of reading and decrypting records.
 */
import type { WebhookRecord } from './records.js';

export interface Snapshot {
  version: string | null;
  records: readonly WebhookRecord[];
  byId: ReadonlyMap<string, WebhookRecord>;
}

export interface SnapshotSource {
  /** The current version (null before any change). */
  version(): Promise<string | null>;
  /** Every subscription record. */
  load(): Promise<WebhookRecord[]>;
}

export class SubscriptionSnapshots {
  private current: Snapshot | undefined;
  private loading: { version: string | null; promise: Promise<Snapshot> } | undefined;

  constructor(private readonly source: SnapshotSource) {}

  async get(): Promise<Snapshot> {
    const version = await this.source.version();
    if (this.current && this.current.version === version) return this.current;
    // One reload per version, however many callers noticed it at once.
    if (this.loading && this.loading.version === version) return this.loading.promise;
    const promise = this.source.load().then((records) => {
      const snapshot: Snapshot = { version, records, byId: new Map(records.map((r) => [r.id, r])) };
      if (this.loading?.promise === promise) this.loading = undefined;
      this.current = snapshot;
      return snapshot;
    });
    promise.catch(() => {
      if (this.loading?.promise === promise) this.loading = undefined;
    });
    this.loading = { version, promise };
    return promise;
  }
}

/**
 * Webhook subscriptions: create, read, delete, rotate the secret; and, for
 * the delivery side, which subscriptions want an event and how to sign for
 * one. The secret is generated here, encrypted before it reaches the store,
 * and returned only by create and rotate.
 */
import type { Cipher } from '../../crypto/envelope.js';
import { ConflictError, NotFoundError } from '../../errors/errors.js';
import type { JsonStore } from '../../store/json-store.js';
import type { WebhookDeliveryReads } from '../../store/webhook-delivery-reads.js';
import type { DomainEvent } from '../events/events.js';
import { isId, newId } from '../ids.js';
import { DEFAULT_PAGE_LIMIT, invalidCursor, type PageQueryT, type PageT } from '../paging.js';
import type { ContentPart } from '../events/message-content.js';
import { secretAad, wants, wantsContentOf, webhookView, type StoredSecret, type WebhookRecord } from './records.js';
import type { CreateWebhookInput, RotatedSecretViewT, WebhookCreatedViewT, WebhookViewT } from './model.js';
import { newSecret, secretKey } from './signature.js';
import { SubscriptionSnapshots } from './snapshot.js';
import type { AddressPolicy } from './address-policy.js';
import { checkTarget, parseWebhookUrl, type Resolver } from './url-policy.js';

/** Publishing reads every subscription per event: keep their number small. */
export const MAX_SUBSCRIPTIONS = 500;

/** The counter that moves with every change to a subscription (see snapshot.ts). */
export interface VersionCounter {
  read(): Promise<string | null>;
  bump(): Promise<void>;
}

export interface SubscriptionServiceDeps {
  store: JsonStore<WebhookRecord>;
  version: VersionCounter;
  reads: WebhookDeliveryReads;
  cipher: Cipher;
  resolve: Resolver;
  /** Which addresses a webhook may target (address-policy.ts, from the webhook settings). */
  addresses: AddressPolicy;
  secretGraceSeconds: number;
  now?: () => Date;
}

/** A subscription that wants an event, and the content it wants of it. */
export interface MatchedSubscription {
  id: string;
  include: readonly ContentPart[];
}

/** What an attempt needs: where to, and the keys to sign with (newest first). */
export interface SigningTarget {
  url: string;
  keys: Buffer[];
}

export class WebhookSubscriptions {
  private readonly now: () => Date;
  private readonly snapshots: SubscriptionSnapshots;
  /** Decrypted signing keys by envelope (each envelope is unique), so attempts do not decrypt every time. */
  private readonly keyCache = new Map<string, Buffer>();

  constructor(private readonly deps: SubscriptionServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.snapshots = new SubscriptionSnapshots({ version: deps.version.read, load: () => deps.store.list(MAX_SUBSCRIPTIONS) });
  }

  private seal(id: string, version: number, secret: string): StoredSecret {
    return { version, envelope: this.deps.cipher.encrypt(secret, secretAad(id, version)) };
  }

  async create(input: CreateWebhookInput): Promise<WebhookCreatedViewT> {
    const url = parseWebhookUrl(input.url);
    await checkTarget(url, this.deps.resolve, { policy: this.deps.addresses });
    if ((await this.deps.store.list(MAX_SUBSCRIPTIONS)).length >= MAX_SUBSCRIPTIONS) {
      throw new ConflictError(`There are already ${MAX_SUBSCRIPTIONS} webhook subscriptions.`, 'Delete unused subscriptions first.');
    }
    const id = newId('whk');
    const secret = newSecret();
    const at = this.now().toISOString();
    const record: WebhookRecord = {
      id,
      url: url.href,
      description: input.description ?? null,
      events: [...input.events],
      mailboxIds: [...(input.mailboxIds ?? [])],
      ...(input.include?.length ? { include: [...input.include] } : {}),
      secret: this.seal(id, 1, secret),
      previousSecret: null,
      secretRotatedAt: null,
      createdAt: at,
      updatedAt: at,
    };
    await this.deps.store.create(record);
    await this.deps.version.bump();
    return { ...webhookView(record, undefined, this.now()), secret };
  }

  /** A page of subscriptions in creation order (domain/paging.ts), each with its endpoint's health. */
  async list(query: PageQueryT): Promise<PageT<WebhookViewT>> {
    const page = await this.deps.store.page({ limit: query.limit ?? DEFAULT_PAGE_LIMIT, cursor: query.cursor });
    if (page === 'invalid_cursor') throw invalidCursor();
    const health = await this.deps.reads.health(page.records.map((r) => r.id));
    const now = this.now();
    return { items: page.records.map((record, i) => webhookView(record, health[i], now)), nextCursor: page.nextCursor };
  }

  async get(id: string): Promise<WebhookViewT> {
    const record = await this.record(id);
    const [health] = await this.deps.reads.health([id]);
    return webhookView(record, health, this.now());
  }

  async record(id: string): Promise<WebhookRecord> {
    const record = isId(id, 'whk') ? await this.deps.store.get(id) : undefined;
    if (!record) throw new NotFoundError('Webhook', id);
    return record;
  }

  /** Deletes the subscription first (publishing stops matching it), then its deliveries. */
  async delete(id: string): Promise<void> {
    if (!isId(id, 'whk') || !(await this.deps.store.delete(id))) throw new NotFoundError('Webhook', id);
    await this.deps.version.bump();
    await this.deps.reads.purge(id);
  }

  /**
   * A new secret signs from now on; the previous one keeps signing beside it
   * for the grace period, so receivers can switch at their pace. A second
   * rotation within the grace period retires the oldest secret at once.
   */
  async rotateSecret(id: string): Promise<RotatedSecretViewT> {
    await this.record(id);
    const secret = newSecret();
    const now = this.now();
    const grace = this.deps.secretGraceSeconds;
    const expiresAt = new Date(now.getTime() + grace * 1000).toISOString();
    const updated = await this.deps.store.update(id, (current) => ({
      ...current,
      secret: this.seal(id, current.secret.version + 1, secret),
      previousSecret: grace > 0 ? { ...current.secret, expiresAt } : null,
      secretRotatedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    }));
    if (!updated) throw new NotFoundError('Webhook', id);
    await this.deps.version.bump();
    return { id, secret, previousSecretExpiresAt: updated.previousSecret?.expiresAt ?? null };
  }

  /** The subscriptions that want this event, each with the content it wants (message.received only). */
  async matching(event: DomainEvent): Promise<MatchedSubscription[]> {
    return (await this.matcher())(event);
  }

  /** `matching` for many events against one snapshot: one GET for a whole batch of events. */
  async matcher(): Promise<(event: DomainEvent) => MatchedSubscription[]> {
    const { records } = await this.snapshots.get();
    return (event) => records
      .filter((record) => wants(record, event))
      .map((record) => ({ id: record.id, include: event.type === 'message.received' ? record.include ?? [] : [] }));
  }

  /** Whether a subscription wants the content of this mailbox's received messages: one GET when nothing changed. */
  async contentWanted(mailboxId: string): Promise<boolean> {
    const { records } = await this.snapshots.get();
    return records.some((record) => wantsContentOf(record, mailboxId));
  }

  /** The URL and signing keys of a subscription, or undefined when it was deleted. */
  async signing(id: string): Promise<SigningTarget | undefined> {
    const record = (await this.snapshots.get()).byId.get(id);
    if (!record) return undefined;
    const keys = [this.keyOf(id, record.secret)];
    const previous = record.previousSecret;
    if (previous && Date.parse(previous.expiresAt) > this.now().getTime()) keys.push(this.keyOf(id, previous));
    return { url: record.url, keys };
  }

  private keyOf(id: string, secret: StoredSecret): Buffer {
    let key = this.keyCache.get(secret.envelope);
    if (!key) {
      key = secretKey(this.deps.cipher.decryptText(secret.envelope, secretAad(id, secret.version)));
      if (this.keyCache.size >= 2 * MAX_SUBSCRIPTIONS) this.keyCache.clear();
      this.keyCache.set(secret.envelope, key);
    }
    return key;
  }
}

/**
 * Credential expiry warnings: a connection whose secret (expiry given) or
 * certificate expires within 30, 7 or 1 day(s), or has expired (0), is
 * announced as `connection.credential_expiring`, once per connection,
 * threshold and expiry across every worker.
 *
 * Decisions:
 * - Only the most urgent threshold crossed is announced: a connection created
 *   5 days before its secret expires gets the 7-day warning, not the 30-day
 *   one as well. The larger thresholds are never looked at again, since time
 *   only moves towards the smaller ones.
 * - "Once across all workers" is a claim (SET NX) per connection, threshold
 *   and expiry, taken before the event is published; a failed publish gives
 *   the claim back so the next check tries again. A new credential (another
 *   expiry) has claims of its own: its warnings are armed afresh.
 * - The claim lives until well after the credential expired (CLAIM_KEEP_MS
 *   past the later of the expiry and now), so an expired credential left in
 *   place is not announced again for a year.
 * - The event id is derived from the same three values, so even a publish
 *   that lands twice is delivered once per subscription.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../logging/logger.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import type { ConnectionService, CredentialExpiry } from './service.js';

/** The warnings, in days before expiry, most distant first. */
export const EXPIRY_THRESHOLDS_DAYS = [30, 7, 1, 0] as const;

const DAY_MS = 86_400_000;
/** How long a claim outlives the later of the credential's expiry and the moment it was taken. */
export const CLAIM_KEEP_MS = 365 * DAY_MS;

/** The most urgent threshold the credential has crossed at `now`; undefined: more than 30 days left. */
export function crossedThreshold(expiresAtMs: number, nowMs: number): number | undefined {
  const left = expiresAtMs - nowMs;
  let crossed: number | undefined;
  for (const days of EXPIRY_THRESHOLDS_DAYS) if (left <= days * DAY_MS) crossed = days;
  return crossed;
}

/** Whole days left, 0 once expired. */
export function daysLeft(expiresAtMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((expiresAtMs - nowMs) / DAY_MS));
}

export function expiryEventId(connectionId: string, threshold: number, expiresAtMs: number): string {
  const digest = createHash('sha256').update(`${connectionId}\n${threshold}\n${expiresAtMs}`).digest('base64url');
  return `evt_exp_${digest.slice(0, 32)}`;
}

/** One claim per (connection, threshold, expiry), shared by every worker. */
export interface WarningClaims {
  /** true for exactly one caller until the claim expires (after `keepMs`) or is released. */
  claim(connectionId: string, thresholdDays: number, expiresAtMs: number, keepMs: number): Promise<boolean>;
  release(connectionId: string, thresholdDays: number, expiresAtMs: number): Promise<void>;
}

export interface CredentialWarningsDeps {
  connections: Pick<ConnectionService, 'expiries'>;
  claims: WarningClaims;
  events: EventPublisher;
  logger: Logger;
  now?: () => Date;
}

export class CredentialWarnings {
  private readonly now: () => Date;

  constructor(private readonly deps: CredentialWarningsDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Looks at every connection once; answers how many warnings this call announced. */
  async check(): Promise<number> {
    let announced = 0;
    const expiries = await this.deps.connections.expiries();
    for (const expiry of expiries) {
      if (await this.warn(expiry)) announced += 1;
    }
    this.deps.logger.debug({ expiring: expiries.length, announced }, 'credential expiry checked');
    return announced;
  }

  private async warn(expiry: CredentialExpiry): Promise<boolean> {
    const nowMs = this.now().getTime();
    const expiresAtMs = Date.parse(expiry.expiresAt);
    if (Number.isNaN(expiresAtMs)) return false;
    const threshold = crossedThreshold(expiresAtMs, nowMs);
    if (threshold === undefined) return false;
    const { connectionId } = expiry;
    const keepMs = Math.max(expiresAtMs, nowMs) - nowMs + CLAIM_KEEP_MS;
    if (!(await this.deps.claims.claim(connectionId, threshold, expiresAtMs, keepMs))) return false;
    const event = newEvent('connection.credential_expiring', {
      connectionId,
      name: expiry.name,
      credential: { type: expiry.type, expiresAt: expiry.expiresAt },
      daysLeft: daysLeft(expiresAtMs, nowMs),
      threshold,
    }, expiryEventId(connectionId, threshold, expiresAtMs), new Date(nowMs));
    try {
      await this.deps.events.publish(event);
    } catch (err) {
      await this.deps.claims.release(connectionId, threshold, expiresAtMs);
      throw err;
    }
    this.deps.logger.info({ connectionId, threshold, credentialType: expiry.type }, 'credential expiry announced');
    return true;
  }
}

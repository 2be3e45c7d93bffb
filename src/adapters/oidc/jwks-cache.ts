/**
 * The identity platform's signing keys (JWKS), fetched through the MSAL
 * network client (so the configured CAs and proxy apply) and kept in memory.
 *
 * Entra rolls its keys over without notice; a token signed with a new key
 * names a `kid` we have not seen. `refresh` then fetches again, but at most
 * once per cooldown per URI, so tokens with made-up kids cannot turn the
 * service into a JWKS request amplifier.
 */
import type { JSONWebKeySet } from 'jose';
import type { MsalNetworkClient } from '../msal/network-client.js';
import { AppError } from '../../errors/errors.js';

export interface JwksCacheOptions {
  /** Keys older than this are fetched again on the next use (ms). @defaultValue 86 400 000 (24 h) */
  maxAgeMs?: number;
  /** Shortest interval between two fetches of one URI, forced refreshes included (ms). @defaultValue 30 000 */
  refreshCooldownMs?: number;
  now?: () => number;
}

interface Entry {
  fetchedAt: number;
  keys: Promise<JSONWebKeySet>;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly network: Pick<MsalNetworkClient, 'sendGetRequestAsync'>, options: JwksCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
    this.cooldownMs = options.refreshCooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  get(uri: string): Promise<JSONWebKeySet> {
    const entry = this.entries.get(uri);
    if (entry && this.now() - entry.fetchedAt < this.maxAgeMs) return entry.keys;
    return this.load(uri);
  }

  /** Fetches again unless the last fetch is younger than the cooldown; answers the keys in use. */
  refresh(uri: string): Promise<JSONWebKeySet> {
    const entry = this.entries.get(uri);
    if (entry && this.now() - entry.fetchedAt < this.cooldownMs) return entry.keys;
    return this.load(uri);
  }

  private load(uri: string): Promise<JSONWebKeySet> {
    const keys = this.fetch(uri);
    this.entries.set(uri, { fetchedAt: this.now(), keys });
    // A failure is not kept: the next caller asks again.
    keys.catch(() => {
      if (this.entries.get(uri)?.keys === keys) this.entries.delete(uri);
    });
    return keys;
  }

  private async fetch(uri: string): Promise<JSONWebKeySet> {
    const response = await this.network.sendGetRequestAsync<Record<string, unknown>>(uri, {});
    const keys = response.body.keys;
    if (response.status !== 200 || !Array.isArray(keys)) {
      throw new AppError('identity_platform_bad_response', `The signing keys at ${uri} could not be read (HTTP ${response.status}).`, {
        hint: 'Check that the service can reach the identity platform (DNS, firewall, HTTPS_PROXY).',
        step: 'network',
      });
    }
    return { keys: keys.filter((k): k is JSONWebKeySet['keys'][number] => typeof k === 'object' && k !== null) };
  }
}

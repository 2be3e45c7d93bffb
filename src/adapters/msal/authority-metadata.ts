/**
 * The OpenID configuration of each authority, fetched once through the
 * network client and kept in memory. It is handed to MSAL as
 * `authorityMetadata`, so creating an MSAL client costs no request, and it
 * gives the sign-in flow its issuer and JWKS address.
 */
import { aadstsError } from '../../domain/tokens/aadsts.js';
import type { MsalNetworkClient } from './network-client.js';
import { AppError } from '../../errors/errors.js';

export interface OpenIdMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  [key: string]: unknown;
}

const TTL_MS = 60 * 60 * 1000;

export class AuthorityMetadataCache {
  private readonly entries = new Map<string, { at: number; metadata: Promise<OpenIdMetadata> }>();

  constructor(private readonly network: MsalNetworkClient, private readonly now: () => number = Date.now) {}

  get(authority: string): Promise<OpenIdMetadata> {
    const entry = this.entries.get(authority);
    if (entry && this.now() - entry.at < TTL_MS) return entry.metadata;
    const metadata = this.fetch(authority);
    this.entries.set(authority, { at: this.now(), metadata });
    // A failure is not cached: the next caller asks again.
    metadata.catch(() => this.entries.delete(authority));
    return metadata;
  }

  private async fetch(authority: string): Promise<OpenIdMetadata> {
    const url = `${authority}/v2.0/.well-known/openid-configuration`;
    const response = await this.network.sendGetRequestAsync<Record<string, unknown>>(url, {});
    const body = response.body;
    if (response.status !== 200) {
      const codes = Array.isArray(body.error_codes) ? body.error_codes.map(Number) : [];
      const description = typeof body.error_description === 'string' ? body.error_description : undefined;
      if (codes[0]) throw aadstsError(codes[0], description);
      throw new AppError('identity_platform_error', `${url} answered HTTP ${response.status}.`);
    }
    for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
      if (typeof body[field] !== 'string') {
        throw new AppError('identity_platform_bad_response', `${url} has no ${field}.`);
      }
    }
    return body as OpenIdMetadata;
  }
}

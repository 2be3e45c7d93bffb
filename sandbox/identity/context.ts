/**
 * State shared by the endpoint handlers, and the reply shapes they return
 * (the server turns a Reply into HTTP).
 */
import type { KeyObject } from 'node:crypto';
import type { SandboxPki, SigningKey } from '../pki.js';
import { entraError, type ErrorParams } from './aadsts.js';
import type { Directory } from './directory.js';
import type { Faults } from './faults.js';
import type { GrantStore } from './grant-store.js';

export interface IdentityState {
  baseUrl: string;
  pki: SandboxPki;
  directory: Directory;
  grants: GrantStore;
  faults: Faults;
  accessTokenLifetimeSeconds: number;
  /** undefined: no override; null: use login_hint. */
  signInAs: string | null;
  denyConsent: boolean;
  /** Signs ID tokens instead of the published key (a forged ID token); undefined: the published key. */
  idTokenSigningKey?: SigningKey | undefined;
  /** Issuers of federated tokens the imitation trusts (a stand-in for fetching their JWKS), by `iss`. */
  federatedIssuers: Map<string, KeyObject>;
}

export type Reply =
  | { kind: 'json'; status: number; body: object; headers?: Record<string, string> }
  | { kind: 'redirect'; location: string }
  | { kind: 'html'; status: number; html: string };

/** What a handler gets from the request. */
export interface Incoming {
  tenantSegment: string;
  query: URLSearchParams;
  form: URLSearchParams;
  /** client-request-id header: Entra echoes it as correlation_id. */
  correlationId: string | undefined;
}

export function errorReply(state: IdentityState, code: number, params: ErrorParams, incoming: Incoming): Reply {
  const { status, body } = entraError(code, params, { baseUrl: state.baseUrl, correlationId: incoming.correlationId });
  return { kind: 'json', status, body };
}

export function clientInfo(oid: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: oid, utid: tenantId })).toString('base64url');
}

export function v2Issuer(baseUrl: string, tenantId: string): string {
  return `${baseUrl}/${tenantId}/v2.0`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * POST /v1/connections/{id}/verify: acquire a token now and say what it
 * grants and what is missing. App-only connections get a fresh client
 * credentials token (skipping every cache, so a just-rotated secret is
 * really tried); delegated ones, which have no token without a user, check
 * that the authority answers. `?tenant=` names the customer tenant a
 * multi-tenant app_only connection is checked in (without it: the problem
 * tenant_required); a single-tenant connection accepts only its own.
 */
import type { MsalGateway } from '../../adapters/msal/gateway.js';
import { credentialView, type ConnectionService } from '../connections/service.js';
import type { CredentialViewT } from '../connections/model.js';
import { authorityOf } from '../connections/validate.js';
import { mailboxTenant } from '../mailboxes/tenant.js';
import { missingPermission, type Capability } from '../tokens/claims.js';
import type { TokenService } from '../tokens/token-service.js';
import type { Flow } from '../connections/model.js';
import { problemOf, type DoctorProblemT } from './problem.js';

export interface VerifyResultT {
  ok: boolean;
  flow: Flow;
  authority: string;
  roles: string[];
  scopes: string[];
  /** The token's expiry. */
  expiresAt: string | null;
  /** The credential in use, with its own expiry when known (a certificate's, or a secret's as given). */
  credential: CredentialViewT;
  problems: DoctorProblemT[];
}

const CAPABILITIES: Capability[] = ['imap', 'smtp'];

export async function verifyConnection(
  deps: { connections: ConnectionService; tokens: TokenService; msal: MsalGateway },
  connectionId: string,
  tenant?: string,
): Promise<VerifyResultT> {
  const connection = await deps.connections.record(connectionId);
  // The same rule as a mailbox's tenantId: a single-tenant connection is checked in its own tenant only.
  const tenantId = tenant === undefined ? connection.tenantId : mailboxTenant(connection, { tenantId: tenant });
  const authority = authorityOf({ ...connection, tenantId });
  const result: VerifyResultT = { ok: false, flow: connection.flow, authority, roles: [], scopes: [], expiresAt: null, credential: credentialView(connection), problems: [] };
  try {
    if (connection.flow === 'app_only') {
      const token = await deps.tokens.appToken(connectionId, { fresh: true, tenantId });
      result.roles = token.claims.roles;
      result.scopes = token.claims.scopes;
      result.expiresAt = token.expiresAt.toISOString();
      const problems: DoctorProblemT[] = [];
      for (const capability of CAPABILITIES) {
        const missing = missingPermission('app_only', token.claims, capability);
        if (missing) problems.push(problemOf(missing));
      }
      result.problems = problems;
    } else {
      await deps.msal.authorityMetadata(authority);
    }
  } catch (err) {
    result.problems = [problemOf(err)];
  }
  result.ok = result.problems.length === 0;
  return result;
}

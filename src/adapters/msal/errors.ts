/**
 * Translates what MSAL (and our network client) throw into the service's
 * typed errors: an AADSTS code becomes its own code and hint; a transport
 * failure is named as network, TLS or timeout, never as MSAL's opaque
 * `endpoints_resolution_error`.
 */
import { AuthError } from '@azure/msal-node';
import { aadstsError, aadstsIn, meaningOf } from '../../domain/tokens/aadsts.js';
import { AppError } from '../../errors/errors.js';
import type { ErrorCode } from '../../errors/codes.js';
import { causeCode, MsalHttpError, type MsalNetworkClient, type NetworkFailure } from './network-client.js';

const HTTP_KIND: Record<MsalHttpError['kind'], ErrorCode> = {
  network: 'identity_platform_unreachable',
  tls: 'identity_platform_tls_error',
  timeout: 'identity_platform_timeout',
  too_large: 'identity_platform_bad_response',
  bad_response: 'identity_platform_bad_response',
};

export function transportError(err: MsalHttpError): AppError {
  const host = (() => {
    try {
      return new URL(err.url).host;
    } catch {
      return err.url;
    }
  })();
  const code = HTTP_KIND[err.kind];
  const why = causeCode(err.cause) ?? err.kind;
  const detail =
    err.kind === 'bad_response' || err.kind === 'too_large'
      ? `${host} answered something that is not a token response (HTTP ${err.status ?? '?'}).`
      : `Cannot reach ${host} (${why}).`;
  const hint =
    err.kind === 'tls'
      ? 'The TLS certificate of the identity platform is not trusted: behind a TLS-inspecting proxy, add its CA with NODE_EXTRA_CA_CERTS.'
      : 'Check that the service can reach the identity platform (DNS, firewall, HTTPS_PROXY).';
  return new AppError(code, detail, { hint, step: 'network', cause: err });
}

function fromFailure(failure: NetworkFailure | undefined, cause: unknown): AppError | undefined {
  if (!failure) return undefined;
  if (failure.error) return transportError(failure.error);
  const aadsts = failure.entra?.errorCodes?.[0] ?? aadstsIn(failure.entra?.description);
  if (aadsts !== undefined) return aadstsError(aadsts, failure.entra?.description, cause);
  if (failure.status !== undefined && failure.status >= 500) {
    return new AppError('identity_platform_error', `The identity platform answered HTTP ${failure.status}.`, { cause });
  }
  return undefined;
}

/** MSAL reports discovery failures without their cause; the network client remembers it. */
const DISCOVERY_CODES = new Set(['endpoints_resolution_error', 'openid_config_error', 'untrusted_authority']);

export function translateMsalError(err: unknown, network: MsalNetworkClient, authority: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof MsalHttpError) return transportError(err);
  if (err instanceof AuthError) {
    const errorNo = Number((err as { errorNo?: unknown }).errorNo);
    if (Number.isFinite(errorNo) && errorNo > 0) return aadstsError(errorNo, err.errorMessage, err);
    const inText = aadstsIn(err.errorMessage);
    if (inText !== undefined) return aadstsError(inText, err.errorMessage, err);
    if (DISCOVERY_CODES.has(err.errorCode)) {
      const known = fromFailure(network.lastFailure(authority), err);
      if (known) return known;
      return new AppError('identity_platform_error', `The identity platform's configuration for ${authority} could not be read.`, {
        hint: 'Check the tenant id and the authority host of the connection.',
        step: 'tenant_and_client_id',
        cause: err,
      });
    }
    if (err.errorCode === 'nonce_mismatch') {
      // MSAL compares the ID token's nonce with the one the sign-in sent: a response to another sign-in.
      return new AppError('id_token_invalid', "The ID token's nonce does not match this sign-in (a response to another sign-in).", {
        hint: 'Start the sign-in again from the beginning, in one browser tab.',
        cause: err,
      });
    }
    if (err.errorCode === 'missing_tenant_id_error') {
      const meaning = meaningOf(50059)!;
      return new AppError(meaning.code, 'Client credentials need a tenant id.', { hint: meaning.hint, step: meaning.step, cause: err });
    }
    return new AppError('identity_platform_error', `Token request failed (${err.errorCode}).`, { cause: err });
  }
  return new AppError('identity_platform_error', 'Token request failed.', { cause: err });
}

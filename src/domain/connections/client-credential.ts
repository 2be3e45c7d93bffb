/**
 * A connection's credential as the token service hands it to MSAL: a client
 * secret, a certificate (private key, SHA-256 thumbprint and chain), or the
 * file whose current token is the client assertion (workload identity
 * federation). Decrypted only here, only for a token request.
 */
import { AppError } from '../../errors/errors.js';

export type ClientCredential =
  | { type: 'secret'; clientSecret: string }
  /** `x5c`: the certificate first, then its chain, PEM; `thumbprintSha256`: hex. */
  | { type: 'certificate'; privateKey: string; thumbprintSha256: string; x5c: string }
  | { type: 'federated'; tokenFile: string };

const TOKEN_FILE_HINT =
  'Workload identity: mount the projected service account token (Azure Workload Identity sets AZURE_FEDERATED_TOKEN_FILE in a pod labelled azure.workload.identity/use: "true"), ' +
  'or give the connection federated.tokenFile (PATCH /v1/connections/{id}).';

/** A federated connection that names no token file, in a process without AZURE_FEDERATED_TOKEN_FILE. */
export function federatedTokenFileMissing(): AppError {
  return new AppError('federated_token_unavailable', 'The connection names no federated token file and AZURE_FEDERATED_TOKEN_FILE is not set.', {
    hint: TOKEN_FILE_HINT,
    step: 'client_secret',
  });
}

/** The token file could not give a token: `why` names the reason, never the file's content. */
export function federatedTokenUnreadable(path: string, why: string, cause?: unknown): AppError {
  return new AppError('federated_token_unavailable', `The federated token file ${path} ${why}.`, {
    hint: TOKEN_FILE_HINT,
    step: 'client_secret',
    fields: { tokenFile: path },
    cause,
  });
}

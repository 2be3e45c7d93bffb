/**
 * A connection's credential as given on creation or rotation: exactly one of
 * a client secret, a certificate (PEM) and a federated token file, read into
 * what is stored. Pure functions, no I/O: the token file is read only when a
 * token is requested (adapters/msal/federated-token.ts).
 */
import { isAbsolute } from 'node:path';
import type { FieldProblem } from '../../errors/errors.js';
import { readCertificatePem, type CertificateCredential } from './certificate.js';
import type { CertificateInput, FederatedInput } from './model.js';

export interface CredentialInput {
  clientSecret?: string | undefined;
  certificate?: CertificateInput | undefined;
  federated?: FederatedInput | undefined;
  /** Secrets only: when the secret expires (RFC 3339); null: unknown. */
  credentialExpiresAt?: string | null | undefined;
}

export type ReadCredential =
  /** expiresAt: ISO 8601 UTC, or null when not given (unknown). */
  | { type: 'secret'; clientSecret: string; expiresAt: string | null }
  | { type: 'certificate'; certificate: CertificateCredential }
  /** tokenFile null: AZURE_FEDERATED_TOKEN_FILE, read when a token is requested. */
  | { type: 'federated'; tokenFile: string | null };

export interface CredentialContext {
  now: Date;
  /** AZURE_FEDERATED_TOKEN_FILE, the default token file. */
  federatedTokenFile: string | undefined;
}

type Problem = FieldProblem & { hint?: string };

const TOKEN_FILE_MAX_CHARS = 4096;

export function checkTokenFile(path: string): Problem | undefined {
  if (path.length > TOKEN_FILE_MAX_CHARS || path.includes('\0') || !isAbsolute(path)) {
    return {
      field: '/federated/tokenFile',
      message: 'must be an absolute file path',
      hint: 'Give the path of the projected service account token, such as /var/run/secrets/azure/tokens/azure-identity-token.',
    };
  }
  return undefined;
}

/** RFC 3339 date-time with a time zone (Z or ±hh:mm), as the portal's and Graph's endDateTime are written. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export const EXPIRY_FOR_SECRETS_ONLY: Problem = {
  field: '/credentialExpiresAt',
  message: 'applies to client secrets only',
  hint: "A certificate's expiry is read from the certificate; a federated credential does not expire.",
};

/** A secret's expiry as given: RFC 3339, normalised to ISO 8601 UTC; refused when malformed or not a real moment. */
export function readExpiresAt(value: string): { expiresAt?: string; problem?: Problem } {
  const match = RFC3339.exec(value);
  const at = match ? Date.parse(value) : Number.NaN;
  // Date.parse rolls over impossible dates (02-30) in some engines: the date must read back the same.
  const sameDay = match !== null && !Number.isNaN(at) && (match[8]!.toUpperCase() !== 'Z' || new Date(at).toISOString().slice(0, 10) === `${match[1]}-${match[2]}-${match[3]}`);
  if (!match || Number.isNaN(at) || !sameDay || Number(match[1]) < 2000) {
    return {
      problem: {
        field: '/credentialExpiresAt',
        message: 'must be an RFC 3339 date-time such as 2027-05-31T00:00:00Z',
        hint: "Copy the secret's Expires date from Certificates & secrets (or Graph's passwordCredentials endDateTime).",
      },
    };
  }
  return { expiresAt: new Date(at).toISOString() };
}

/** How many credentials the input gives (one is required on creation, at most one on rotation). */
export function credentialCount(input: CredentialInput): number {
  return [input.clientSecret, input.certificate, input.federated].filter((c) => c !== undefined).length;
}

export const ONE_CREDENTIAL_HINT =
  'Give clientSecret (the secret\'s Value), certificate: { pem } (certificate and private key) or federated: { tokenFile } (workload identity).';

/**
 * Reads the one credential the input gives; `checkSecret` is the secret's own paste check.
 * Undefined with no problem: the input gives none.
 */
export function readCredential(
  input: CredentialInput,
  context: CredentialContext,
  checkSecret: (secret: string) => Problem | undefined,
): { credential?: ReadCredential; problems: Problem[] } {
  if (credentialCount(input) > 1) {
    return { problems: [{ field: '/clientSecret', message: 'must be the only credential: give one of clientSecret, certificate and federated', hint: ONE_CREDENTIAL_HINT }] };
  }
  const expiry = input.credentialExpiresAt === undefined || input.credentialExpiresAt === null ? undefined : readExpiresAt(input.credentialExpiresAt);
  if (expiry?.problem) return { problems: [expiry.problem] };
  if (input.credentialExpiresAt !== undefined && (input.certificate !== undefined || input.federated !== undefined)) {
    return { problems: [EXPIRY_FOR_SECRETS_ONLY] };
  }
  if (input.clientSecret !== undefined) {
    const problem = checkSecret(input.clientSecret);
    return problem
      ? { problems: [problem] }
      : { credential: { type: 'secret', clientSecret: input.clientSecret, expiresAt: expiry?.expiresAt ?? null }, problems: [] };
  }
  if (input.certificate !== undefined) {
    const read = readCertificatePem(input.certificate.pem, context.now);
    return read.ok ? { credential: { type: 'certificate', certificate: read.certificate }, problems: [] } : { problems: [read.problem] };
  }
  if (input.federated !== undefined) {
    const tokenFile = input.federated.tokenFile;
    if (tokenFile !== undefined) {
      const problem = checkTokenFile(tokenFile);
      return problem ? { problems: [problem] } : { credential: { type: 'federated', tokenFile }, problems: [] };
    }
    if (context.federatedTokenFile === undefined) {
      return {
        problems: [{
          field: '/federated/tokenFile',
          message: 'is required when AZURE_FEDERATED_TOKEN_FILE is not set',
          hint: 'Give the token file, or set AZURE_FEDERATED_TOKEN_FILE (Azure Workload Identity sets it in the pod).',
        }],
      };
    }
    return { credential: { type: 'federated', tokenFile: null }, problems: [] };
  }
  return { problems: [] };
}

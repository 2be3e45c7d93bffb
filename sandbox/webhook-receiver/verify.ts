/**
 * Standard Webhooks signature check with secret rotation: a delivery is valid when any
 * `v1,` signature of its `webhook-signature` header verifies with any of the secrets.
 * `Webhook.verify` already tries every signature in the header; the loop here adds the
 * secrets. It accepts secrets with or without the `whsec_` prefix (it strips it, then
 * base64-decodes the rest) and refuses timestamps more than 5 minutes off.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';

export type VerifyResult = { verified: true } | { verified: false; reason: string };

/** Node's headers (lower-case names, possibly repeated) as the string map the library wants. */
export function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

export function verifyDelivery(secrets: readonly string[], rawBody: Buffer, headers: Record<string, string>): VerifyResult {
  if (secrets.length === 0) return { verified: false, reason: 'no secret set on the receiver (setSecrets)' };
  const reasons: string[] = [];
  for (const secret of secrets) {
    try {
      // jsonParse: false: the signature is what matters here; the body is parsed separately.
      new Webhook(secret).verify(rawBody, headers, { jsonParse: false });
      return { verified: true };
    } catch (err) {
      reasons.push((err as Error).message);
    }
  }
  // Header and timestamp problems give the same message for every secret.
  return { verified: false, reason: [...new Set(reasons)].join('; ') };
}

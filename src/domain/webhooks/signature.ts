/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), with
 * node:crypto only: pure functions, no I/O.
 *
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
 *
 * where the key is the base64-decoded part of the secret after `whsec_`.
 * During a secret rotation the header carries one signature per secret,
 * space-separated, newest first; a receiver that knows either secret finds
 * one that verifies.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** 32 random bytes: the spec asks for 24 to 64. */
const SECRET_BYTES = 32;

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The HMAC key a secret stands for. */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('empty webhook secret');
  return key;
}

/** The `webhook-signature` header value: one `v1,` signature per key, in the order given. */
export function signatureHeader(keys: readonly Buffer[], id: string, timestampSeconds: number, body: string): string {
  const content = `${id}.${timestampSeconds}.${body}`;
  return keys.map((key) => `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`).join(' ');
}

export interface SignedRequest {
  /** The event id: stable across retries, so a receiver can drop duplicates. */
  id: string;
  /** The JSON body, exactly as sent. */
  body: string;
  keys: readonly Buffer[];
  /** The attempt's time; the header carries whole seconds. */
  at: Date;
  userAgent: string;
}

/** Every header of one delivery attempt. */
export function deliveryHeaders(request: SignedRequest): Record<string, string> {
  const timestamp = Math.floor(request.at.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': request.userAgent,
    'webhook-id': request.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(request.keys, request.id, timestamp, request.body),
  };
}

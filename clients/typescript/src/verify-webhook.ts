/**
 * verifyWebhook(): a delivery's Standard Webhooks signature checked by the `standardwebhooks`
 * package, then its body parsed into a typed event. Every refusal is an InvalidWebhookError whose
 * `code` says why; a receiver answers it with a 4xx (the service retries, so a delivery refused by
 * a receiver that was wrong, e.g. an old secret, still arrives once it is fixed).
 *
 * Verify the raw body exactly as received: a body parsed and serialized again is another body.
 */
import { Webhook } from 'standardwebhooks';
import { InvalidWebhookError } from './errors.js';
import { isWebhookEventType, type WebhookEvent } from './events.js';

/** How far a delivery's timestamp may be from now (the Standard Webhooks default, as the package applies it). */
export const TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/** The request's headers: a fetch `Headers`, or Node's `req.headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const REQUIRED = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/**
 * The event in a delivery signed with `secret` (the subscription's `whsec_…`). During a secret
 * rotation the service signs with both the new and the old secret, so either verifies.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, rawBody: string | Uint8Array): WebhookEvent {
  const signer = webhookOf(secret);
  const wanted = pick(headers);
  const timestamp = Number(wanted['webhook-timestamp']);
  if (!Number.isInteger(timestamp)) throw new InvalidWebhookError('missing_headers', 'webhook-timestamp is not a number of seconds');
  if (Math.abs(Math.floor(Date.now() / 1000) - timestamp) > TIMESTAMP_TOLERANCE_SECONDS) {
    throw new InvalidWebhookError('stale_timestamp', `webhook-timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS} s from now`);
  }
  const body = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  try {
    signer.verify(body, wanted, { jsonParse: false });
  } catch (err) {
    // The package checks the timestamp again: a delivery at the edge of the tolerance can pass ours and fail its.
    if (err instanceof Error && /timestamp/i.test(err.message)) {
      throw new InvalidWebhookError('stale_timestamp', `webhook-timestamp is more than ${TIMESTAMP_TOLERANCE_SECONDS} s from now`, { cause: err });
    }
    throw new InvalidWebhookError('bad_signature', 'no webhook-signature matches the secret and body', { cause: err });
  }
  return eventOf(wanted['webhook-id'], body);
}

function webhookOf(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch (err) {
    // The package's message does not quote the secret, but keep ours fixed to be sure.
    throw new InvalidWebhookError('invalid_secret', 'the webhook secret is not a whsec_ secret', { cause: err });
  }
}

/** The three Standard Webhooks headers, lower-cased; a repeated header's values joined as one list. */
function pick(headers: WebhookHeaders): Record<(typeof REQUIRED)[number], string> {
  const read = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(entry) ? entry.join(' ') : entry;
  };
  const found: Partial<Record<(typeof REQUIRED)[number], string>> = {};
  for (const name of REQUIRED) {
    const value = read(name);
    if (!value) throw new InvalidWebhookError('missing_headers', `the ${name} header is missing`);
    found[name] = value;
  }
  return found as Record<(typeof REQUIRED)[number], string>;
}

function eventOf(id: string, body: string): WebhookEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new InvalidWebhookError('malformed_payload', 'the body is not JSON', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidWebhookError('malformed_payload', 'the body is not a JSON object');
  }
  const { type, timestamp, data } = parsed as Record<string, unknown>;
  if (typeof type !== 'string' || typeof timestamp !== 'string' || typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidWebhookError('malformed_payload', 'the body is not an event { type, timestamp, data }');
  }
  if (!isWebhookEventType(type)) {
    throw new InvalidWebhookError('unknown_event_type', `the event type ${JSON.stringify(type.slice(0, 100))} is unknown to this client version`);
  }
  // Signed by the service: its data is trusted to have the documented shape of its type.
  return { id, type, timestamp, data } as WebhookEvent;
}

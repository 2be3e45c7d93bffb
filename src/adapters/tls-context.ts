/**
 * One TLS secure context per trust list. Giving `ca` to every connection
 * makes Node parse the whole CA bundle and build a new OpenSSL store each
 * time: milliseconds of CPU per connection, and native memory that the
 * garbage collector does not see until long after (a worker polling with a
 * connection per poll grew past 1.5 GB that way). Mail connections share
 * the context of their trust list instead.
 */
import { createSecureContext, type SecureContext } from 'node:tls';

const contexts = new WeakMap<readonly string[], SecureContext>();

export function secureContextFor(ca: readonly string[]): SecureContext {
  let context = contexts.get(ca);
  if (!context) {
    context = createSecureContext({ ca: [...ca], minVersion: 'TLSv1.2' });
    contexts.set(ca, context);
  }
  return context;
}

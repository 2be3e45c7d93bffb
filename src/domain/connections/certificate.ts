/**
 * A certificate credential as pasted: one PEM text holding the certificate,
 * its private key and possibly the rest of its chain (what `cat cert.pem
 * key.pem` or `openssl pkcs12 -in cert.pfx -nodes` gives). Read once, when a
 * connection is created or its credential rotated; pure, no I/O.
 *
 * Refused, each with a hint: no certificate, no private key or more than one,
 * an encrypted key (the service has nowhere to keep a passphrase, so the key
 * is asked for unencrypted and encrypted at rest instead), a key that is not
 * RSA (Entra's certificate credentials are RSA; MSAL signs RS256/PS256), a key
 * that belongs to none of the certificates, and a certificate outside its
 * validity period. Text outside the PEM blocks (openssl's "Bag Attributes")
 * is ignored.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { FieldProblem } from '../../errors/errors.js';

/** PEM text of a certificate, its key and a chain of a few certificates fits many times over. */
export const CERTIFICATE_PEM_MAX_CHARS = 65_536;
/** A leaf and its intermediates: real chains have 2 to 4. */
const MAX_CERTIFICATES = 10;

export interface CertificateCredential {
  /** The private key, PKCS#8 PEM: a secret, encrypted before it is stored. */
  privateKeyPem: string;
  /** The certificate first, then the rest of the chain as given, PEM: what MSAL sends as `x5c`. */
  chainPem: string;
  /** SHA-1 of the certificate's DER, upper-case hex: the Thumbprint the portal's Certificates list shows. */
  thumbprint: string;
  /** SHA-256 of the certificate's DER, hex: what MSAL sends as `x5t#S256`. */
  thumbprintSha256: string;
  notBefore: string;
  expiresAt: string;
}

export type CertificateRead = { ok: true; certificate: CertificateCredential } | { ok: false; problem: FieldProblem & { hint: string } };

const FIELD = '/certificate/pem';
const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----([\s\S]*?)-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);
const BOTH_IN_ONE = 'Give the certificate and its private key in one PEM text (cat cert.pem key.pem; from a .pfx: openssl pkcs12 -in cert.pfx -nodes).';

function refuse(message: string, hint: string): CertificateRead {
  return { ok: false, problem: { field: FIELD, message, hint } };
}

function readKey(block: { label: string; text: string }): KeyObject | CertificateRead {
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block.text)) {
    return refuse('holds an encrypted private key', 'Give the key without a passphrase (openssl pkey -in key.pem -out plain-key.pem); the service encrypts it at rest.');
  }
  try {
    return createPrivateKey({ key: block.text, format: 'pem' });
  } catch {
    return refuse('holds a private key that cannot be read', BOTH_IN_ONE);
  }
}

/** Reads and checks the PEM text; `now` decides expiry. */
export function readCertificatePem(pem: string, now: Date): CertificateRead {
  if (pem.length > CERTIFICATE_PEM_MAX_CHARS) return refuse(`is longer than ${CERTIFICATE_PEM_MAX_CHARS} characters`, BOTH_IN_ONE);
  const blocks = [...pem.matchAll(BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  const keyBlocks = blocks.filter((b) => KEY_LABELS.has(b.label));
  if (certBlocks.length === 0) return refuse('holds no certificate (-----BEGIN CERTIFICATE-----)', BOTH_IN_ONE);
  if (certBlocks.length > MAX_CERTIFICATES) return refuse(`holds more than ${MAX_CERTIFICATES} certificates`, 'Give the certificate and its intermediates only.');
  if (keyBlocks.length === 0) return refuse('holds no private key (-----BEGIN PRIVATE KEY-----)', BOTH_IN_ONE);
  if (keyBlocks.length > 1) return refuse('holds more than one private key', 'Give the private key of this certificate only.');

  const key = readKey(keyBlocks[0]!);
  if ('ok' in key) return key;
  if (key.asymmetricKeyType !== 'rsa') {
    return refuse(`holds a ${key.asymmetricKeyType ?? 'non-RSA'} key, not an RSA key`, 'Entra certificate credentials use RSA keys: create the certificate with an RSA key of 2048 bits or more.');
  }
  const certificates: X509Certificate[] = [];
  for (const block of certBlocks) {
    try {
      certificates.push(new X509Certificate(block.text));
    } catch {
      return refuse('holds a certificate that cannot be read', BOTH_IN_ONE);
    }
  }
  const leaf = certificates.find((c) => c.checkPrivateKey(key));
  if (!leaf) {
    return refuse('holds a private key that belongs to none of its certificates', 'Give the private key that was created with this certificate (compare openssl x509 -noout -modulus and openssl rsa -noout -modulus).');
  }
  const notBefore = new Date(leaf.validFrom);
  const expiresAt = new Date(leaf.validTo);
  if (expiresAt.getTime() <= now.getTime()) {
    return refuse(`holds a certificate that expired on ${expiresAt.toISOString()}`, 'Create a new certificate, upload it to the app registration (Certificates & secrets → Certificates) and give it here.');
  }
  if (notBefore.getTime() > now.getTime()) {
    return refuse(`holds a certificate not valid before ${notBefore.toISOString()}`, "Wait until the certificate's start date, or check the clock of the machine that created it.");
  }
  const der = leaf.raw;
  const rest = certificates.filter((c) => c !== leaf);
  return {
    ok: true,
    certificate: {
      privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      chainPem: [leaf, ...rest].map((c) => c.toString()).join(''),
      thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
      thumbprintSha256: createHash('sha256').update(der).digest('hex'),
      notBefore: notBefore.toISOString(),
      expiresAt: expiresAt.toISOString(),
    },
  };
}

/**
 * Extra CA certificates for outbound TLS (a TLS-inspecting proxy, or the
 * sandbox's test CA), read from the file NODE_EXTRA_CA_CERTS names. Node
 * applies that file to its own TLS at process start; undici agents given an
 * explicit `ca` list need the certificates spelled out, so we read them too.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../errors/errors.js';

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function loadExtraCa(file: string | undefined): string[] {
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError('NODE_EXTRA_CA_CERTS', `must name a readable PEM file (cannot read ${file})`);
  }
  const certs = text.match(PEM) ?? [];
  if (certs.length === 0) throw new ConfigError('NODE_EXTRA_CA_CERTS', `must name a PEM file with certificates (${file} has none)`);
  return certs;
}

/**
 * The CA list for IMAP and SMTP TLS (imapflow and nodemailer pass `tls.ca`
 * to tls.connect). A `ca` option REPLACES Node's trust store instead of
 * adding to it, and `tls.rootCertificates` is only Node's bundled Mozilla
 * roots, without NODE_EXTRA_CA_CERTS (which Node adds to its default store
 * only when the variable is set at process start). So: both, spelled out.
 */
export function mailServerCa(extraCa: readonly string[]): readonly string[] {
  return Object.freeze([...rootCertificates, ...extraCa]);
}

/**
 * Extra CA certificates for outbound TLS (a TLS-inspecting proxy, or the
 * sandbox's test CA), read from the file NODE_EXTRA_CA_CERTS names. Node
 * applies that file to its own TLS at process start; undici agents given an
 * explicit `ca` list need the certificates spelled out, so we read them too.
 */
import { readFileSync } from 'node:fs';
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

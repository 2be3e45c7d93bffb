/**
 * Reading a certificate credential's PEM text: what is accepted (a chain in
 * any order, openssl's Bag Attributes, a PKCS#1 key) and what is refused with
 * a hint (no key, a key of no certificate, expired, not yet valid, encrypted,
 * not RSA, too many certificates, too long, garbage).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_PEM_MAX_CHARS, readCertificatePem } from '../../src/domain/connections/certificate.js';
import { createTestCertificate } from '../../sandbox/x509.js';

const now = new Date();
const leafCa = createTestCertificate({ commonName: 'unit ca' });
const leaf = createTestCertificate({ commonName: 'unit leaf', issuer: leafCa });

function refusal(pem: string, at: Date = now): string {
  const read = readCertificatePem(pem, at);
  if (read.ok) throw new Error('accepted');
  expect(read.problem.field).toBe('/certificate/pem');
  expect(read.problem.hint.length).toBeGreaterThan(10);
  return read.problem.message;
}

describe('readCertificatePem', () => {
  it('reads a certificate, its key and its chain, leaf first whatever the order', () => {
    const read = readCertificatePem(`Bag Attributes\n    friendlyName: x\n${leafCa.certPem}${leaf.keyPem}\n${leaf.certPem}`, now);
    if (!read.ok) throw new Error(read.problem.message);
    expect(read.certificate).toMatchObject({ thumbprint: leaf.thumbprint, thumbprintSha256: leaf.thumbprintSha256, expiresAt: new Date(leaf.x509.validTo).toISOString() });
    expect(read.certificate.chainPem.indexOf(leaf.certPem.split('\n')[1]!)).toBeLessThan(read.certificate.chainPem.indexOf(leafCa.certPem.split('\n')[1]!));
    expect(read.certificate.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('accepts a PKCS#1 (BEGIN RSA PRIVATE KEY) key and CRLF line ends', () => {
    const pkcs1 = leaf.key.export({ type: 'pkcs1', format: 'pem' }).toString();
    const read = readCertificatePem((leaf.certPem + pkcs1).replace(/\n/g, '\r\n'), now);
    expect(read.ok).toBe(true);
  });

  it.each([
    ['no key', () => leaf.certPem, /no private key/],
    ['no certificate', () => leaf.keyPem, /no certificate/],
    ['a key of another certificate', () => leaf.certPem + leafCa.keyPem, /belongs to none/],
    ['two keys', () => leaf.certPem + leaf.keyPem + leafCa.keyPem, /more than one private key/],
    ['an encrypted PKCS#8 key', () => leaf.certPem + leaf.key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(), /encrypted/],
    ['an encrypted PKCS#1 key', () => leaf.certPem + leaf.key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(), /encrypted/],
    ['an EC key', () => leaf.certPem + generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /not an RSA key/],
    ['a damaged key', () => `${leaf.certPem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`, /cannot be read/],
    ['a damaged certificate', () => `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${leaf.keyPem}`, /cannot be read/],
    ['eleven certificates', () => leaf.certPem.repeat(11) + leaf.keyPem, /more than 10/],
    ['garbage', () => '\u0000\u202e<script>alert(1)</script>', /no certificate/],
    ['too long', () => 'A'.repeat(CERTIFICATE_PEM_MAX_CHARS + 1), /longer than/],
  ])('refuses %s', (_what, pem, message) => {
    expect(refusal(pem())).toMatch(message);
  });

  it('refuses an expired certificate and one not valid yet', () => {
    const old = createTestCertificate({ notBefore: new Date('2019-01-01T00:00:00Z'), notAfter: new Date('2020-01-01T00:00:00Z') });
    expect(refusal(old.certPem + old.keyPem)).toMatch(/expired on 2020-01-01T00:00:00.000Z/);
    const future = createTestCertificate({ notBefore: new Date(Date.now() + 86_400_000) });
    expect(refusal(future.certPem + future.keyPem)).toMatch(/not valid before/);
    // Far dates need GeneralizedTime: read as well.
    const far = createTestCertificate({ notAfter: new Date('2099-01-01T00:00:00Z') });
    expect(readCertificatePem(far.certPem + far.keyPem, now).ok).toBe(true);
  });
});

describe('the sandbox\'s test certificates', () => {
  it('encode any serial as a minimal positive DER integer (a leading 0x00 byte was refused by OpenSSL one time in 128)', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const made = createTestCertificate({ modulusLength: 1024, serial: Buffer.from([first, 0x01, ...Array.from({ length: 14 }, () => 0x22)]) });
      expect(made.x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
  });
});

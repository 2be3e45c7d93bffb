/**
 * Client certificates for tests, made with node:crypto alone: an RSA key and
 * a small X.509 v3 certificate (DER written here, signed sha256WithRSA),
 * self-signed or signed by another such certificate (a chain), with any
 * validity period, past ones included (which the openssl CLI of Debian 12
 * cannot set). pki.ts keeps the openssl-made TLS certificates of the servers.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

export interface TestCertificate {
  /** The certificate, PEM. */
  certPem: string;
  /** Its private key, PKCS#8 PEM. */
  keyPem: string;
  key: KeyObject;
  /** SHA-1 of the DER, upper-case hex (the portal's Thumbprint). */
  thumbprint: string;
  /** SHA-256 of the DER, hex. */
  thumbprintSha256: string;
  x509: X509Certificate;
}

export interface CertificateOptions {
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Signs the certificate (an intermediate or CA); absent: self-signed. */
  issuer?: TestCertificate;
  /** Default 2048. */
  modulusLength?: number;
  /** The serial's 16 bytes (default random); its first byte is made positive and non-zero. */
  serial?: Buffer;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...items: Buffer[]): Buffer => tlv(0x30, ...items);

function oid(text: string): Buffer {
  const [a, b, ...rest] = text.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [a * 40 + b];
  for (const part of rest) {
    const chunk = [part & 0x7f];
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function time(at: Date): Buffer {
  const iso = at.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const year = at.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string): Buffer => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05));

/** A new RSA key and its certificate. */
export function createTestCertificate(options: CertificateOptions = {}): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  const commonName = options.commonName ?? 'mailsync test client';
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const serial = Buffer.from(options.serial ?? randomBytes(16));
  // DER INTEGER: positive (top bit clear) and minimal (no leading zero byte): a first byte of 0x00
  // before one under 0x80 is "illegal padding" to OpenSSL, which refused one certificate in 128.
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const issuerName = options.issuer ? options.issuer.x509.subject.replace(/^CN=/, '') : commonName;
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    SHA256_WITH_RSA,
    name(issuerName),
    seq(time(notBefore), time(notAfter)),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, options.issuer?.key ?? privateKey);
  const der = seq(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), signature));
  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  return {
    certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    key: privateKey,
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex'),
    x509: new X509Certificate(certPem),
  };
}

/**
 * The sandbox's public key infrastructure: one test CA that signs the TLS
 * certificate every sandbox server uses (identity imitation, Dovecot, SMTP),
 * and one RS256 key pair that signs the tokens the identity imitation issues
 * and that Dovecot and the SMTP server verify.
 *
 * Certificates come from the `openssl` CLI (Node cannot issue X.509
 * certificates itself); the signing key from node:crypto. Everything is
 * written below `dir` and reused when it is already there, so concurrent
 * processes (the demo, tests, benchmarks) can share one sandbox directory.
 */
import { execFile } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SigningKey {
  /** Key id, as it appears in the JWT header and the JWKS. */
  kid: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface SandboxPki {
  dir: string;
  /** PEM file of the test CA: what NODE_EXTRA_CA_CERTS points at. */
  caCertFile: string;
  caCertPem: string;
  /** Server certificate for localhost, 127.0.0.1 and ::1, signed by the CA. */
  serverCertFile: string;
  serverKeyFile: string;
  serverCertPem: string;
  serverKeyPem: string;
  signingKey: SigningKey;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function writeAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, file);
}

async function createCertificates(dir: string): Promise<void> {
  const ext = join(dir, 'server.ext');
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '',
    ].join('\n'),
  );
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=mailsync sandbox CA',
      '-keyout', 'ca.key', '-out', 'ca.tmp.pem'],
    dir,
  );
  await openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'],
    dir,
  );
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.tmp.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '3650', '-extfile', 'server.ext', '-out', 'server.pem'],
    dir,
  );
  // The CA file appears last: its presence means the set is complete.
  await rename(join(dir, 'ca.tmp.pem'), join(dir, 'ca.pem'));
}

function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = createHash('sha256').update(der).digest('base64url').slice(0, 27);
  return { kid, publicKeyPem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Creates the PKI below `dir`, or loads the one already there. */
export async function loadOrCreatePki(dir: string): Promise<SandboxPki> {
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, 'ca.pem'))) await createCertificates(dir);
  const signingFile = join(dir, 'signing-key.json');
  if (!existsSync(signingFile)) await writeAtomic(signingFile, JSON.stringify(createSigningKey()));
  const signingKey = JSON.parse(await readFile(signingFile, 'utf8')) as SigningKey;
  createPublicKey(signingKey.publicKeyPem); // fails loudly on a damaged file
  return {
    dir,
    caCertFile: join(dir, 'ca.pem'),
    caCertPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverCertPem: await readFile(join(dir, 'server.pem'), 'utf8'),
    serverKeyPem: await readFile(join(dir, 'server.key'), 'utf8'),
    signingKey,
  };
}

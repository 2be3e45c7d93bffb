/**
 * The MSAL network client against local HTTPS servers that misbehave on
 * purpose, plus a CONNECT proxy. MSAL-level behaviour is covered in
 * test/sandbox/identity.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { causeCode, createMsalNetworkClient, MsalHttpError, type MsalNetworkClient } from '../../src/adapters/msal/network-client.js';

let pki: SandboxPki;
let server: Server;
let url: string;
let client: MsalNetworkClient;

function listen(s: Server | HttpServer): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

async function close(s: Server | HttpServer): Promise<void> {
  s.closeAllConnections();
  await new Promise((resolve) => s.close(resolve));
}

async function rejection(fn: () => Promise<unknown>): Promise<MsalHttpError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MsalHttpError);
    return err as MsalHttpError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
    const path = req.url ?? '/';
    if (path === '/echo' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.setHeader('Set-Cookie', ['a=1', 'b=2']);
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Ms-Request-Id': 'r1' });
        res.end(JSON.stringify({ body, contentType: req.headers['content-type'] }));
      });
    } else if (path === '/entra-error') {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: nope', error_codes: [7000215] }));
    } else if (path === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/json' }); // no content-length: chunked
      for (let i = 0; i < 20; i++) res.write(`${'x'.repeat(1024)}`);
      res.end();
    } else if (path === '/empty') {
      res.writeHead(200).end();
    } else if (path === '/array') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('[1,2]');
    } else if (path === '/stall-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":'); // and never finishes
    }
  });
  url = `https://localhost:${await listen(server)}`;
  client = createMsalNetworkClient({ caPem: [pki.caCertPem], maxResponseBytes: 8 * 1024, timeoutMs: 500 });
});

afterAll(async () => {
  await client?.close();
  if (server) await close(server);
});

describe('createMsalNetworkClient', () => {
  it('posts the body with MSAL headers and returns lower-case, flattened headers', async () => {
    const res = await client.sendPostRequestAsync<{ body: string; contentType: string }>(`${url}/echo`, {
      body: 'grant_type=client_credentials',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ body: 'grant_type=client_credentials', contentType: 'application/x-www-form-urlencoded;charset=utf-8' });
    expect(res.headers['x-ms-request-id']).toBe('r1');
    expect(res.headers['set-cookie']).toBe('a=1, b=2');
  });

  it('returns an Entra error body as a response (MSAL reads it) and remembers it as a failure', async () => {
    const res = await client.sendGetRequestAsync(`${url}/entra-error`);
    expect(res.status).toBe(400);
    expect(client.lastFailure(`${url}/entra-error`)).toMatchObject({ status: 400, entra: { error: 'invalid_client', errorCodes: [7000215] } });
  });

  it('refuses a chunked body past maxResponseBytes', async () => {
    expect(await rejection(() => client.sendGetRequestAsync(`${url}/chunked`))).toMatchObject({ kind: 'too_large', status: 200 });
  });

  it('refuses an empty body and a JSON array as bad_response', async () => {
    expect((await rejection(() => client.sendGetRequestAsync(`${url}/empty`))).message).toContain('(empty body)');
    expect(await rejection(() => client.sendGetRequestAsync(`${url}/array`))).toMatchObject({ kind: 'bad_response', errorCode: 'token_parsing_error' });
  });

  it('times out a body that stops arriving', async () => {
    const err = await rejection(() => client.sendGetRequestAsync(`${url}/stall-body`));
    expect(err.kind).toBe('timeout');
    expect(causeCode(err)).toBe('UND_ERR_BODY_TIMEOUT');
  });

  it('names a self-signed server certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailsync-selfsigned-'));
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const selfSigned = createServer({ cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) }, (_req, res) => res.end('{}'));
    const port = await listen(selfSigned);
    try {
      const err = await rejection(() => client.sendGetRequestAsync(`https://localhost:${port}/`));
      expect(err.kind).toBe('tls');
      expect(causeCode(err)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect((err.cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      await close(selfSigned);
    }
  });

  it('goes through a CONNECT proxy, trusting the extra CA for the target', async () => {
    const tunnels: string[] = [];
    const proxy = createHttpServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host === 'localhost' ? '127.0.0.1' : (host ?? ''), () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    const proxyPort = await listen(proxy);
    const viaProxy = createMsalNetworkClient({ caPem: [pki.caCertPem], proxyUrl: `http://127.0.0.1:${proxyPort}` });
    try {
      const res = await viaProxy.sendPostRequestAsync<{ body: string }>(`${url}/echo`, { body: 'x=1' });
      expect(res.body.body).toBe('x=1');
      expect(tunnels).toEqual([new URL(url).host]);
    } finally {
      await viaProxy.close();
      await close(proxy);
    }
  });
});

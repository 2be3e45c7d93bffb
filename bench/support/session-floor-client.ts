/**
 * The child of `bench/session-floor.ts`: opens FLOOR_COUNT connections of one kind to the light IMAP
 * imitation and prints, as one JSON line, its RSS and heap after a full GC before the first and
 * after the last (and after FLOOR_SETTLE_MS more, idling), so the parent can divide by the count.
 * Run with --expose-gc. Nothing of mailsync is loaded for `tls` and `imapflow`.
 *
 * Kinds: `tls` a bare TLS socket (the TLS handshake done, nothing read); `imapflow` a bare ImapFlow
 * logged in with XOAUTH2 and idling on INBOX (imapflow's defaults, no logger); `session` mailsync's
 * PollSession (src/adapters/imap) idling on INBOX, as a kept session of the worker.
 */
import process from 'node:process';
import { connect, createSecureContext, type TLSSocket } from 'node:tls';

interface Sample { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

async function sample(): Promise<Sample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

type Opener = (user: string) => Promise<unknown>;

async function openerOf(kind: string, port: number, ca: string, token: string): Promise<Opener> {
  const secureContext = createSecureContext({ ca: [ca], minVersion: 'TLSv1.2' });
  if (kind === 'tls') {
    return (_user) => new Promise<TLSSocket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost' }, () => resolve(socket));
      socket.once('error', reject);
    });
  }
  if (kind === 'imapflow') {
    const { ImapFlow } = await import('imapflow');
    return async (user) => {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: true, auth: { user, accessToken: token }, tls: { secureContext }, logger: false });
      client.on('error', () => undefined);
      await client.connect();
      await client.mailboxOpen('INBOX', { readOnly: true });
      void client.idle().catch(() => undefined);
      return client;
    };
  }
  if (kind === 'session') {
    const { createPollSession } = await import('../../src/adapters/imap/poll-session.js');
    const { createLogger } = await import('../../src/logging/logger.js');
    // The bench worker's level (debug), written nowhere.
    const logger = createLogger({ level: 'debug' }, { write: () => undefined });
    // One trust list for every session, as the worker's (secureContextFor shares a context per list).
    const trust = [ca];
    return async (user) => {
      const session = createPollSession({ host: '127.0.0.1', port, secure: true, user, accessToken: token, ca: trust, logger });
      await session.connect();
      session.onActivity('INBOX', () => undefined);
      await session.idleOn('INBOX');
      session.park();
      return session;
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

async function main(): Promise<void> {
  const kind = env('FLOOR_KIND');
  const count = Number(env('FLOOR_COUNT'));
  const open = await openerOf(kind, Number(env('FLOOR_PORT')), env('FLOOR_CA'), env('FLOOR_TOKEN'));
  await open('warm@contoso.example'); // modules and the secure context loaded before the baseline
  const before = await sample();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const held: unknown[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => open(`floor-${i + j}@contoso.example`));
    held.push(...(await Promise.all(batch)));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const openMs = performance.now() - started;
  const after = await sample();
  await new Promise((r) => setTimeout(r, Number(process.env.FLOOR_SETTLE_MS ?? 5_000)));
  const settled = await sample();
  process.stdout.write(`${JSON.stringify({ kind, count: held.length, openMs, cpuMs: (cpu.user + cpu.system) / 1000, before, after, settled })}\n`);
  process.exit(0);
}

await main();

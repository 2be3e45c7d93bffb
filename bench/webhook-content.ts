/**
 * bench/webhook-content: what a subscription's `include` costs. A backlog of
 * 1,000 messages (about 9 KB each: text, HTML, an attachment) lands in one
 * mailbox of the sandbox Dovecot; one worker process announces them to one
 * subscription, first without `include`, then with every part. Reports the
 * worker's CPU per message (polling, downloading, parsing, storing and
 * delivering), the time until all are delivered, and the message sources
 * fetched (counted by the sandbox IMAP proxy). Then the Redis bytes an event
 * with content holds while its deliveries are pending (MEMORY USAGE).
 *
 *   npm run bench:webhook-content            (about a minute)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startImapProxy } from '../sandbox/imap-proxy.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { messageEventId, newEvent } from '../src/domain/events/events.js';
import { MAX_BODY_BYTES, type MessageContent } from '../src/domain/events/message-content.js';
import { deliveryIdOf } from '../src/domain/webhooks/records.js';
import { buildTestApp } from '../test/support/app.js';
import { multipartMessage } from '../test/support/mime.js';
import { spawnService } from '../test/support/service-process.js';
import { cpuSeconds, fmt, printTable } from './support/stats.js';

const BACKLOG = Number(process.env.BACKLOG ?? 1_000);

function message(to: string, i: number): Buffer {
  return multipartMessage({
    to,
    subject: `content ${i}`,
    text: `Hello,\n\n${'Order 4711 shipped; tracking follows. '.repeat(50)}\n`,
    html: `<html><body><p>Hello,</p><p>${'Order <b>4711</b> shipped; tracking follows. '.repeat(100)}</p></body></html>`,
    attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', content: Buffer.alloc(1_500, 7) }],
  });
}

async function runBacklog(include: string[] | undefined): Promise<(string | number)[]> {
  const sandbox = await startSandbox();
  const proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
  const env = { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const control = await buildTestApp(sandbox.redis.url, env);
  const arrived = new Set<string>();
  let bytes = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bytes += body.length;
      const subject = (JSON.parse(body.toString()) as { data: { subject?: string } }).data.subject;
      if (subject) arrived.add(subject);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  try {
    await control.app.inject({
      method: 'POST', url: '/v1/webhooks', headers: control.auth,
      payload: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['message.received'], ...(include ? { include } : {}) },
    });
    const connection = await control.deps.services.connections.create({
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId,
      clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const email = 'content@contoso.example';
    const mailbox = await control.deps.services.mailboxes.create({
      connectionId: connection.id, email, pollIntervalSeconds: 1, ...sandbox.mailServers(), imap: { host: '127.0.0.1', port: proxy.port, secure: true },
    });
    const worker = spawnService({
      ...env, ROLE: 'worker', REDIS_PREFIX: control.config.redis.prefix, ENCRYPTION_KEY: control.config.encryption.key.toString('base64'), LOG_LEVEL: 'warn', POLL_IDLE: 'false',
    });
    try {
      for (let i = 0; !(await control.deps.services.mailboxes.get(mailbox.id)).lastPollAt; i++) {
        if (i > 600) throw new Error('no baseline poll within a minute');
        await new Promise((r) => setTimeout(r, 100));
      }
      const messages = Array.from({ length: BACKLOG }, (_, i) => message(email, i));
      const size = messages.reduce((n, m) => n + m.length, 0) / BACKLOG;
      const cpuStart = cpuSeconds(worker.child.pid!);
      const bodyFetchesBefore = proxy.bodyFetches;
      const started = performance.now();
      await sandbox.dovecot.deliverMany(email, messages);
      for (let i = 0; arrived.size < BACKLOG; i++) {
        if (i > 6_000) throw new Error(`${arrived.size} of ${BACKLOG} delivered within 10 minutes`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuSeconds(worker.child.pid!) - cpuStart;
      return [
        include ? `include ${include.join(', ')}` : 'no include', fmt(BACKLOG), fmt(size / 1024, 1), fmt(seconds, 1),
        fmt((cpu / BACKLOG) * 1e6), fmt(proxy.bodyFetches - bodyFetchesBefore), fmt(bytes / BACKLOG / 1024, 1),
      ];
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  } finally {
    receiver.close();
    await proxy.stop();
    await control.close();
    await sandbox.stop();
  }
}

/** Redis bytes of one event with content, its deliveries pending (three subscriptions, no worker). */
async function storedBytes(label: string, content: MessageContent): Promise<(string | number)[]> {
  const sandbox = await startSandbox();
  const control = await buildTestApp(sandbox.redis.url, { ...sandbox.serviceEnv(), WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  try {
    const mailboxId = 'mbx_AAAAAAAAAAAAAAAA';
    const ids: string[] = [];
    for (const include of [['text', 'html', 'headers', 'attachments'], ['text'], []]) {
      const res = await control.app.inject({
        method: 'POST', url: '/v1/webhooks', headers: control.auth,
        payload: { url: 'http://127.0.0.1:9/', events: ['message.received'], include },
      });
      ids.push(res.json().id as string);
    }
    const event = newEvent('message.received', {
      mailboxId, email: 'a@contoso.example', folder: 'INBOX', uidValidity: 1, uid: 1, messageId: '<m@example.org>', subject: 'Invoice 4711',
      from: ['customer@example.org'], to: ['a@contoso.example'], cc: [], date: new Date().toISOString(), size: 20_000,
    }, messageEventId(mailboxId, 'INBOX', 1, 1));
    event.content = { ok: true, content };
    await control.deps.events.publish(event);
    const k = control.deps.keys.webhookDelivery;
    const usage = async (key: string) => Number(await control.deps.redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const stored = await usage(k.content(event.id));
    const records = await Promise.all(ids.map((id) => usage(k.record(deliveryIdOf(id, event.id)))));
    return [label, fmt(stored / 1024, 1), records.map((b) => fmt(b / 1024, 1)).join(' / ')];
  } finally {
    await control.close();
    await sandbox.stop();
  }
}

const typical: MessageContent = {
  text: 'Order 4711 shipped; tracking follows. '.repeat(50), textTruncated: false,
  html: `<p>${'Order <b>4711</b> shipped; tracking follows. '.repeat(100)}</p>`, htmlTruncated: false,
  headers: Array.from({ length: 25 }, (_, i) => ({ name: `X-Header-${i}`, value: 'v'.repeat(60) })), headersTruncated: false,
  attachments: [{ id: '2', filename: 'invoice.pdf', contentType: 'application/pdf', size: 1_500, contentId: null, checksum: 'c'.repeat(64), disposition: 'attachment' }],
  attachmentsTruncated: false,
};
const largest: MessageContent = { ...typical, text: 'a'.repeat(MAX_BODY_BYTES), textTruncated: true, html: 'h'.repeat(MAX_BODY_BYTES), htmlTruncated: true };

const rows: (string | number)[][] = [];
for (const include of [undefined, ['text', 'html', 'headers', 'attachments']]) {
  process.stdout.write(`running: a backlog of ${BACKLOG} messages, ${include ? 'with' : 'without'} include…\n`);
  rows.push(await runBacklog(include));
}
printTable('Backlog in one mailbox, one worker process (polls, downloads, parses, stores and delivers), sandbox Dovecot', [
  'subscription', 'messages', 'KB/message', 'all delivered after s', 'worker CPU µs/message', 'sources fetched', 'webhook KB/delivery',
], rows);
printTable('Redis bytes of one event with content, deliveries pending (subscriptions: all parts / text / none)', [
  'content', 'stored content KB', 'delivery records KB',
], [await storedBytes('typical (2 KB text, 5 KB html, 25 headers, 1 attachment)', typical), await storedBytes('largest (256 KiB text + 256 KiB html)', largest)]);
process.exit(0);

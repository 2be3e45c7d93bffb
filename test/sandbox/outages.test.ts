/**
 * The sandbox's outage switches the fault suite uses: Dovecot and the webhook
 * receiver go down and come back on the same ports with their data, Redis
 * stays down for a while before restarting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type SandboxDovecot } from '../../sandbox/dovecot.js';
import { loadOrCreatePki, type SandboxPki } from '../../sandbox/pki.js';
import { startRedis } from '../../sandbox/redis.js';
import { startWebhookReceiver } from '../../sandbox/webhook-receiver.js';
import { rawMail } from '../support/mail.js';
import { connectionRefused } from '../support/net.js';

let pki: SandboxPki;
let dovecot: SandboxDovecot;

beforeAll(async () => {
  pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'mailsync-pki-')));
  dovecot = await startDovecot({ pki });
});

afterAll(async () => {
  await dovecot?.stop();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});


describe('sandbox outages', () => {
  it('Dovecot pauses (connections refused, mail not deliverable) and resumes on the same ports with its mail', async () => {
    const user = 'outage@contoso.test';
    await dovecot.deliver(user, rawMail(user, 'before'));
    const pid = dovecot.pid;
    await dovecot.pause();
    expect(await connectionRefused(dovecot.port)).toBe(true);
    await expect(dovecot.deliver(user, rawMail(user, 'while down'))).rejects.toThrow(/User lookup failed/);
    await dovecot.resume();
    expect(dovecot.pid).not.toBe(pid);
    expect(await connectionRefused(dovecot.port)).toBe(false);
    await dovecot.deliver(user, rawMail(user, 'after'));
    expect((await dovecot.status(user, 'INBOX')).messages).toBe(2);
  });

  it('the webhook receiver pauses and resumes on the same URL, keeping what it received', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const post = () => fetch(`${receiver.url}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await (await post()).arrayBuffer();
      await receiver.pause();
      await expect(post()).rejects.toThrow();
      await receiver.resume();
      await (await post()).arrayBuffer();
      expect(receiver.received).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it('Redis stays down for downMs, then restarts on the same port with its AOF data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mailsync-redis-outage-'));
    const redis = await startRedis({ kind: 'process', appendonly: true, dir });
    const client = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    client.on('error', () => undefined);
    try {
      await client.set('survives', '1');
      const restarted = redis.restart!({ downMs: 1_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(await connectionRefused(redis.port!)).toBe(true);
      await restarted;
      expect(await client.get('survives')).toBe('1');
    } finally {
      client.disconnect();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

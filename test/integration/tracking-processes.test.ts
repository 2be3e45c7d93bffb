/**
 * Following changes (issue 16) through a worker killed with SIGKILL in the
 * middle and through a Redis restart: worker processes follow several tracked
 * mailboxes while another client (doveadm) flags and expunges messages in
 * rounds; the first worker is killed after the third round and a second takes
 * over, Redis restarts (its AOF kept) after the fifth. Every change is
 * announced, each under exactly one webhook-id (a delivery repeated after the
 * kill carries the same id), and nothing that did not change is announced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { nextSecond, rawMail, waitUntil } from '../support/mail.js';
import { spawnService, type ServiceProcess } from '../support/service-process.js';

const MAILBOXES = 5;
const MESSAGES = 30;
const ROUNDS = 6;
/** Per round and mailbox: three messages flagged, one expunged (UIDs no round touches twice). */
const flaggedIn = (round: number): number[] => [round * 3 + 1, round * 3 + 2, round * 3 + 3];
const expungedIn = (round: number): number => MESSAGES - round;

const workers: ServiceProcess[] = [];
const sandbox = useSandbox({ redis: { kind: 'process', appendonly: true } });
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);
afterAll(() => {
  for (const w of workers) w.child.kill('SIGKILL');
});

async function startWorker(): Promise<ServiceProcess> {
  const worker = spawnService({
    ...sandbox.serviceEnv(),
    ROLE: 'worker',
    REDIS_PREFIX: t.config.redis.prefix,
    ENCRYPTION_KEY: t.config.encryption.key.toString('base64'),
    POLL_IDLE: 'false',
    WEBHOOK_RETRY_BASE_MS: '50',
    // A delivery the killed worker was making is tried again once its attempt lease (the timeout
    // plus a minute) lapses: a short timeout keeps that lease near a minute. One it had admitted
    // but not yet queued waits out the admission lease (5 minutes by default; a CI run lost one so).
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_ADMISSION_LEASE_MS: '5000',
  });
  workers.push(worker);
  await worker.waitForLog('workers started');
  return worker;
}

type ChangeData = { mailboxId: string; uid: number; changed?: { flagged?: boolean } };
type Delivery = { id: string; verified: boolean; type: string; data: ChangeData };

describe('following changes through a worker kill and a Redis restart', () => {
  it('announces every change under exactly one webhook-id', async () => {
    const hook = await t.app.inject({
      method: 'POST', url: '/v1/webhooks', headers: t.auth,
      payload: { url: `${sandbox.receiver.url}/h`, events: ['message.updated', 'message.deleted'] },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    sandbox.receiver.setSecrets([hook.json().secret]);
    const conn = await t.app.inject({
      method: 'POST', url: '/v1/connections', headers: t.auth,
      payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const users = Array.from({ length: MAILBOXES }, (_, i) => `track-kill-${i}@contoso.example`);
    for (const user of users) {
      for (let i = 1; i <= MESSAGES; i++) await sandbox.dovecot.deliver(user, rawMail(user, `message ${i}`));
    }
    await nextSecond();
    const ids = new Map<string, string>();
    for (const email of users) {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/mailboxes', headers: t.auth,
        payload: { connectionId: conn.json().id, email, pollIntervalSeconds: 1, ...sandbox.mailServers(), track: { flags: true, deletions: true, window: 100 } },
      });
      expect(res.statusCode, res.body).toBe(201);
      ids.set(email, res.json().id);
    }
    const first = await startWorker();
    for (const id of ids.values()) {
      await waitUntil(`the baseline window of ${id}`, async () => (await t.deps.redis.exists(t.deps.keys.trackedWindow(id, 'INBOX'))) === 1 || undefined, 30_000);
    }

    const doveadm = doveadmFor(sandbox.dovecot.configFile);
    let killedAt = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const user of users) {
        const [low, , high] = flaggedIn(round);
        await doveadm(['flags', 'add', '-u', user, '\\Flagged', 'mailbox', 'INBOX', 'uid', `${low}:${high}`]);
        await doveadm(['expunge', '-u', user, 'mailbox', 'INBOX', 'uid', String(expungedIn(round))]);
      }
      if (round === 2) {
        killedAt = Date.now();
        first.child.kill('SIGKILL');
        await startWorker();
      }
      if (round === 4) await sandbox.redis.restart!({ downMs: 500 });
    }

    const expected = new Set<string>();
    for (const id of ids.values()) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const uid of flaggedIn(round)) expected.add(`message.updated ${id} ${uid}`);
        expected.add(`message.deleted ${id} ${expungedIn(round)}`);
      }
    }
    const deliveries = () => sandbox.receiver.received
      .filter((d) => d.type === 'message.updated' || d.type === 'message.deleted')
      .map((d): Delivery => ({ id: d.id ?? '', verified: d.verified, type: d.type ?? '', data: (d.body as { data: ChangeData }).data }));
    const changeOf = (d: Delivery) => `${d.type} ${d.data.mailboxId} ${d.data.uid}`;
    // A poll cut short by the kill is taken over once its lock lapses (45 s at worst), a delivery
    // cut short once its attempt lease lapses (62 s), one admitted but not queued after 5 s.
    try {
      await waitUntil('every change announced', () => {
        const seen = new Set(deliveries().map(changeOf));
        return [...expected].every((c) => seen.has(c)) ? true : undefined;
      }, 150_000);
    } catch (err) {
      // What CI shows when this fails: the changes missing and where each mailbox stands.
      const seen = new Set(deliveries().map(changeOf));
      console.error('missing', [...expected].filter((c) => !seen.has(c)));
      for (const id of ids.values()) {
        const m = await t.deps.services.mailboxes.get(id);
        console.error(m.email, m.state, m.lastPollAt, JSON.stringify(m.lastError));
      }
      throw err;
    }

    const last = Math.max(...sandbox.receiver.received.map((d) => d.at.getTime()));
    console.log(`last change announced ${Math.round((last - killedAt) / 1000)} s after the kill`);
    const all = deliveries();
    expect(all.every((d) => d.verified)).toBe(true);
    // Nothing announced that did not change, and every update is the \Flagged one.
    expect([...new Set(all.map(changeOf))].sort()).toEqual([...expected].sort());
    for (const d of all.filter((x) => x.type === 'message.updated')) expect(d.data.changed).toEqual({ flagged: true });
    // Each change under exactly one webhook-id (repeats after the kill share it).
    const idsPerChange = new Map<string, Set<string>>();
    for (const d of all) idsPerChange.set(changeOf(d), (idsPerChange.get(changeOf(d)) ?? new Set()).add(d.id));
    for (const [change, webhookIds] of idsPerChange) expect(webhookIds.size, change).toBe(1);
    expect(workers[1]!.child.exitCode).toBeNull();
  }, 240_000);
});

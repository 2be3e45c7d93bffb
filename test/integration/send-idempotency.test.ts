/**
 * The Idempotency-Key claim as Redis holds it, through the real app: the body
 * hash it keeps for a day is keyed (HMAC under a key derived from
 * ENCRYPTION_KEY), so reading Redis does not let anyone test guesses of a
 * templated message's short code; retries still answer the first send, and
 * after a key rotation a claim made under the previous key still does. No
 * worker runs here: accepted messages stay queued.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startRedis, type SandboxRedis } from '../../sandbox/redis.js';
import { keyIdOf } from '../../src/crypto/envelope.js';
import { idempotencyKeyDigest } from '../../src/domain/sending/idempotency.js';
import { buildTestApp, type TestApp } from '../support/app.js';

const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const PREFIX = `test-idem-${randomBytes(4).toString('hex')}`;

let redis: SandboxRedis;
let before: TestApp;
let after: TestApp | undefined;
let mailboxId: string;

beforeAll(async () => {
  redis = await startRedis();
  before = await buildTestApp(redis.url, { ENCRYPTION_KEY: OLD_KEY.toString('base64'), REDIS_PREFIX: PREFIX });
  const connection = await before.app.inject({
    method: 'POST', url: '/v1/connections', headers: before.auth,
    payload: { name: 'c', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  const mailbox = await before.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: before.auth,
    payload: { connectionId: connection.json().id, email: 'support@contoso.example', pollIntervalSeconds: 86_400 },
  });
  expect(mailbox.statusCode, mailbox.body).toBe(201);
  mailboxId = mailbox.json().id;
});

afterAll(async () => {
  await after?.close();
  await before?.close();
  await redis?.stop();
});

const send = (t: TestApp, key: string, payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/v1/send', headers: { ...t.auth, 'idempotency-key': key }, payload });

/** A one-time-code mail: the bodies differ by four digits only. */
const codeMail = (code: string) => ({ mailboxId, to: ['customer@example.org'], subject: 'Your sign-in code', text: `Your code is ${code}.` });

/** What a plain SHA-256 claim would hold for a body (canonical JSON: keys sorted). */
const sha256Of = (body: ReturnType<typeof codeMail>): string =>
  createHash('sha256').update(JSON.stringify(body, Object.keys(body).sort()), 'utf8').digest('base64url');

const claimOf = async (t: TestApp, key: string): Promise<string> =>
  (await t.deps.redis.get(t.deps.keys.send.idempotency(idempotencyKeyDigest(key)))) ?? '';

describe('the Idempotency-Key claim in Redis', () => {
  it('keeps a keyed hash of the body: guessing the code by hashing candidates finds nothing', async () => {
    const first = await send(before, 'otp-0042', codeMail('4711'));
    expect(first.statusCode, first.body).toBe(202);
    const claim = await claimOf(before, 'otp-0042');
    // The attack: hash every candidate body and look for it in the claim.
    const candidates = Array.from({ length: 10_000 }, (_, n) => sha256Of(codeMail(String(n).padStart(4, '0'))));
    expect(candidates.filter((hash) => claim.includes(hash))).toEqual([]);
    expect(claim).not.toContain(createHash('sha256').update(JSON.stringify(codeMail('4711'))).digest('hex'));
    // `<key id>.<HMAC> <send id>`: the id of the ENCRYPTION_KEY the hash was made under.
    expect(claim).toMatch(new RegExp(`^${keyIdOf(OLD_KEY)}\\.[\\w-]{43} ${first.json().id}$`));
  });

  it('answers the first send again for the same body, and 422 idempotency_mismatch for another', async () => {
    const first = await send(before, 'otp-0043', codeMail('1234'));
    expect(first.statusCode, first.body).toBe(202);
    const again = await send(before, 'otp-0043', { text: 'Your code is 1234.', subject: 'Your sign-in code', to: ['customer@example.org'], mailboxId });
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toEqual({ id: first.json().id, status: 'queued' });
    const other = await send(before, 'otp-0043', codeMail('1235'));
    expect(other.statusCode, other.body).toBe(422);
    expect(other.json()).toMatchObject({ code: 'idempotency_mismatch', sendId: first.json().id });
  });

  it('after a key rotation, recognises a claim made under the previous key, and makes new ones under the new key', async () => {
    const first = await send(before, 'otp-0044', codeMail('9876'));
    expect(first.statusCode, first.body).toBe(202);
    after = await buildTestApp(redis.url, {
      ENCRYPTION_KEY: NEW_KEY.toString('base64'), ENCRYPTION_KEY_PREVIOUS: OLD_KEY.toString('base64'), REDIS_PREFIX: PREFIX,
    });
    const again = await send(after, 'otp-0044', codeMail('9876'));
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toEqual({ id: first.json().id, status: 'queued' });
    const other = await send(after, 'otp-0044', codeMail('9877'));
    expect(other.statusCode, other.body).toBe(422);
    expect(other.json().code).toBe('idempotency_mismatch');

    const fresh = await send(after, 'otp-0045', codeMail('5555'));
    expect(fresh.statusCode, fresh.body).toBe(202);
    expect(await claimOf(after, 'otp-0045')).toMatch(new RegExp(`^${keyIdOf(NEW_KEY)}\\.`));
  });
});

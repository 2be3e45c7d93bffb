/** One go at a queued message (Delivery), with every port faked: what is counted, retried, failed and announced. */
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { SmtpSent } from '../../src/adapters/smtp/send-pool.js';
import { smtpError } from '../../src/adapters/smtp/failure.js';
import { AppError } from '../../src/errors/errors.js';
import type { DomainEvent } from '../../src/domain/events/events.js';
import { ANNOUNCE_RETRY_MS, Delivery, sendEventId } from '../../src/domain/sending/delivery.js';
import { createLogger } from '../../src/logging/logger.js';
import type { SendRecord, SendStore } from '../../src/store/send-store.js';
import { captureLogs } from '../support/logs.js';

const POLICY = { baseDelayMs: 1_000, maxDelayMs: 60_000, throttleDelayMs: 30_000, maxAttempts: 3 };
const CONTENT = Buffer.from(JSON.stringify({ v: 1, from: 'a@contoso.example', messageId: '<m@contoso.example>', date: new Date(0).toISOString(), to: ['b@example.org'], cc: [], bcc: [], attachments: [], headers: {} }));
const OK: SmtpSent = { response: '250 2.0.0 OK', accepted: ['b@example.org'], rejected: [] };

/** What Redis at its maxmemory answers a publish (a Lua script's refused write). */
const redisFull = (): Error => new ReplyError("OOM command not allowed when used memory > 'maxmemory'. script: 0123, on @user_script:9.") as Error;

function setup(options: { record?: Partial<SendRecord>; wait?: number; duringReserve?: (r: SendRecord) => SendRecord; sends?: (() => Promise<SmtpSent>)[]; failWrites?: number; failPublishes?: number; publishError?: () => Error } = {}) {
  let record: SendRecord = {
    id: 'snd_AAAAAAAAAAAAAAAA', mailboxId: 'mbx_AAAAAAAAAAAAAAAA', status: 'queued', attempts: 0, recipients: 1, messageId: '<m@contoso.example>',
    smtpResponse: null, error: null, rejectedRecipients: [], bounces: [], contentReleasedAt: null, submitting: null, sendAt: null, createdAt: '', updatedAt: '', ...options.record,
  };
  const calls = { tokens: [] as boolean[], sends: 0, dropped: 0, events: [] as DomainEvent[], retries: [] as unknown[], finishes: [] as unknown[] };
  let failWrites = options.failWrites ?? 0;
  let failPublishes = options.failPublishes ?? 0;
  const store = {
    get: async () => record,
    // As send-begin-1.lua: only a queued (or sending) record starts an attempt.
    begin: async () => (record.status === 'queued' || record.status === 'sending' ? (record = { ...record, attempts: record.attempts + 1, status: 'sending' }) : record),
    content: async () => CONTENT,
    markSubmitting: async (_id: string, marker: string) => void (record = { ...record, submitting: marker }),
    retryLater: async (_id: string, error: unknown) => void (calls.retries.push(error), (record = { ...record, status: 'queued', submitting: null })),
    finish: async (_id: string, outcome: { status: 'sent' | 'failed' }) => {
      if (failWrites-- > 0) throw new Error('Connection is closed.');
      calls.finishes.push(outcome);
      record = { ...record, ...outcome, submitting: null };
    },
  } as unknown as SendStore;
  const sends = options.sends ?? [async () => OK];
  const logs = captureLogs();
  const delivery = new Delivery({
    store,
    limiter: { reserve: async () => ((record = options.duringReserve?.(record) ?? record), options.wait ?? 0) },
    mailboxes: { get: async () => ({ id: record.mailboxId, email: 'a@contoso.example', flow: 'app_only', smtp: { host: 'h', port: 587, secure: false } }) } as never,
    tokens: { tokenFor: async (_id: string, o: { forceRefresh?: boolean } = {}) => (calls.tokens.push(o.forceRefresh === true), { accessToken: `t${calls.tokens.length}`, expiresAt: new Date(), claims: {}, fromCache: false }) } as never,
    smtp: { send: async () => sends[Math.min(calls.sends++, sends.length - 1)]!(), drop: () => void calls.dropped++ },
    events: {
      publish: async (event) => {
        if (failPublishes-- > 0) throw (options.publishError ?? redisFull)();
        calls.events.push(event);
      },
    },
    logger: createLogger({ level: 'info' }, logs.stream),
    policy: POLICY,
    random: () => 0,
  });
  return { delivery, calls, logs, record: () => record };
}

const refusal = (response: string, command = 'MAIL FROM') =>
  smtpError(Object.assign(new Error(response), { code: response.startsWith('535') ? 'EAUTH' : 'EENVELOPE', responseCode: Number(response.slice(0, 3)), response, command }), { flow: 'app_only', mailbox: 'a@contoso.example' });

describe('Delivery', () => {
  it('sends, records and announces message.sent with a stable event id', async () => {
    const { delivery, calls, record } = setup();
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'sent' });
    expect(record()).toMatchObject({ status: 'sent', attempts: 1, submitting: null });
    expect(calls.events.map((e) => [e.type, e.id])).toEqual([['message.sent', sendEventId('message.sent', 'snd_AAAAAAAAAAAAAAAA')]]);
  });

  it('over the rate limit: waits, without counting an attempt', async () => {
    const { delivery, calls, record } = setup({ wait: 5_000 });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'wait', delayMs: 5_000 });
    expect(record().attempts).toBe(0);
    expect(calls.sends).toBe(0);
  });

  it('535 5.7.3: drops the pool, gets a fresh token once, sends in the same attempt', async () => {
    const { delivery, calls, record } = setup({ sends: [async () => { throw refusal('535 5.7.3 Authentication unsuccessful', 'AUTH XOAUTH2'); }, async () => OK] });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'sent' });
    expect(calls.tokens).toEqual([false, true]);
    expect(calls.dropped).toBe(1);
    expect(record().attempts).toBe(1);
  });

  it('535 twice: fails for good with the hint', async () => {
    const { delivery, calls, record } = setup({ sends: [async () => { throw refusal('535 5.7.3 Authentication unsuccessful', 'AUTH XOAUTH2'); }] });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'failed' });
    expect(record()).toMatchObject({ status: 'failed', error: { code: 'smtp_auth_failed', hint: expect.stringContaining('New-ServicePrincipal') } });
    expect(calls.events.map((e) => e.type)).toEqual(['message.failed']);
  });

  it('transient failures retry with backoff (throttling after its own delay) until the attempts run out', async () => {
    const throttled = setup({ sends: [async () => { throw refusal('421 4.7.0 Temporary server error. Please try again later. PRX4'); }] });
    expect(await throttled.delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'retry', delayMs: POLICY.throttleDelayMs });
    const unreachable = smtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }), {});
    const { delivery, calls, record } = setup({ sends: [async () => { throw unreachable; }] });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'retry', delayMs: 1_000 });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'retry', delayMs: 2_000 });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'failed' });
    expect(record()).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'smtp_unavailable' } });
    expect(calls.retries).toHaveLength(2);
  });

  it('a finished message is only announced again; a token refusal fails at once', async () => {
    const done = setup({ record: { status: 'sent', smtpResponse: '250 OK' } });
    expect(await done.delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'done' });
    expect(done.calls.sends).toBe(0);
    expect(done.calls.events.map((e) => e.type)).toEqual(['message.sent']);
    const refused = setup({ sends: [async () => { throw new AppError('invalid_client_secret', 'AADSTS7000215'); }] });
    expect(await refused.delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'failed' });
  });

  it('after a worker died while submitting: sends again and says so; a lost write after the send is retried, not the send', async () => {
    const { delivery, calls, logs } = setup({ record: { status: 'sending', attempts: 1, submitting: '1:123' }, failWrites: 2 });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'sent' });
    expect(calls.sends).toBe(1);
    expect(calls.finishes).toHaveLength(1);
    expect(logs.text()).toContain('the previous attempt died while submitting');
  });

  it('a message that keeps killing its worker ends by its attempt count', async () => {
    const { delivery, calls, record } = setup({ record: { status: 'sending', attempts: POLICY.maxAttempts, submitting: '3:1' } });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'failed' });
    expect(calls.sends).toBe(0);
    expect(record().error?.code).toBe('internal');
  });

  it('an outcome that cannot be announced while Redis is full is announced later, never dropped or sent again', async () => {
    const { delivery, calls, record, logs } = setup({ failPublishes: 2 });
    // Sent and recorded; the announcement is refused: the job waits (not a failure, no attempt used).
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'retry', delayMs: ANNOUNCE_RETRY_MS });
    expect(record()).toMatchObject({ status: 'sent', attempts: 1 });
    expect(logs.text()).toContain('outcome not announced: Redis is full');
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'retry', delayMs: ANNOUNCE_RETRY_MS });
    // Room again: announced once, and the message was submitted only the first time.
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'done' });
    expect(calls.events.map((e) => [e.type, e.id])).toEqual([['message.sent', sendEventId('message.sent', 'snd_AAAAAAAAAAAAAAAA')]]);
    expect(calls.sends).toBe(1);
    expect(record().attempts).toBe(1);
    // Other failures to announce still fail the job (BullMQ retries it a few times).
    const { delivery: other } = setup({ record: { status: 'sent', smtpResponse: '250 OK' }, failPublishes: 1, publishError: () => new Error('boom') });
    await expect(other.run('snd_AAAAAAAAAAAAAAAA')).rejects.toThrow('boom');
  });

  it('a canceled or scheduled message is never attempted, also when the cancel comes after the first look', async () => {
    for (const status of ['canceled', 'scheduled'] as const) {
      const { delivery, calls, record } = setup({ record: { status } });
      expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'done' });
      expect(calls.sends).toBe(0);
      expect(record()).toMatchObject({ status, attempts: 0 });
    }
    // Queued at the first look, canceled while the rate window was checked: begin refuses it.
    const { delivery, calls, record } = setup({ duringReserve: (r) => ({ ...r, status: 'canceled' }) });
    expect(await delivery.run('snd_AAAAAAAAAAAAAAAA')).toEqual({ kind: 'done' });
    expect(calls.sends).toBe(0);
    expect(calls.events).toEqual([]);
    expect(record()).toMatchObject({ status: 'canceled', attempts: 0 });
  });
});

/**
 * The real poll pipeline (the app, its BullMQ poll workers, the webhook
 * pipeline to the sandbox receiver) against a hostile IMAP server
 * (sandbox/hostile-imap.ts), one mailbox per scenario, plus one healthy
 * mailbox on the sandbox Dovecot. The worker survives every scenario (no
 * unhandled rejection, still ready), its memory stays bounded (a flooded
 * 1 GB literal would otherwise be buffered), each broken mailbox ends in
 * `error` with a reason that says what happened, within the poll deadline
 * (or, for an envelope too large, gets past the message after one error),
 * and the healthy mailbox keeps being polled and announced meanwhile.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { startHostileImap, type HostileImap, type HostileScenario } from '../../sandbox/hostile-imap.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

/** The poll deadline the service runs with (PollingSettings.pollTimeoutMs). */
const POLL_DEADLINE_MS = 40_000;
/** Memory a worker may take on top of where it started while all of this goes on. */
const RSS_GROWTH_LIMIT_MB = 300;
/** Half of a UTF-16 surrogate pair on its own: not a well-formed string, unencodable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface MailboxView {
  id: string;
  state: string;
  lastPollAt: string | null;
  lastError: { code: string; detail: string; hint?: string } | null;
  folderState: Record<string, { uidValidity: number; uidValidityChangedAt?: string }>;
}

/** Where each scenario must end up: an error with a reason naming the cause, or tolerated. */
const ERRORS: Partial<Record<HostileScenario, { code: string; detail: RegExp }>> = {
  huge_search: { code: 'imap_error', detail: /larger than the service accepts/ },
  slow_literal: { code: 'imap_unreachable', detail: /did not complete the poll .* within 40 s/ },
  never_answers: { code: 'imap_unreachable', detail: /did not complete the poll .* within 40 s/ },
  disconnect_mid_command: { code: 'imap_unreachable', detail: /STATUS INBOX.*EConnectionClosed/ },
};

/**
 * An envelope larger than the service accepts: the poll fails with the reason, then the next one
 * announces the message by UID and size alone and the mailbox recovers (one message must not hold
 * a folder in error for ever).
 */
const TOO_LARGE: Partial<Record<HostileScenario, RegExp>> = {
  huge_subject: /larger than the service accepts.*LiteralTooLarge/,
  many_addresses: /larger than the service accepts.*TooManyTokens/,
  endless_literal: /LiteralTooLarge/,
  flood_literal: /LiteralTooLarge/,
};

let hostile: HostileImap;
let silent: HostileImap;
let connectionId: string;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});
const sandbox = useSandbox();
beforeAll(async () => {
  hostile = await startHostileImap({ pki: sandbox.pki });
  silent = await startHostileImap({ pki: sandbox.pki, greeting: false });
});
afterAll(async () => {
  await hostile?.stop();
  await silent?.stop();
});
const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false', WEBHOOK_RETRY_BASE_MS: '50' }), () => sandbox.redis);
beforeAll(async () => {
  await t.deps.jobs.startAll();
  const hook = await t.app.inject({
    method: 'POST', url: '/v1/webhooks', headers: t.auth,
    payload: { url: `${sandbox.receiver.url}/hooks`, events: ['message.received', 'mailbox.error', 'mailbox.recovered'] },
  });
  expect(hook.statusCode, hook.body).toBe(201);
  sandbox.receiver.setSecrets([hook.json().secret]);
  const connection = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'hostile', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(connection.statusCode, connection.body).toBe(201);
  connectionId = connection.json().id;
});

async function addMailbox(email: string, imap: { host: string; port: number; secure: boolean }): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 1, ...sandbox.mailServers(), imap },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function view(id: string): Promise<MailboxView> {
  return (await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: t.auth })).json();
}

const deliveries = (type: string, mailboxId: string) =>
  sandbox.receiver.received.filter((d) => d.type === type && (d.body as { data: { mailboxId: string } }).data.mailboxId === mailboxId);

/** Samples this process's RSS (the app and its workers run here) until stopped; answers the peak growth in MB. */
function sampleMemory(): () => number {
  const start = process.memoryUsage().rss;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.round((peak - start) / (1024 * 1024));
  };
}

describe('polling a hostile IMAP server', () => {
  it('survives every scenario, bounded in time and memory, while a healthy mailbox keeps working', async () => {
    const stopSampling = sampleMemory();
    const imap = { host: hostile.host, port: hostile.port, secure: true };
    const scenarios: HostileScenario[] = [...Object.keys(ERRORS) as HostileScenario[], ...Object.keys(TOO_LARGE) as HostileScenario[], 'malformed_envelope', 'bad_utf8', 'odd_search', 'odd_dates', 'uidvalidity_flips', 'well_behaved'];
    const ids = Object.fromEntries(await Promise.all(scenarios.map(async (s) => [s, await addMailbox(`${s}@hostile.example`, imap)] as const))) as Record<HostileScenario, string>;
    const silentId = await addMailbox('silent@hostile.example', { host: silent.host, port: silent.port, secure: true });
    const created = Date.now();

    // The healthy mailbox, polled alongside: its mail is announced while hostile polls hang.
    const healthyUser = 'healthy-beside-hostile@contoso.example';
    const healthy = await addMailbox(healthyUser, sandbox.mailServers().imap);
    await waitUntil('the healthy baseline', async () => ((await view(healthy)).lastPollAt ? true : undefined));
    await sandbox.dovecot.deliver(healthyUser, rawMail(healthyUser, 'still flowing'));
    await waitUntil('the healthy announcement', () => deliveries('message.received', healthy)[0]);
    expect(Date.now() - created).toBeLessThan(POLL_DEADLINE_MS);

    // Every broken mailbox ends in error, with the reason, within the deadline (plus the time to the first poll).
    const bound = POLL_DEADLINE_MS + 15_000;
    await Promise.all(Object.entries(ERRORS).map(async ([scenario, expected]) => {
      const failed = await waitUntil(`${scenario} in error`, async () => {
        const v = await view(ids[scenario as HostileScenario]);
        return v.state === 'error' ? v : undefined;
      }, bound);
      expect(failed.lastError, scenario).toMatchObject({ code: expected.code, detail: expect.stringMatching(expected.detail) });
      expect(failed.lastError?.hint, scenario).toBeTruthy();
    }));
    // A message whose envelope is too large: an error once, with the reason, then announced without its envelope.
    await Promise.all(Object.entries(TOO_LARGE).map(async ([scenario, detail]) => {
      const id = ids[scenario as HostileScenario];
      const announced = await waitUntil(`${scenario} announced`, () => deliveries('message.received', id)[0], bound);
      expect((announced.body as { data: unknown }).data, scenario).toMatchObject({ uid: 1, size: 2048, subject: null, envelopeTooLarge: true });
      const errors = deliveries('mailbox.error', id);
      expect(errors, scenario).toHaveLength(1);
      expect((errors[0]!.body as { data: { error: { detail: string } } }).data.error.detail, scenario).toMatch(detail);
      await waitUntil(`${scenario} recovered`, () => deliveries('mailbox.recovered', id)[0], bound);
    }));
    // A server that never greets: imapflow's greeting timeout (15 s) names it.
    const greetless = await waitUntil('the silent server in error', async () => {
      const v = await view(silentId);
      return v.state === 'error' ? v : undefined;
    }, bound);
    expect(greetless.lastError).toMatchObject({ code: 'imap_unreachable', detail: expect.stringMatching(/GREETING_TIMEOUT|did not complete/) });

    // Invalid UTF-8 is tolerated: the message is announced once, its subject a well-formed string.
    const badUtf8 = await waitUntil('the bad UTF-8 announcement', () => deliveries('message.received', ids.bad_utf8)[0]);
    const subject = (badUtf8.body as { data: { subject: string } }).data.subject;
    expect(subject).toMatch(/^Bad /);
    expect(subject).not.toMatch(LONE_SURROGATE);
    await waitUntil('the well-behaved announcement', () => deliveries('message.received', ids.well_behaved)[0]);

    // A SEARCH answer with UIDs out of range, repeated, unsorted or not numbers: the one message in range, announced once.
    const odd = await waitUntil('the odd search announcement', () => deliveries('message.received', ids.odd_search)[0]);
    expect((odd.body as { data: { uid: number } }).data.uid).toBe(1);

    // Where a new folder starts, from INTERNALDATEs that are none, long ago, now, or of a UID not asked
    // about: at the one message received since the mailbox was added, announced once.
    const dated = await waitUntil('the odd dates announcement', () => deliveries('message.received', ids.odd_dates)[0]);
    expect((dated.body as { data: { uid: number; subject: string } }).data).toMatchObject({ uid: 3, subject: 'Received after the mailbox was added' });
    expect((await view(ids.odd_dates)).state).toBe('active');

    // A UIDVALIDITY that changes at every STATUS: re-baselined each time, never announced.
    await waitUntil('several polls of the flipping folder', () => (hostile.statusCount('uidvalidity_flips') >= 4 ? true : undefined));
    const flipping = await view(ids.uidvalidity_flips);
    expect(flipping.state).toBe('active');
    expect(flipping.folderState.INBOX?.uidValidityChangedAt).toBeDefined();
    expect(deliveries('message.received', ids.uidvalidity_flips)).toEqual([]);

    // An envelope that does not parse is skipped (indistinguishable from an expunged message); polling goes on.
    expect(deliveries('message.received', ids.malformed_envelope)).toEqual([]);
    expect((await view(ids.malformed_envelope)).state).toBe('active');

    // Failing polls announce their mailbox's error once, not at every retry (they have retried by now).
    for (const scenario of Object.keys(ERRORS) as HostileScenario[]) {
      await waitUntil(`${scenario}'s mailbox.error`, () => deliveries('mailbox.error', ids[scenario])[0]);
      expect(deliveries('mailbox.error', ids[scenario]), scenario).toHaveLength(1);
    }
    for (const scenario of Object.keys(TOO_LARGE) as HostileScenario[]) {
      expect(deliveries('message.received', ids[scenario]), scenario).toHaveLength(1);
      expect((await view(ids[scenario])).state, scenario).toBe('active');
    }
    expect(deliveries('message.received', healthy)).toHaveLength(1);
    expect(deliveries('message.received', ids.odd_search)).toHaveLength(1);
    expect(deliveries('message.received', ids.odd_dates)).toHaveLength(1);
    expect((await view(ids.odd_search)).state).toBe('active');

    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    expect(rejections).toEqual([]);
  }, 120_000);
});

describe('reading mail from a hostile IMAP server', () => {
  it('lists a message whose envelope is oversized by UID and size, bounded in memory, instead of buffering it', async () => {
    const stopSampling = sampleMemory();
    const imap = { host: hostile.host, port: hostile.port, secure: true };
    for (const scenario of ['flood_literal', 'huge_subject', 'many_addresses'] as const) {
      const id = await addMailbox(`${scenario}@reader.example`, imap);
      // Paused: only the reading API talks to this server now.
      await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
      const res = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}/messages`, headers: t.auth });
      expect(res.statusCode, `${scenario}: ${res.body}`).toBe(200);
      expect(res.json().items, scenario).toEqual([expect.objectContaining({ uid: 1, size: 2048, subject: null, envelopeTooLarge: true })]);
    }
    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect(rejections).toEqual([]);
  }, 60_000);
});

describe('downloading an attachment from a hostile IMAP server', () => {
  /** What each scenario answers: a clear error, in bounded time, the session released. */
  const EXPECTED = {
    well_behaved: { status: 200 },
    endless_part: { status: 502, code: 'imap_unreachable', detail: /no chunk of the download within 30 s/ },
    flood_part: { status: 502, code: 'imap_error', detail: /larger than the service accepts.*LiteralTooLarge/ },
    huge_bodystructure: { status: 502, code: 'imap_error', detail: /larger than the service accepts/ },
    // Walked 32 levels deep at most (body-structure.ts): the part is not found within them.
    deep_bodystructure: { status: 404, code: 'attachment_not_found' },
    // imapflow drops a FETCH answer it cannot parse: the message reads as gone, as a malformed envelope does in a poll.
    malformed_bodystructure: { status: 404, code: 'message_not_found' },
  } as const;

  // An app of its own, whose workers never start, and a server of its own: only downloads talk to it,
  // so every connection it counts is a download's session.
  let reader: TestApp;
  let server: HostileImap;
  beforeAll(async () => {
    server = await startHostileImap({ pki: sandbox.pki });
    reader = await buildTestApp(sandbox.redis.url, sandbox.serviceEnv());
  });
  afterAll(async () => {
    await reader?.close();
    await server?.stop();
  });

  it('a part that never ends, floods or outgrows its structure, and a BODYSTRUCTURE huge, deep or malformed: bounded, clear errors, sessions released', async () => {
    const stopSampling = sampleMemory();
    const imap = { host: server.host, port: server.port, secure: true };
    const connection = await reader.app.inject({
      method: 'POST', url: '/v1/connections', headers: reader.auth,
      payload: { name: 'hostile reader', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
    });
    const ids = Object.fromEntries(await Promise.all([...Object.keys(EXPECTED), 'overflow_part'].map(async (scenario) => {
      const res = await reader.app.inject({
        method: 'POST', url: '/v1/mailboxes', headers: reader.auth,
        payload: { connectionId: connection.json().id, email: `${scenario}@attachment.example`, pollIntervalSeconds: 3600, ...sandbox.mailServers(), imap },
      });
      expect(res.statusCode, res.body).toBe(201);
      return [scenario, res.json().id as string] as const;
    })));
    const started = Date.now();
    await Promise.all(Object.entries(EXPECTED).map(async ([scenario, expected]) => {
      const res = await reader.app.inject({ method: 'GET', url: `/v1/mailboxes/${ids[scenario]}/messages/1/attachments/2`, headers: reader.auth });
      // A failure before the first byte is a problem document; after it, an aborted response.
      expect(res.statusCode, `${scenario}: ${res.body.slice(0, 300)}`).toBe(expected.status);
      if ('code' in expected) {
        expect(res.json(), scenario).toMatchObject({ code: expected.code });
        if ('detail' in expected) expect(res.json().detail, scenario).toMatch(expected.detail);
      } else {
        expect(res.rawPayload.equals(Buffer.alloc(1000, 7)), scenario).toBe(true);
      }
    }));
    // The stalled part is ended by the download's own deadline (30 s), not by a socket that never idles.
    expect(Date.now() - started).toBeLessThan(45_000);

    // More bytes than BODYSTRUCTURE described: the stream fails after the headers went out (no clean end).
    const overflow = await new Promise<{ bytes: number; aborted: boolean }>((resolve) => {
      void reader.app.listen({ host: '127.0.0.1', port: 0 }).then(() => {
        const { port } = reader.app.server.address() as { port: number };
        const req = httpRequest({ host: '127.0.0.1', port, path: `/v1/mailboxes/${ids.overflow_part}/messages/1/attachments/2`, headers: reader.auth }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => resolve({ bytes, aborted: false }));
          res.on('error', () => resolve({ bytes, aborted: true }));
          res.on('aborted', () => resolve({ bytes, aborted: true }));
        });
        req.on('error', () => resolve({ bytes: 0, aborted: true }));
        req.end();
      });
    });
    expect(overflow.aborted).toBe(true);
    expect(overflow.bytes).toBeLessThan(200_000);
    await waitUntil('the overflow logged', () => reader.logs.records().find((r) => r.msg === 'attachment download ended early' && r.mailboxId === ids.overflow_part && String((r.err as { message?: string } | undefined)?.message).includes('more than the')));

    // Every session ended: the server has no connection of these users left.
    const scenarios = [...Object.keys(EXPECTED), 'overflow_part'] as HostileScenario[];
    await waitUntil('the sessions closed', () => (scenarios.every((s) => server.openConnections(s) === 0) ? true : undefined), 10_000);
    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect(rejections).toEqual([]);
  }, 90_000);
});

describe('diagnosing a mailbox on a hostile IMAP server', () => {
  it('fails the IMAP check with imap_error on a flooded answer, in bounded time and memory, instead of buffering it', async () => {
    const stopSampling = sampleMemory();
    const id = await addMailbox('flood_list@doctor.example', { host: hostile.host, port: hostile.port, secure: true });
    // Paused: only the doctor talks to this server now.
    await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
    const started = Date.now();
    const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/diagnose`, headers: t.auth });
    const took = Date.now() - started;
    expect(res.statusCode, res.body).toBe(200);
    const steps = (res.json() as { steps: { step: string; ok: boolean; code?: string; detail: string }[] }).steps;
    // imapflow lists at login (`LIST "" ""`, the server has no NAMESPACE): the flood meets the login step.
    const failed = steps.filter((s) => s.step.startsWith('imap_') && !s.ok);
    expect(failed[0], JSON.stringify(steps)).toMatchObject({ step: 'imap_login', code: 'imap_error', detail: expect.stringMatching(/larger than the service accepts.*LiteralTooLarge/) });
    expect(steps.find((s) => s.step === 'smtp_auth')?.ok).toBe(true);
    // Well within the step's budget (15 s): the bound ends it, not the clock.
    expect(took).toBeLessThan(10_000);
    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    expect(rejections).toEqual([]);
  }, 60_000);
});

describe('acting on mail on a hostile IMAP server', () => {
  it('drops a LIST of a million folders at 10 000, in bounded time and memory, with a clear error', async () => {
    const stopSampling = sampleMemory();
    const id = await addMailbox('many_folders@actions.example', { host: hostile.host, port: hostile.port, secure: true });
    await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
    const started = Date.now();
    const res = await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}/folders`, headers: t.auth });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ code: 'imap_error', detail: expect.stringMatching(/more than 10000 folders/), hint: expect.any(String) });
    expect(Date.now() - started).toBeLessThan(10_000);
    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
    // The dropped session is not kept: the next request logs in again and meets the same bound.
    expect((await t.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}/folders`, headers: t.auth })).statusCode).toBe(502);
    expect(rejections).toEqual([]);
  }, 60_000);

  it('reports a move answered with malformed COPYUID codes as moved, its target UID unknown (null)', async () => {
    const stopSampling = sampleMemory();
    const id = await addMailbox('bad_copyuid@actions.example', { host: hostile.host, port: hostile.port, secure: true });
    await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
    const res = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/messages/1/move`, headers: t.auth, payload: { to: '\\Archive' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ folder: 'Archive', uid: null });
    // Four billion UIDs were never expanded.
    const growth = stopSampling();
    expect(growth, `RSS grew by ${growth} MB`).toBeLessThan(100);
    expect(rejections).toEqual([]);
  }, 60_000);

  it('refuses a permanent delete and a move on a server without UIDPLUS or MOVE, rather than EXPUNGE everything flagged', async () => {
    const id = await addMailbox('well_behaved@actions.example', { host: hostile.host, port: hostile.port, secure: true });
    await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/pause`, headers: t.auth });
    const before = hostile.commands.length;
    const gone = await t.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${id}/messages/1?permanent=true`, headers: t.auth });
    expect(gone.statusCode, gone.body).toBe(422);
    expect(gone.json()).toMatchObject({ code: 'imap_unsupported', detail: expect.stringMatching(/UIDPLUS/), hint: expect.any(String) });
    const moved = await t.app.inject({ method: 'POST', url: `/v1/mailboxes/${id}/messages/1/move`, headers: t.auth, payload: { to: 'Archive' } });
    expect(moved.statusCode, moved.body).toBe(422);
    expect(moved.json()).toMatchObject({ code: 'imap_unsupported', detail: expect.stringMatching(/MOVE or UIDPLUS/) });
    const sent = hostile.commands.slice(before).map((c) => c.command);
    expect(sent).not.toContain('EXPUNGE');
    expect(sent).not.toContain('UID EXPUNGE');
  }, 60_000);
});

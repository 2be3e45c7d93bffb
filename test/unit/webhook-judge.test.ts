/** What an endpoint's answer means for a delivery: only 2xx ends it well. */
import { describe, expect, it } from 'vitest';
import { failureOf, judge } from '../../src/domain/webhooks/attempt.js';
import type { SendResult } from '../../src/domain/webhooks/sender.js';

const policy = { baseDelayMs: 1_000, maxDelayMs: 8_000, windowMs: 20_000 };
const claimed = { kind: 'ok' as const, body: '{}', eventId: 'evt_1', attempts: 0, budgetStart: 0, budgetAttempts: 0 };
const response = (status: number, extra: Partial<Extract<SendResult, { kind: 'response' }>> = {}): SendResult =>
  ({ kind: 'response', status, location: null, body: 'ok', durationMs: 3, ...extra });

describe('judge', () => {
  it('ends a delivery on any 2xx', () => {
    for (const status of [200, 201, 202, 204, 299]) {
      expect(judge(response(status), claimed, policy, { startedAt: 4_990, now: 5_000 })).toMatchObject({
        outcome: 'delivered',
        attempt: 'success',
        fields: { status: 'delivered', attempts: 1, lastResponseCode: status, lastError: '', lastAttemptAt: 4_990 },
      });
    }
  });

  it('retries 4xx, 5xx, redirects, timeouts and network errors on the schedule', () => {
    const cases: [SendResult, string][] = [
      [response(500), 'http_status'],
      [response(404), 'http_status'],
      [response(410), 'http_status'],
      [response(429), 'http_status'],
      [response(302, { location: 'https://elsewhere.example/' }), 'redirect'],
      [{ kind: 'error', code: 'timeout', detail: 'no answer within 10000 ms', durationMs: 10_000 }, 'timeout'],
      [{ kind: 'error', code: 'network', detail: 'ECONNREFUSED', durationMs: 1 }, 'network'],
      [{ kind: 'error', code: 'target_forbidden', detail: 'loopback', durationMs: 1 }, 'target_forbidden'],
    ];
    for (const [result, code] of cases) {
      const input = judge(result, claimed, policy, { startedAt: 5_000, now: 5_000 }, () => 0);
      expect(input).toMatchObject({ outcome: 'retry', attempt: 'failure', nextAttemptAt: 6_000 });
      expect(JSON.parse(String(input.fields?.lastError))).toMatchObject({ code });
    }
  });

  it('does not hold an undecryptable secret against the endpoint', () => {
    const result: SendResult = { kind: 'error', code: 'signing_failed', detail: 'the signing secret cannot be decrypted', durationMs: 0 };
    expect(judge(result, claimed, policy, { startedAt: 0, now: 0 })).toMatchObject({ outcome: 'retry', attempt: 'none' });
  });

  it('says where a redirect pointed, without following it', () => {
    expect(failureOf(response(307, { location: 'http://169.254.169.254/' }))).toEqual({
      code: 'redirect',
      detail: 'HTTP 307 redirect to http://169.254.169.254/ not followed',
    });
  });

  it('gives up after the last attempt of the budget, counted from a manual retry', () => {
    // policy: delays 1, 2, 4, 8, 8 s → 6 attempts cover the 20 s window.
    expect(judge(response(500), { ...claimed, attempts: 5 }, policy, { startedAt: 9_000, now: 9_000 })).toMatchObject({ outcome: 'failed', fields: { status: 'failed' } });
    expect(judge(response(500), { ...claimed, attempts: 5, budgetAttempts: 5, budgetStart: 8_000 }, policy, { startedAt: 9_000, now: 9_000 })).toMatchObject({ outcome: 'retry' });
  });
});

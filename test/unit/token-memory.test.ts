/**
 * Tokens a process holds are answered from memory, before the connection is read (issue 19: a
 * poll's token cost a GET of the connection and a decryption of its credential): until five
 * minutes before they expire, never after; a fresh request (the doctor) and a forced refresh skip
 * memory. MSAL (its cache in Redis) stays the source: a miss asks the gateway. Stand-ins for the
 * gateway and the connection store count what was asked.
 */
import { describe, expect, it } from 'vitest';
import type { MsalGateway, TokenResult } from '../../src/adapters/msal/gateway.js';
import type { ConnectionRecord } from '../../src/domain/connections/service.js';
import type { SingleFlight } from '../../src/domain/tokens/single-flight.js';
import { RENEWAL_MARGIN_MS, TokenService } from '../../src/domain/tokens/token-service.js';
import { createKeySpace } from '../../src/store/keys.js';

const HOUR = 3_600_000;
const CONNECTION = 'con_0123456789abcdef';
const MAILBOX = 'mbx_0123456789abcdef';

function setup() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const asked = { credentials: 0, gateway: 0 };
  let issued = 0;
  const answer = (): TokenResult => ({ accessToken: `token-${++issued}`, expiresOn: new Date(now + HOUR), fromCache: false });
  const gateway = {
    clientCredentials: async () => (asked.gateway++, answer()),
    silent: async () => (asked.gateway++, answer()),
  } as unknown as MsalGateway;
  const connection = {
    id: CONNECTION, flow: 'app_only', tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555',
    authorityHost: 'https://login.microsoftonline.com',
  } as unknown as ConnectionRecord;
  const tokens = new TokenService({
    gateway,
    singleFlight: { run: (_key: string, work: () => Promise<unknown>) => work() } as unknown as SingleFlight,
    keys: createKeySpace('unit'),
    credentials: async () => (asked.credentials++, { connection, credential: { type: 'secret', clientSecret: 's' } }),
    now: () => now,
  });
  return { tokens, asked, advance: (ms: number) => (now += ms), setFlow: (flow: string) => Object.assign(connection, { flow }) };
}

describe('TokenService memory', () => {
  it('answers an app-only token from memory without reading the connection, until the renewal margin', async () => {
    const { tokens, asked, advance } = setup();
    const first = await tokens.appToken(CONNECTION);
    expect(asked).toEqual({ credentials: 1, gateway: 1 });
    for (let i = 0; i < 100; i++) {
      const again = await tokens.appToken(CONNECTION);
      expect(again.accessToken).toBe(first.accessToken);
      expect(again.fromCache).toBe(true);
    }
    expect(asked).toEqual({ credentials: 1, gateway: 1 });
    // Just inside the margin: asked again (MSAL's cache, then Microsoft), never served past it.
    advance(HOUR - RENEWAL_MARGIN_MS);
    const renewed = await tokens.appToken(CONNECTION);
    expect(renewed.accessToken).not.toBe(first.accessToken);
    expect(asked).toEqual({ credentials: 2, gateway: 2 });
    // The doctor's fresh token skips memory.
    await tokens.appToken(CONNECTION, { fresh: true });
    expect(asked).toEqual({ credentials: 3, gateway: 3 });
  });

  it('keeps one partition per tenant asked for', async () => {
    const { tokens, asked } = setup();
    await tokens.appToken(CONNECTION, { tenantId: 'a.example' });
    await tokens.appToken(CONNECTION, { tenantId: 'a.example' });
    await tokens.appToken(CONNECTION, { tenantId: null });
    // A single-tenant connection's partition is its own tenant's, whatever was asked: one token.
    expect(asked.gateway).toBe(1);
    expect(asked.credentials).toBe(2);
  });

  it('answers a delegated token from memory without reading the connection; a forced refresh asks again', async () => {
    const { tokens, asked, advance, setFlow } = setup();
    setFlow('delegated');
    const account = { homeAccountId: 'oid.tid' };
    const first = await tokens.delegatedToken(CONNECTION, MAILBOX, account);
    expect((await tokens.delegatedToken(CONNECTION, MAILBOX, account)).accessToken).toBe(first.accessToken);
    expect(asked).toEqual({ credentials: 1, gateway: 1 });
    const forced = await tokens.delegatedToken(CONNECTION, MAILBOX, account, { forceRefresh: true });
    expect(forced.accessToken).not.toBe(first.accessToken);
    expect(asked).toEqual({ credentials: 2, gateway: 2 });
    advance(HOUR);
    await tokens.delegatedToken(CONNECTION, MAILBOX, account);
    expect(asked).toEqual({ credentials: 3, gateway: 3 });
  });

  it('still refuses a delegated connection for app-only tokens, and a mailbox not signed in', async () => {
    const { tokens, setFlow } = setup();
    setFlow('delegated');
    await expect(tokens.appToken(CONNECTION)).rejects.toMatchObject({ code: 'conflict' });
    await expect(tokens.appToken(CONNECTION)).rejects.toMatchObject({ code: 'conflict' });
    await expect(tokens.delegatedToken(CONNECTION, MAILBOX, undefined)).rejects.toMatchObject({ code: 'not_authorized' });
  });
});

/**
 * Searching a folder (GET /v1/mailboxes/{id}/messages with filters) against
 * the sandbox Dovecot: each filter alone and together, day-granular dates,
 * non-ASCII text, paging with `cursor` and `beforeUid` while new mail
 * arrives (no message skipped or repeated), quotes and backslashes that
 * stay search text (no IMAP command injection), and hostile query values
 * refused with a 400 before any IMAP session is opened.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { doveadmFor } from '../../sandbox/doveadm.js';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../../sandbox/index.js';
import { useSandbox, useTestApp } from '../support/fixtures.js';
import { rawMail, waitUntil } from '../support/mail.js';

type Envelope = { uid: number; subject: string | null };
type Page = { folder: string; uidValidity: number; items: Envelope[]; nextBeforeUid: number | null; nextCursor: string | null };

let connectionId: string;

const user = (name: string) => `search-${name}-${randomBytes(3).toString('hex')}@contoso.example`;
const doveadm = () => doveadmFor(sandbox.dovecot.configFile);

async function mailbox(email: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/mailboxes', headers: t.auth,
    payload: { connectionId, email, pollIntervalSeconds: 3600, ...sandbox.mailServers() },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function get(url: string) {
  return t.app.inject({ method: 'GET', url, headers: t.auth });
}

async function search(id: string, query: string): Promise<Page> {
  const res = await get(`/v1/mailboxes/${id}/messages?${query}`);
  expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
  return res.json();
}

const uids = (page: Page) => page.items.map((m) => m.uid);

async function imapSessions(email: string): Promise<number> {
  return (await doveadm()(['who', '-1', email])).split('\n').slice(1).filter((line) => line.trim()).length;
}

/** A message with the headers and body given, CRLF. */
function mail(to: string, { from, subject, body }: { from: string; subject: string; body: string }): string {
  return [
    `From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${randomUUID()}@example.org>`,
    'Date: Tue, 03 Jun 2025 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit',
    '', body, '',
  ].join('\r\n');
}

const sandbox = useSandbox();
const t = useTestApp(() => sandbox.serviceEnv(), () => sandbox.redis);
beforeAll(async () => {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/connections', headers: t.auth,
    payload: { name: 'search', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url },
  });
  expect(res.statusCode, res.body).toBe(201);
  connectionId = res.json().id;
});

describe('search filters', () => {
  let id: string;
  let email: string;

  beforeAll(async () => {
    email = user('filters');
    // UID 1, received now: the INBOX exists from here on.
    await sandbox.dovecot.deliver(email, mail(email, { from: 'Carol <carol@example.org>', subject: 'Invoice 43', body: 'second reminder' }));
    const dated: [Date, string][] = [
      // UID 2
      [new Date('2025-01-10T09:00:00Z'), mail(email, { from: 'Alice <alice@example.org>', subject: 'Invoice 42', body: 'pay now' })],
      // UID 3
      [new Date('2025-02-15T23:30:00Z'), mail(`${email}, Team <team@example.org>`, { from: 'Bob <bob@example.org>', subject: 'Meeting notes', body: 'agenda for the quarterly review' })],
      // UID 4: a subject as mail carries non-ASCII, an RFC 2047 encoded word
      [new Date('2025-03-20T12:00:00Z'), mail(email, { from: 'Alice <alice@example.org>', subject: '=?utf-8?B?UsOpdW5pb24gY2Fmw6kg4pyT?=', body: 'quarterly café' })],
    ];
    for (const [receivedAt, raw] of dated) {
      await sandbox.dovecot.deliverReceivedAt(email, raw, receivedAt);
      await sandbox.dovecot.status(email, 'INBOX'); // Dovecot takes it in now: UIDs in this order
    }
    await doveadm()(['flags', 'add', '-u', email, '\\Seen', 'mailbox', 'INBOX', 'uid', '1,4']);
    await doveadm()(['flags', 'add', '-u', email, '\\Flagged', 'mailbox', 'INBOX', 'uid', '1,3']);
    id = await mailbox(email);
    expect(uids(await search(id, ''))).toEqual([4, 3, 2, 1]);
  });

  it.each([
    ['from=alice', [4, 2]],
    ['from=BOB%40example.org', [3]],
    ['to=team%40example.org', [3]],
    ['subject=invoice', [2, 1]],
    ['text=quarterly', [4, 3]],
    ['text=reminder', [1]],
    ['since=2025-02-15', [4, 3, 1]],
    ['before=2025-02-15', [2]],
    ['since=2025-02-16&before=2025-03-21', [4]],
    ['seen=true', [4, 1]],
    ['seen=false', [3, 2]],
    ['flagged=true', [3, 1]],
    ['flagged=false', [4, 2]],
    ['from=alice&seen=false', [2]],
    ['subject=invoice&flagged=true&seen=true', [1]],
    ['text=quarterly&since=2025-03-01&from=alice&to=search', [4]],
    ['from=nobody', []],
  ])('%s', async (query, expected) => {
    const page = await search(id, query);
    expect(uids(page), query).toEqual(expected);
    expect(page).toMatchObject({ folder: 'INBOX', nextBeforeUid: null, nextCursor: null });
  });

  it('matches a non-ASCII subject, decoded, case-insensitively', async () => {
    for (const [key, value] of [['subject', 'café'], ['subject', 'CAFÉ'], ['subject', 'Réunion café ✓'], ['text', 'café']]) {
      const page = await search(id, `${key}=${encodeURIComponent(value!)}`);
      expect(uids(page), value).toEqual([4]);
    }
    expect((await search(id, 'subject=caf%C3%A9')).items[0]?.subject).toBe('Réunion café ✓');
  });

  it('leaves no IMAP session behind', async () => {
    await waitUntil('no IMAP session', async () => ((await imapSessions(email)) === 0 ? true : undefined), 10_000);
  });
});

describe('paging through search results', () => {
  it('with cursor and with beforeUid, no message is skipped or repeated while new mail arrives', async () => {
    const email = user('paging');
    const matching = new Set<number>();
    for (let i = 1; i <= 12; i += 1) {
      const match = i % 3 !== 0;
      await sandbox.dovecot.deliver(email, rawMail(email, match ? `ticket ${i}` : `other ${i}`));
      if (match) matching.add(i);
    }
    const id = await mailbox(email);
    let delivered = 12;

    for (const style of ['cursor', 'beforeUid'] as const) {
      const expected = [...matching].sort((a, b) => b - a);
      const seen: number[] = [];
      let next: string | number | null = null;
      let pages = 0;
      do {
        const start = next === null ? '' : style === 'cursor' ? `&cursor=${next}` : `&beforeUid=${next}`;
        const page = await search(id, `subject=ticket&limit=3${start}`);
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...uids(page));
        next = style === 'cursor' ? page.nextCursor : page.nextBeforeUid;
        // New matching mail after the first page: above the cursor, it belongs to no later page.
        if (pages === 0) {
          await sandbox.dovecot.deliver(email, rawMail(email, `ticket new ${style}`));
          delivered += 1;
          matching.add(delivered);
        }
        pages += 1;
      } while (next !== null);
      expect(seen, style).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 3));
    }
    // The new mail is the first page now.
    expect(uids(await search(id, 'subject=ticket&limit=2'))).toEqual([14, 13]);
  });

  it('a cursor from before the folder\'s UIDVALIDITY changed is refused; beforeUid cannot tell', async () => {
    const email = user('validity');
    for (let i = 1; i <= 3; i += 1) await sandbox.dovecot.deliver(email, rawMail(email, `m ${i}`));
    const id = await mailbox(email);
    const first = await search(id, 'limit=1');
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((await search(id, `limit=1&cursor=${first.nextCursor}`)).items.map((m) => m.uid)).toEqual([2]);
    await sandbox.dovecot.resetUidValidity(email, 'INBOX');
    const stale = await get(`/v1/mailboxes/${id}/messages?limit=1&cursor=${first.nextCursor}`);
    expect(stale.statusCode, stale.body).toBe(400);
    expect(stale.json()).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining('UIDVALIDITY changed') });
    expect(stale.json().hint).toContain('first page');
  });
});

describe('hostile search input', () => {
  it('quotes and backslashes are search text, not IMAP syntax: nothing injected', async () => {
    const email = user('inject');
    await sandbox.dovecot.deliver(email, rawMail(email, 'plain one'));
    await sandbox.dovecot.deliver(email, rawMail(email, 'say "hi" \\ there'));
    const id = await mailbox(email);
    // Each would match every message if it broke out of its quoted string (ALL, OR …, a closed parenthesis).
    for (const attack of ['x" ALL "', 'x") ALL ("', 'nothing" OR SUBJECT "plain', 'x\\" ALL', '{5}\\', '{5+}"']) {
      const page = await search(id, `subject=${encodeURIComponent(attack)}`);
      expect(uids(page), attack).toEqual([]);
    }
    expect(uids(await search(id, `subject=${encodeURIComponent('"hi" \\')}`))).toEqual([2]);
    expect(uids(await search(id, `from=${encodeURIComponent('customer@example.org')}&subject=${encodeURIComponent('"hi"')}`))).toEqual([2]);
    // The session still works after each of them (no half-sent command left behind).
    expect(uids(await search(id, ''))).toEqual([2, 1]);
  });

  it('malformed values → 400 validation_failed, before any IMAP session', async () => {
    const email = user('invalid');
    await sandbox.dovecot.deliver(email, rawMail(email, 'x'));
    const id = await mailbox(email);
    const logins = async () => (await readFile(sandbox.dovecot.logFile, 'utf8')).split('\n').filter((l) => l.includes('Login: user=<' + email)).length;
    await search(id, '');
    const before = await logins();
    expect(before).toBeGreaterThan(0);
    const queries = [
      'subject=a%0D%0AA1%20LOGOUT', 'subject=a%0Ab', 'text=%00', 'from=a%09b', 'to=%7F', 'subject=%1B[31m', 'subject=', 'subject=%20%20',
      `subject=${'a'.repeat(257)}`, 'text=a&text=b',
      'since=2025-02-30', 'since=2025-13-01', 'since=yesterday', 'since=2025-06-03T10:00:00Z', 'before=20250603', 'since=-001-01-01',
      'since=2025-06-04&before=2025-06-03', 'since=2025-06-03&before=2025-06-03',
      'seen=maybe', 'seen=1', 'flagged=', 'seen=true&seen=false',
      'cursor=', 'cursor=abc', 'cursor=%2F%2F', `cursor=${'A'.repeat(101)}`, `cursor=${Buffer.from('m1:1:0').toString('base64url')}`,
      `cursor=${Buffer.from('m1:1:4294967296').toString('base64url')}`, `cursor=${Buffer.from('m1:1:5').toString('base64url')}&beforeUid=3`,
    ];
    for (const query of queries) {
      const res = await get(`/v1/mailboxes/${id}/messages?${query}`);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      expect(res.json().code, query).toBe('validation_failed');
      // Whether the schema or the domain refused it, the pointer names the query string.
      expect(res.json().errors?.[0]?.field, query).toMatch(/^\/querystring\/(subject|text|from|to|since|before|seen|flagged|cursor)$/);
    }
    // Refused before a login: Dovecot saw none since.
    expect(await logins()).toBe(before);
    expect(await imapSessions(email)).toBe(0);
  });
});

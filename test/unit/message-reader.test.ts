/**
 * The message reader's session lifecycle with a fake IMAP session: every
 * path logs out exactly once (answers, refusals, failures, raw streams that
 * end or are destroyed), and a refused cached token is renewed once.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EnvelopePage, MessageEnvelope } from '../../src/adapters/imap/reader-session.js';
import type { MessageSession } from '../../src/domain/messages/ports.js';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import { MessageReader } from '../../src/domain/messages/reader.js';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import type { AccessToken } from '../../src/domain/tokens/token-service.js';
import { AppError } from '../../src/errors/errors.js';
import { createLogger } from '../../src/logging/logger.js';

const mailbox = { id: 'mbx_1', email: 'a@contoso.example', flow: 'app_only', imap: { host: 'imap.test', port: 993, secure: true } } as MailboxRecord;
const token = (fromCache: boolean): AccessToken => ({ accessToken: fromCache ? 'cached' : 'fresh', expiresAt: new Date(Date.now() + 3_600_000), claims: {} as AccessToken['claims'], fromCache });

class FakeSession implements MessageSession {
  logouts = 0;
  constructor(
    readonly accessToken: string,
    private readonly behaviour: {
      login?: AppError;
      size?: number;
      content?: () => Readable;
      list?: (envelopes: boolean) => EnvelopePage;
      envelope?: (uid: number) => MessageEnvelope | undefined;
    } = {},
  ) {}
  async connect(): Promise<void> {
    if (this.behaviour.login) throw this.behaviour.login;
  }
  async listFolders() {
    return [{ path: 'INBOX', name: 'INBOX', delimiter: '/', specialUse: '\\Inbox', flags: [], subscribed: true }];
  }
  async examine(path: string) {
    return { path, uidValidity: 7 };
  }
  async listNewest(_path: string, _limit: number, _beforeUid: number | undefined, options = { envelopes: true }) {
    return this.behaviour.list?.(options.envelopes) ?? { messages: [], more: false };
  }
  async envelope(_path: string, uid: number) {
    return this.behaviour.envelope?.(uid);
  }
  async searchNewest(_path: string, _search: unknown, _limit: number, _beforeUid: number | undefined, options = { envelopes: true }) {
    return this.behaviour.list?.(options.envelopes) ?? { messages: [], more: false };
  }
  async messageInfo(_path: string, uid: number) {
    return uid === 1 ? { size: this.behaviour.size ?? 10, flags: [] } : undefined;
  }
  async structure(_path: string, uid: number) {
    const parts = [{ part: '2', contentType: 'application/pdf', parameters: {}, encoding: 'base64', size: this.behaviour.size ?? 10, disposition: 'attachment', filename: 'a.pdf', contentId: null }];
    return uid === 1 ? { size: this.behaviour.size ?? 10, flags: [], parts } : undefined;
  }
  async download() {
    return (this.behaviour.content ?? (() => Readable.from([Buffer.from('From: a@example.org\r\n\r\nhi\r\n')])))();
  }
  async downloadPart() {
    return { content: (this.behaviour.content ?? (() => Readable.from([Buffer.from('%PDF')])))(), contentType: 'application/pdf', filename: undefined };
  }
  async logout(): Promise<void> {
    this.logouts += 1;
  }
}

function reader(sessions: (accessToken: string) => FakeSession, limits = { parseMaxBytes: 1_000, rawMaxBytes: 2_000 }) {
  const opened: FakeSession[] = [];
  const asked: boolean[] = [];
  const r = new MessageReader({
    mailboxes: { get: async () => mailbox },
    tokens: {
      tokenFor: async (_id, o = {}) => {
        asked.push(o.forceRefresh === true);
        return token(!o.forceRefresh);
      },
    },
    trust: { ca: [] },
    logger: createLogger({ level: 'silent' }),
    limits,
    parse: parseMessage,
    openSession: (o) => {
      const s = sessions(o.accessToken);
      opened.push(s);
      return s;
    },
  });
  return { r, opened, asked };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('MessageReader', () => {
  it('logs out once after a list, a parsed message and each refusal', async () => {
    const { r, opened } = reader((t) => new FakeSession(t, { size: 5_000 }));
    await r.list('mbx_1', {});
    await expect(r.get('mbx_1', 2)).rejects.toMatchObject({ code: 'message_not_found' });
    await expect(r.get('mbx_1', 1)).rejects.toMatchObject({ code: 'message_too_large' });
    await expect(r.raw('mbx_1', 1, 'Nope')).rejects.toMatchObject({ code: 'folder_not_found' });
    await expect(r.raw('mbx_1', 1)).rejects.toMatchObject({ code: 'message_too_large' });
    expect(opened.map((s) => s.logouts)).toEqual([1, 1, 1, 1, 1]);
  });

  it('gets past a message whose envelope is too large: the page again without envelopes, then one at a time, a session for each failure', async () => {
    const tooLarge = () => new AppError('imap_error', 'too large', { fields: { responseTooLarge: true } });
    const bare = (uid: number): MessageEnvelope => ({ uid, messageId: null, subject: null, from: [], to: [], cc: [], date: null, size: 100 * uid, flags: [], envelopeTooLarge: true });
    const full = (uid: number): MessageEnvelope => ({ ...bare(uid), subject: `message ${uid}`, envelopeTooLarge: undefined });
    let sessions = 0;
    const { r, opened } = reader(() => {
      sessions += 1;
      return new FakeSession('t', {
        list: (envelopes) => {
          if (envelopes) throw tooLarge();
          return { messages: [bare(3), bare(2), bare(1)], more: true };
        },
        envelope: (uid) => {
          if (uid === 2) throw tooLarge();
          return full(uid);
        },
      });
    });
    const page = await r.list('mbx_1', {});
    expect(page.items.map((m) => [m.uid, m.subject, m.size, m.envelopeTooLarge])).toEqual([
      [3, 'message 3', 300, undefined], [2, null, 200, true], [1, 'message 1', 100, undefined],
    ]);
    expect(page.nextBeforeUid).toBe(1);
    // The first session failed the listing, the second the envelope of UID 2, the third finished the page.
    expect(sessions).toBe(3);
    expect(opened.map((s) => s.logouts)).toEqual([1, 1, 1]);
  });

  it('gives up past three envelopes too large in one page, logged out of every session', async () => {
    const tooLarge = () => new AppError('imap_error', 'too large', { fields: { responseTooLarge: true } });
    const { r, opened } = reader(() => new FakeSession('t', {
      list: (envelopes) => {
        if (envelopes) throw tooLarge();
        return { messages: [5, 4, 3, 2, 1].map((uid) => ({ uid, messageId: null, subject: null, from: [], to: [], cc: [], date: null, size: 1, flags: [], envelopeTooLarge: true as const })), more: false };
      },
      envelope: () => { throw tooLarge(); },
    }));
    await expect(r.list('mbx_1', {})).rejects.toMatchObject({ code: 'imap_error' });
    expect(opened).toHaveLength(5); // the first listing, then one session per failed envelope
    expect(opened.every((s) => s.logouts === 1)).toBe(true);
  });

  it('a raw stream keeps its session until it ends, or until it is destroyed', async () => {
    const { r, opened } = reader((t) => new FakeSession(t, { content: () => new PassThrough() }));
    const ended = await r.raw('mbx_1', 1);
    await settle();
    expect(opened[0]?.logouts).toBe(0);
    (ended.content as PassThrough).end('x');
    ended.content.resume();
    await settle();
    expect(opened[0]?.logouts).toBe(1);

    const dropped = await r.raw('mbx_1', 1);
    dropped.content.destroy();
    await settle();
    expect(opened[1]?.logouts).toBe(1);
  });

  it('an attachment stream keeps its session until it ends or is destroyed; an unknown part or one too large logs out at once', async () => {
    const { r, opened } = reader((t) => new FakeSession(t, { content: () => new PassThrough() }));
    const ended = await r.attachment('mbx_1', 1, '2');
    expect(ended).toMatchObject({ id: '2', contentType: 'application/pdf', filename: 'a.pdf' });
    await settle();
    expect(opened[0]?.logouts).toBe(0);
    (ended.content as PassThrough).end('x');
    ended.content.resume();
    await settle();
    expect(opened[0]?.logouts).toBe(1);

    const dropped = await r.attachment('mbx_1', 1, '2');
    dropped.content.destroy();
    await settle();
    expect(opened[1]?.logouts).toBe(1);

    await expect(r.attachment('mbx_1', 1, '3')).rejects.toMatchObject({ code: 'attachment_not_found' });
    await expect(r.attachment('mbx_1', 2, '2')).rejects.toMatchObject({ code: 'message_not_found' });
    const small = reader((t) => new FakeSession(t, { size: 5_000 }));
    await expect(small.r.attachment('mbx_1', 1, '2')).rejects.toMatchObject({ code: 'message_too_large' });
    expect([...opened.slice(2), ...small.opened].map((s) => s.logouts)).toEqual([1, 1, 1]);
  });

  it('renews a cached token Exchange refused, once', async () => {
    const refused = new AppError('imap_auth_failed', 'NO AUTHENTICATE failed');
    const { r, opened, asked } = reader((t) => new FakeSession(t, t === 'cached' ? { login: refused } : {}));
    await r.list('mbx_1', {});
    expect(asked).toEqual([false, true]);
    expect(opened.map((s) => [s.accessToken, s.logouts])).toEqual([['cached', 1], ['fresh', 1]]);

    const always = reader((t) => new FakeSession(t, { login: refused }));
    await expect(always.r.list('mbx_1', {})).rejects.toMatchObject({ code: 'imap_auth_failed' });
    expect(always.asked).toEqual([false, true]);
  });

  it('a parse failure names the raw download in its hint', async () => {
    const huge = () => Readable.from([Buffer.from(`X-Huge: ${'h'.repeat(1_100_000)}\r\n\r\n`)]);
    const { r, opened } = reader((t) => new FakeSession(t, { content: huge }), { parseMaxBytes: 4_000_000, rawMaxBytes: 4_000_000 });
    const err = await r.get('mbx_1', 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'message_unparseable' });
    expect((err as AppError).hint).toContain('GET /v1/mailboxes/mbx_1/messages/1/raw?folder=INBOX');
    expect(opened.map((s) => s.logouts)).toEqual([1]);
  });
});

/**
 * The poller and content (webhook `include`), with a fake session and publisher: asked once per
 * poll, nothing downloaded when no consumer wants content, each message downloaded once when one
 * does, and the per-folder byte budget ending a poll after a message without skipping any.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import type { DomainEvent, MessageSummary } from '../../src/domain/events/events.js';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import type { FolderCursor } from '../../src/domain/polling/cursor.js';
import { pollMailbox, type MailSession, type PollerPorts } from '../../src/domain/polling/poller.js';

const envelope = (uid: number, size: number): MessageSummary => ({ uid, messageId: null, subject: `m${uid}`, from: [], to: [], cc: [], date: null, size });

function fixture(options: { wants: boolean | undefined; sizes: number[] }) {
  const downloads: number[] = [];
  const published: DomainEvent[] = [];
  const saved: FolderCursor[] = [];
  let asked = 0;
  const uids = options.sizes.map((_, i) => i + 1);
  const session: MailSession = {
    usable: true,
    resolveFolder: async () => 'INBOX',
    status: async () => ({ path: 'INBOX', uidValidity: 1, uidNext: uids.length + 1 }),
    firstUidSince: async () => undefined,
    searchUids: async (_p, from, to, limit) => uids.filter((u) => u >= from && u <= to).slice(0, limit),
    fetchEnvelopes: async (_p, wanted) => wanted.map((uid) => envelope(uid, options.sizes[uid - 1]!)),
    fetchSizes: async () => [],
    download: async (_p, uid) => {
      downloads.push(uid);
      return Readable.from([Buffer.from(`Subject: m${uid}\r\n\r\nbody ${uid}\r\n`)]);
    },
  };
  const mailbox = { id: 'mbx_AAAAAAAAAAAAAAAA', email: 'a@b.example', folders: ['INBOX'], folderState: { INBOX: { uidValidity: 1, uidNext: 1, lastSeenUid: 0 } } } as unknown as MailboxRecord;
  const events: PollerPorts['events'] = { publish: async (event) => void published.push(event) };
  if (options.wants !== undefined) {
    const wants = options.wants;
    events.contentWanted = async () => {
      asked += 1;
      return wants;
    };
  }
  const ports: PollerPorts = {
    token: async () => ({ accessToken: 't', expiresAt: new Date(Date.now() + 3_600_000), fromCache: true }) as never,
    session: async () => ({ session, done: () => undefined }),
    saveCursor: async (_m, _f, cursor) => void saved.push(cursor),
    events,
    content: { parse: parseMessage, maxBytes: 1024 * 1024 },
    now: () => new Date(),
  };
  return { mailbox, ports, downloads, published, saved, asked: () => asked };
}

const options = { maxMessagesPerFolder: 500, batchSize: 100, fullLookSeconds: 900, maxContentBytes: 1_000 };

describe('poller content', () => {
  it('downloads nothing and adds nothing to the events when no consumer wants content', async () => {
    for (const wants of [false, undefined]) {
      const f = fixture({ wants, sizes: [10, 10, 10] });
      expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 3, more: false });
      expect(f.downloads).toEqual([]);
      expect(f.published.map((e) => e.content)).toEqual([undefined, undefined, undefined]);
      expect(f.asked()).toBe(wants === undefined ? 0 : 1);
    }
  });

  it('asks once per poll, and downloads each message once before announcing it with its content', async () => {
    const f = fixture({ wants: true, sizes: [10, 10, 10] });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 3 });
    expect(f.asked()).toBe(1);
    expect(f.downloads).toEqual([1, 2, 3]);
    expect(f.published.map((e) => (e.content?.ok ? e.content.content.text : e.content))).toEqual(['body 1\n', 'body 2\n', 'body 3\n']);
  });

  it('ends the poll after the message that reaches the byte budget, cursor on it, and goes on next poll', async () => {
    const f = fixture({ wants: true, sizes: [400, 400, 400, 400, 400] });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 3, more: true });
    expect(f.downloads).toEqual([1, 2, 3]);
    expect(f.saved.at(-1)?.lastSeenUid).toBe(3);
    // The next poll starts after it.
    f.mailbox.folderState.INBOX = f.saved.at(-1)!;
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 2, more: false });
    expect(f.published.map((e) => (e.data as { uid: number }).uid)).toEqual([1, 2, 3, 4, 5]);
  });
});

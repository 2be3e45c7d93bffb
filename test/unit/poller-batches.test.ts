/**
 * How a poll announces in batches (issue 19), with a fake session and publisher: one publishAll per
 * FETCH batch, each before the cursor is saved past it; the next FETCH under way while a batch is
 * published, but never beside a download (content, a delivery report); a publish that fails ends
 * the poll with the cursor before the batch and no FETCH left running; content flushed every
 * FLUSH_CONTENT_BYTES within the byte budget. And the pure pieces: where a batch is flushed, which
 * publications go in one script call, and the call's arguments.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/adapters/mail/parse.js';
import type { DomainEvent } from '../../src/domain/events/events.js';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import { FLUSH_CONTENT_BYTES, flushDue } from '../../src/domain/polling/announce.js';
import { pollMailbox, type FetchedEnvelope, type MailSession, type PollerPorts } from '../../src/domain/polling/poller.js';
import { createKeySpace } from '../../src/store/keys.js';
import { publishArgs, publishCalls, type Publication } from '../../src/store/webhook-publish-args.js';

const REPORT = 'multipart/report; report-type=delivery-status; boundary="b"';
const MB = 1024 * 1024;

interface Options {
  count: number;
  size?: (uid: number) => number;
  contentType?: (uid: number) => string | null;
  wantsContent?: boolean;
  failPublish?: number;
  bounces?: boolean;
}

function fixture(o: Options) {
  /** What happened, in order: `fetch 1-100`, `fetched 1-100`, `publish 1-100`, `save 100`, `download 7`. */
  const log: string[] = [];
  const calls: DomainEvent[][] = [];
  let fetching = 0;
  let downloadsBesideFetch = 0;
  const uids = Array.from({ length: o.count }, (_, i) => i + 1);
  const range = (list: readonly number[]): string => `${list[0]}-${list.at(-1)}`;
  const session: MailSession = {
    usable: true,
    resolveFolder: async () => 'INBOX',
    status: async () => ({ path: 'INBOX', uidValidity: 1, uidNext: o.count + 1 }),
    firstUidSince: async () => undefined,
    searchUids: async (_p, from, to, limit) => uids.filter((u) => u >= from && u <= to).slice(0, limit),
    fetchEnvelopes: async (_p, wanted) => {
      fetching += 1;
      log.push(`fetch ${range(wanted)}`);
      await new Promise((r) => setTimeout(r, 5));
      fetching -= 1;
      log.push(`fetched ${range(wanted)}`);
      return wanted.map((uid): FetchedEnvelope => ({
        uid, messageId: null, subject: `m${uid}`, from: [], to: [], cc: [], date: null, size: o.size?.(uid) ?? 10, contentType: o.contentType?.(uid) ?? 'text/plain',
      }));
    },
    fetchSizes: async () => [],
    download: async (_p, uid) => {
      if (fetching > 0) downloadsBesideFetch += 1;
      log.push(`download ${uid}`);
      return Readable.from([Buffer.from(`Subject: m${uid}\r\n\r\nbody\r\n`)]);
    },
  };
  const mailbox = { id: 'mbx_AAAAAAAAAAAAAAAA', email: 'a@b.example', folders: ['INBOX'], folderState: { INBOX: { uidValidity: 1, uidNext: 1, lastSeenUid: 0 } } } as unknown as MailboxRecord;
  const ports: PollerPorts = {
    token: async () => ({ accessToken: 't', expiresAt: new Date(Date.now() + 3_600_000), fromCache: true }) as never,
    session: async () => ({ session, done: () => undefined }),
    saveCursor: async (_m, _f, cursor) => void log.push(`save ${cursor.lastSeenUid}`),
    events: {
      publish: async () => {
        throw new Error('a poll publishes its batches with publishAll');
      },
      publishAll: async (events) => {
        calls.push([...events]);
        if (calls.length === o.failPublish) throw new Error('Redis went away');
        log.push(`publish ${range(events.map((e) => (e.data as { uid: number }).uid))}`);
        await new Promise((r) => setTimeout(r, 5));
      },
      contentWanted: async () => o.wantsContent ?? false,
    },
    content: { parse: parseMessage, maxBytes: 2 * MB },
    ...(o.bounces ? { bounces: async () => 0 } : {}),
    now: () => new Date(),
  };
  return { mailbox, ports, log, calls, fetching: () => fetching, downloadsBesideFetch: () => downloadsBesideFetch };
}

const options = { maxMessagesPerFolder: 500, batchSize: 100, fullLookSeconds: 900, maxContentBytes: 10 * MB };

describe('a poll announcing a backlog', () => {
  it('publishes each FETCH batch with one call, before saving the cursor past it, the next FETCH under way meanwhile', async () => {
    const f = fixture({ count: 250 });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 250, more: false });
    expect(f.calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(f.calls.flat().map((e) => (e.data as { uid: number }).uid)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    const at = (entry: string): number => f.log.indexOf(entry);
    for (const [batch, last] of [['1-100', 100], ['101-200', 200], ['201-250', 250]] as const) {
      expect(at(`publish ${batch}`)).toBeGreaterThan(at(`fetched ${batch}`));
      expect(at(`save ${last}`)).toBeGreaterThan(at(`publish ${batch}`));
    }
    // The next FETCH was asked for before the batch before it was published.
    expect(at('fetch 101-200')).toBeLessThan(at('publish 1-100'));
    expect(at('fetch 201-250')).toBeLessThan(at('publish 101-200'));
  });

  it('stops at the per-poll limit, the cursor on the last message announced', async () => {
    const f = fixture({ count: 700 });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 500, more: true });
    expect(f.calls.map((c) => c.length)).toEqual([100, 100, 100, 100, 100]);
    expect(f.log.filter((l) => l.startsWith('save')).at(-1)).toBe('save 500');
    expect(f.log.some((l) => l.startsWith('fetch 501'))).toBe(false);
  });

  it('ends a poll whose publish fails with the cursor before that batch, and no FETCH left running', async () => {
    const f = fixture({ count: 300, failPublish: 2 });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'error' });
    expect(f.log.filter((l) => l.startsWith('save'))).toEqual(['save 100']);
    // The FETCH of 201-300 had started beside the failed publish: the poll waited for it to end.
    expect(f.log).toContain('fetched 201-300');
    expect(f.fetching()).toBe(0);
  });

  it('starts no FETCH beside a batch that reads a delivery report, and checks the report after publishing it', async () => {
    const f = fixture({ count: 250, bounces: true, contentType: (uid) => (uid === 150 ? REPORT : 'text/plain') });
    expect(await pollMailbox(f.mailbox, f.ports, options)).toMatchObject({ kind: 'ok', announced: 250 });
    expect(f.downloadsBesideFetch()).toBe(0);
    expect(f.log.indexOf('download 150')).toBeGreaterThan(f.log.indexOf('publish 101-200'));
    expect(f.log.indexOf('fetch 201-250')).toBeGreaterThan(f.log.indexOf('download 150'));
  });

  it('with content, publishes every FLUSH_CONTENT_BYTES and ends at the byte budget after the message that reaches it', async () => {
    // 1.5 MB each, FETCHes of 5: flushed after 3 (4.5 MB), then at the batch's end; the 7th reaches the 10 MB budget.
    const f = fixture({ count: 20, wantsContent: true, size: () => 1.5 * MB });
    expect(await pollMailbox(f.mailbox, f.ports, { ...options, batchSize: 5 })).toMatchObject({ kind: 'ok', announced: 7, more: true });
    expect(f.calls.map((c) => c.length)).toEqual([3, 2, 2]);
    expect(f.downloadsBesideFetch()).toBe(0);
    expect(f.log.filter((l) => l.startsWith('save'))).toEqual(['save 5', 'save 7']);
  });
});

describe('batching pieces', () => {
  it('flushes held content at FLUSH_CONTENT_BYTES', () => {
    expect(flushDue(FLUSH_CONTENT_BYTES - 1)).toBe(false);
    expect(flushDue(FLUSH_CONTENT_BYTES)).toBe(true);
  });

  const dlv = (n: number): string => `dlv_${String(n).padStart(16, '0')}`;
  const publication = (n: number, deliveries: number): Publication => ({
    event: { id: `evt_${n}`, type: 'message.received', body: `{"n":${n}}` },
    deliveries: Array.from({ length: deliveries }, (_, i) => ({ subscriptionId: `whk_${String(i).padStart(16, '0')}`, deliveryId: dlv(n * 100 + i) })),
  });

  it('cuts publications into script calls of at most the delivery limit, in order, an event never split', () => {
    const sizes = (calls: Publication[][]) => calls.map((call) => call.map((p) => p.event.id));
    expect(sizes(publishCalls([publication(1, 3), publication(2, 3), publication(3, 3)], 6))).toEqual([['evt_1', 'evt_2'], ['evt_3']]);
    // An event with more deliveries than the limit goes alone; one without any is left out.
    expect(sizes(publishCalls([publication(1, 2), publication(2, 9), publication(3, 0), publication(4, 1)], 6))).toEqual([['evt_1'], ['evt_2'], ['evt_4']]);
    expect(publishCalls([])).toEqual([]);
  });

  it('lists each subscription once, then per event its content key and its deliveries by subscription position', () => {
    const keys = createKeySpace('unit').webhookDelivery;
    const withContent: Publication = {
      event: { id: 'evt_2', type: 'message.received', body: '{}', omittedBody: '{"o":1}', content: { members: [['text', '"text":"x"']], ttlMs: 9 } },
      deliveries: [
        { subscriptionId: 'whk_0000000000000001', deliveryId: dlv(901), content: { kind: 'parts', parts: ['text'] } },
        { subscriptionId: 'whk_0000000000000000', deliveryId: dlv(900), content: { kind: 'omitted' } },
      ],
    };
    const { keys: k, args } = publishArgs(keys, { now: 5, maxInFlight: 16, admissionLeaseMs: 7 }, [publication(1, 2), withContent]);
    const sub = (n: number) => `whk_${String(n).padStart(16, '0')}`;
    expect(k).toEqual([
      keys.wakeups(), keys.ticketSeq(),
      ...[sub(0), sub(1)].flatMap((s) => [keys.index(s), keys.slots(s), keys.parked(s), keys.tickets(s), keys.health(s)]),
      keys.content('evt_1'), keys.record(dlv(100)), keys.record(dlv(101)),
      keys.content('evt_2'), keys.record(dlv(901)), keys.record(dlv(900)),
    ]);
    expect(args).toEqual([
      5, 16, 7, 2, sub(0), sub(1),
      'evt_1', 'message.received', '{"n":1}', '', 0, 0, 2, 1, dlv(100), '', 2, dlv(101), '',
      'evt_2', 'message.received', '{}', '{"o":1}', 9, 1, 'text', '"text":"x"', 2, 2, dlv(901), 'text', 1, dlv(900), '-',
    ]);
  });
});

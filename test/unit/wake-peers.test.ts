import { describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../src/domain/mailboxes/service.js';
import { outageOf } from '../../src/domain/polling/outage.js';
import { WAKE_SPREAD_MS, wakePeers } from '../../src/domain/polling/wake-peers.js';

const NOW = 1_800_000_000_000;

function mailbox(id: string, patch: Partial<MailboxRecord> = {}): MailboxRecord {
  return {
    id, connectionId: 'con_1', flow: 'app_only', email: `${id}@contoso.com`, folders: ['INBOX'], pollIntervalSeconds: 60,
    imap: { host: 'outlook.office365.com', port: 993, secure: true }, smtp: { host: 'smtp.office365.com', port: 587, secure: false },
    state: 'error', account: null, lastPollAt: null, nextPollAt: null, folderState: {},
    lastError: { code: 'imap_unreachable', detail: 'd', at: new Date(NOW).toISOString() },
    createdAt: new Date(NOW).toISOString(), updatedAt: new Date(NOW).toISOString(),
    ...patch,
  } as MailboxRecord;
}

/** A scheduler and a mailbox store in memory: what wakePeers reads and writes. */
function world(records: MailboxRecord[], dueInMs = 600_000) {
  const due = new Map(records.map((r) => [r.id, NOW + dueInMs]));
  const deps = {
    mailboxes: {
      idsOfConnection: async (connectionId: string) => records.filter((r) => r.connectionId === connectionId).map((r) => r.id),
      find: async (id: string) => records.find((r) => r.id === id),
    },
    scheduler: {
      dueOf: async (id: string) => due.get(id),
      schedule: async (id: string, at: number) => void due.set(id, at),
    },
    now: () => NOW,
    random: () => 0.5,
  };
  return { deps, due };
}

describe('after an outage of a shared server', () => {
  it('names the server an error says is down for everyone, and no other', () => {
    expect(outageOf('identity_platform_unreachable')).toBe('identity_platform');
    expect(outageOf('identity_platform_error')).toBe('identity_platform');
    expect(outageOf('imap_unreachable')).toBe('imap_server');
    for (const code of ['imap_auth_failed', 'imap_throttled', 'invalid_client_secret', 'imap_error', 'whatever']) expect(outageOf(code), code).toBeUndefined();
  });

  it('polls soon the mailboxes of the connection held in error by the same outage on the same server, and no others', async () => {
    const recovered = mailbox('a');
    const records = [
      recovered,
      mailbox('peer'),
      mailbox('other-code', { lastError: { code: 'imap_auth_failed', detail: 'd', at: '' } }),
      mailbox('other-server', { imap: { host: 'outlook.office365.us', port: 993, secure: true } }),
      mailbox('other-connection', { connectionId: 'con_2' }),
      mailbox('active', { state: 'active', lastError: null }),
      mailbox('paused', { state: 'paused' }),
    ];
    const { deps, due } = world(records);
    expect(await wakePeers(deps, recovered, 'imap_unreachable')).toBe(1);
    expect(due.get('peer')).toBe(NOW + WAKE_SPREAD_MS / 2);
    for (const id of ['a', 'other-code', 'other-server', 'other-connection', 'active', 'paused']) expect(due.get(id), id).toBe(NOW + 600_000);
  });

  it('wakes peers on any IMAP server after an identity platform outage, and leaves a poll due sooner alone', async () => {
    const recovered = mailbox('a', { lastError: { code: 'identity_platform_unreachable', detail: 'd', at: '' } });
    const peer = mailbox('b', { lastError: recovered.lastError, imap: { host: 'outlook.office365.us', port: 993, secure: true } });
    expect(await wakePeers(world([recovered, peer]).deps, recovered, 'identity_platform_unreachable')).toBe(1);
    const soon = world([recovered, peer], 1_000);
    expect(await wakePeers(soon.deps, recovered, 'identity_platform_unreachable')).toBe(0);
    expect(soon.due.get('b')).toBe(NOW + 1_000);
  });

  it('wakes nobody for an error that is not an outage', async () => {
    const recovered = mailbox('a', { lastError: { code: 'imap_auth_failed', detail: 'd', at: '' } });
    const { deps, due } = world([recovered, mailbox('b', { lastError: recovered.lastError })]);
    expect(await wakePeers(deps, recovered, 'imap_auth_failed')).toBe(0);
    expect(due.get('b')).toBe(NOW + 600_000);
  });
});

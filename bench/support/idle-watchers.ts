/**
 * Bare IDLE clients: one plain imapflow session per watched mailbox, idling on
 * INBOX, recording when the server tells it of new mail (`* N EXISTS`). This
 * is the server's own delay, measured with nothing of mailsync in the way: the
 * IDLE phase of bench/poll reports it beside delivery → webhook, so what
 * mailsync adds after the server's notice shows apart.
 *
 * The notice of a mail is the first EXISTS its mailbox's watcher heard after
 * the mail was handed to the server; two mails to one mailbox within the
 * server's delay share a notice (rare at the bench's pace).
 */
import { ImapFlow } from 'imapflow';
import { mintAppToken } from '../../sandbox/tokens.js';
import type { SigningKey } from '../../sandbox/pki.js';

export interface IdleWatcherOptions {
  host: string;
  port: number;
  caPem: string;
  signingKey: SigningKey;
  tenantId: string;
  clientId: string;
}

export interface IdleWatchers {
  /** When the server first told of new mail in `email`'s INBOX at or after `since` (ms since the epoch). */
  noticeAfter(email: string, since: number): number | undefined;
  close(): Promise<void>;
}

/** Opens a watcher per address (a few at a time) and resolves once every one is idling. */
export async function watchInboxes(emails: readonly string[], options: IdleWatcherOptions): Promise<IdleWatchers> {
  const notices = new Map<string, number[]>();
  const clients: ImapFlow[] = [];
  const open = async (email: string): Promise<void> => {
    const accessToken = await mintAppToken(options.signingKey, { tenantId: options.tenantId, clientId: options.clientId, roles: ['IMAP.AccessAsApp'] });
    const client = new ImapFlow({
      host: options.host, port: options.port, secure: true, tls: { ca: [options.caPem] },
      auth: { user: email, accessToken }, logger: false,
    });
    client.on('error', () => undefined);
    clients.push(client);
    const heard: number[] = [];
    notices.set(email, heard);
    client.on('exists', (event: { count: number; prevCount: number }) => {
      if (event.count > event.prevCount) heard.push(performance.timeOrigin + performance.now());
    });
    await client.connect();
    await client.mailboxOpen('INBOX');
    // idle() resolves only when IDLE ends (close); it is running once the call returns.
    void client.idle().catch(() => undefined);
  };
  const queue = [...new Set(emails)];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let email = queue.shift(); email !== undefined; email = queue.shift()) await open(email);
  }));
  return {
    noticeAfter: (email, since) => notices.get(email)?.find((at) => at >= since),
    close: async () => {
      await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
    },
  };
}

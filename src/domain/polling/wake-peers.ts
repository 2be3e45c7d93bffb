/**
 * After an outage of a shared server: when one mailbox's poll gets past an
 * error that says the identity platform or an IMAP server was down, the
 * other mailboxes it held in error are polled within a few seconds instead
 * of at the end of their exponential back-off (up to 15 minutes after a long
 * outage). Peers are the mailboxes of the same connection (one identity
 * platform, one app) in error with the same code, on the same IMAP server
 * for an IMAP outage. A poll already due sooner is left alone.
 */
import { outageOf } from './outage.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import type { PollSchedulePort } from './ports.js';

/** Woken polls are spread over this much time, so a thousand mailboxes do not log in in one second. */
export const WAKE_SPREAD_MS = 5_000;

export interface WakePeersDeps {
  mailboxes: Pick<MailboxService, 'idsOfConnection' | 'find'>;
  scheduler: Pick<PollSchedulePort, 'dueOf' | 'schedule'>;
  now: () => number;
  random?: () => number;
}

/** Reschedules the peers `recovered` got past `code` for; answers how many. */
export async function wakePeers(deps: WakePeersDeps, recovered: MailboxRecord, code: string): Promise<number> {
  const outage = outageOf(code);
  if (!outage) return 0;
  const random = deps.random ?? Math.random;
  const sameServer = (peer: MailboxRecord): boolean =>
    outage !== 'imap_server' || (peer.imap.host === recovered.imap.host && peer.imap.port === recovered.imap.port);
  let woken = 0;
  for (const id of await deps.mailboxes.idsOfConnection(recovered.connectionId)) {
    if (id === recovered.id) continue;
    const peer = await deps.mailboxes.find(id);
    if (!peer || peer.state !== 'error' || peer.lastError?.code !== code || !sameServer(peer)) continue;
    const at = deps.now() + Math.floor(random() * WAKE_SPREAD_MS);
    const due = await deps.scheduler.dueOf(id);
    if (due === undefined || due <= at) continue;
    await deps.scheduler.schedule(id, at);
    woken += 1;
  }
  return woken;
}

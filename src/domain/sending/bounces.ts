/**
 * Bounces (issue 17): a delivery status notification that arrives in a
 * watched folder of the mailbox that sent the message it reports on is
 * matched to that send, kept in the send's record (`bounces` in GET
 * /v1/send/{id}) and announced as `message.bounced`, one event per recipient
 * reported failed or delayed. The report is announced as new mail too
 * (`message.received`), as any mail; a report on mail mailsync did not send
 * is only that.
 *
 * Matching: the send id in the original's Message-ID (`<snd_….uuid@domain>`,
 * message.ts newMessageId) or its X-Mailsync-Send-Id header, checked against
 * the record: the same mailbox, and the same Message-ID when the report
 * quotes one. A report naming another mailbox's send, or quoting another
 * Message-ID, is no bounce of it (anyone can mail a report in that shape).
 *
 * Idempotent: the record keeps each (recipient, action, status) once, and the
 * event id derives from the send and those, so a poll repeated after a crash
 * announces nothing twice.
 */
import { createHash } from 'node:crypto';
import type { BounceInfo, SendRecord } from '../../store/send-store.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import type { DeliveryReport } from './delivery-report.js';
import { sendIdOfMessageId } from './message.js';

/** What matching a report needs: the sends and where to announce. */
export interface BouncePorts {
  sends: {
    get(sendId: string): Promise<SendRecord | undefined>;
    addBounces(sendId: string, bounces: readonly BounceInfo[], now: Date): Promise<number>;
  };
  events: EventPublisher;
  now(): Date;
}

export function bounceEventId(sendId: string, b: Pick<BounceInfo, 'recipient' | 'action' | 'status'>): string {
  const digest = createHash('sha256').update(`message.bounced\n${sendId}\n${b.recipient.toLowerCase()}\n${b.action}\n${b.status ?? ''}`).digest('base64url');
  return `bnc_${digest.slice(0, 32)}`;
}

/** The send a report found in `mailboxId` is about, or undefined when it is none of this mailbox's. */
async function sendOf(mailboxId: string, report: DeliveryReport, ports: BouncePorts): Promise<SendRecord | undefined> {
  const sendId = sendIdOfMessageId(report.originalMessageId) ?? report.originalSendId;
  if (!sendId) return undefined;
  const record = await ports.sends.get(sendId);
  if (!record || record.mailboxId !== mailboxId) return undefined;
  if (report.originalMessageId !== null && report.originalMessageId !== record.messageId) return undefined;
  return record;
}

/** Matches, records and announces a report found in the mailbox; the number of recipients announced. */
export async function announceBounces(mailboxId: string, report: DeliveryReport, ports: BouncePorts): Promise<number> {
  const record = await sendOf(mailboxId, report, ports);
  if (!record) return 0;
  const at = ports.now();
  const bounces: BounceInfo[] = report.recipients.map((r) => ({ ...r, at: at.toISOString() }));
  if ((await ports.sends.addBounces(record.id, bounces, at)) < 0) return 0;
  for (const b of bounces) {
    await ports.events.publish(newEvent('message.bounced', {
      sendId: record.id, mailboxId, messageId: record.messageId,
      recipient: b.recipient, action: b.action, status: b.status, diagnosticCode: b.diagnosticCode,
    }, bounceEventId(record.id, b), at));
  }
  return bounces.length;
}

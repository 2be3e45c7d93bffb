/**
 * Bounces (issue 17) seen by a poll: a new message whose Content-Type is a
 * delivery status report (`multipart/report; report-type=delivery-status`)
 * is downloaded (at most REPORT_MAX_BYTES: the status part comes before the
 * original message a report may attach, so a cut copy still reads) and, when
 * it is one, handed to the sending side to match it to a send.
 *
 * As with content (content.ts), a report never holds the poll back: one that
 * cannot be downloaded or read is ordinary new mail; a session broken before
 * the download fails the poll as any command would.
 */
import type { Readable } from 'node:stream';
import { readDeliveryReport, isDeliveryReportType, type DeliveryReport } from '../sending/delivery-report.js';
import type { ContentSession } from './content.js';

/** Bytes of a report read at most. */
export const REPORT_MAX_BYTES = 256 * 1024;

/** Matches a report found in a mailbox to its send and announces it; the recipients announced. */
export type BounceHandler = (mailboxId: string, report: DeliveryReport) => Promise<number>;

async function head(source: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(buffer.subarray(0, maxBytes - size));
      size += buffer.length;
      if (size >= maxBytes) break;
    }
  } finally {
    source.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads the message as a report when its Content-Type says it is one; the recipients announced. */
export async function checkBounce(
  session: ContentSession, path: string, uid: number, contentType: string | null | undefined, mailboxId: string, handle: BounceHandler,
): Promise<number> {
  if (!isDeliveryReportType(contentType)) return 0;
  const wasUsable = session.usable;
  let text: string;
  try {
    const source = await session.download(path, uid, REPORT_MAX_BYTES);
    if (!source) return 0;
    text = await head(source, REPORT_MAX_BYTES);
  } catch (err) {
    if (!wasUsable) throw err;
    return 0;
  }
  const report = readDeliveryReport(text);
  return report ? handle(mailboxId, report) : 0;
}

/** Test mail: RFC 5322 messages with a unique subject. */
import { randomUUID } from 'node:crypto';

/**
 * A message whose subject is about 1.3 MB, folded over 30,000 lines: an IMAP server sends it in
 * the envelope as one literal, above the 1 MiB the service accepts of one (BOUNDED_RESPONSES).
 */
export function hugeSubjectMail(to: string): string {
  const subject = Array.from({ length: 30_000 }, (_, i) => `part${String(i).padStart(5, '0')} of a subject no one should write`).join('\r\n ');
  return rawMail(to, subject);
}

export function rawMail(to: string, subject: string, from = 'customer@example.org'): string {
  return [
    `From: Customer <${from}>`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${randomUUID()}@example.org>`,
    `Date: ${new Date().toUTCString()}`,
    '',
    `Hello, this is ${subject}.`,
    '',
  ].join('\r\n');
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits into the next whole second. INTERNALDATE counts whole seconds, and a folder watched from a
 * moment on counts mail received in that moment's second as new: mail put in a folder before this
 * is sure to be older than a mailbox added after it.
 */
export async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
}

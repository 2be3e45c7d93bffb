/** Test mail: RFC 5322 messages with a unique subject. */
import { randomUUID } from 'node:crypto';

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

/**
 * A webhook receiver for the benches: answers 204 to every delivery and notes when the first
 * `message.received` of each subject arrived (ms since the epoch, performance clock).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SubjectReceiver {
  /** Subject → when its first delivery arrived. */
  arrivals: Map<string, number>;
  url: string;
  close(): void;
}

export async function startSubjectReceiver(): Promise<SubjectReceiver> {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const subject = (JSON.parse(body) as { data: { subject?: string } }).data.subject;
      if (subject && !arrivals.has(subject)) arrivals.set(subject, performance.timeOrigin + performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { arrivals, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

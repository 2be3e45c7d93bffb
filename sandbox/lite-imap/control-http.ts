/**
 * The light IMAP imitation's control API over local HTTP, for a process that does not hold the
 * server object (a demo, another language's tests):
 *
 *   POST /mailboxes/{user}/messages[?folder=Archive]   body: the raw RFC 5322 message
 *     → 201 {"uid": 7}; 400 for an unknown folder; 413 past MAX_MESSAGE bytes
 *   GET  /stats → 200 {"connections": …, "logins": …, …}
 *
 * Listens on 127.0.0.1 only; no authentication (a sandbox).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LiteImap } from './server.js';

/** Largest message accepted through the control API. */
const MAX_MESSAGE = 10 * 1024 * 1024;

export interface LiteImapControl {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MESSAGE) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startLiteImapControl(imap: Pick<LiteImap, 'deliver' | 'stats'>): Promise<LiteImapControl> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const deliverTo = /^\/mailboxes\/([^/]+)\/messages$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === '/stats') return send(res, 200, imap.stats());
    if (req.method !== 'POST' || !deliverTo) return send(res, 404, { error: 'not_found' });
    void readBody(req).then((raw) => {
      if (raw === undefined) return send(res, 413, { error: 'too_large' });
      try {
        const uid = imap.deliver(decodeURIComponent(deliverTo[1]!), raw, { folder: url.searchParams.get('folder') ?? 'INBOX' });
        send(res, 201, { uid });
      } catch {
        send(res, 400, { error: 'no_such_folder' });
      }
    }, () => send(res, 400, { error: 'bad_request' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

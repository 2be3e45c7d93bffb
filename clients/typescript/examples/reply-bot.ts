/**
 * Example: a webhook receiver that answers every new message with a short reply, through the typed
 * client. It verifies each delivery (a refused one gets a 400), replies with POST /v1/send
 * `{ reply }` (subject "Re: …", threading headers and recipient taken from the original), and uses
 * the delivery's id as the Idempotency-Key: a delivery the service retries sends no second reply.
 * An error from the API answers 502, so the service delivers the event again later.
 *
 * examples/main.ts runs it; test/integration/typed-client.test.ts runs it against the real service.
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { InvalidWebhookError, verifyWebhook, type MailsyncClient, type WebhookEvent } from '@mailsync/client';

export interface ReplyBotOptions {
  client: MailsyncClient;
  /** The subscription's `whsec_…` secret, as POST /v1/webhooks answered it. */
  secret: string;
  /** The reply's text. */
  text: string;
}

export function createReplyBot({ client, secret, text }: ReplyBotOptions): RequestListener {
  async function handle(event: WebhookEvent): Promise<number> {
    if (event.type !== 'message.received') return 204;
    const { mailboxId, uid, folder } = event.data;
    const { error } = await client.POST('/v1/send', {
      params: { header: { 'idempotency-key': event.id } },
      body: { mailboxId, reply: { uid, folder }, text },
    });
    return error ? 502 : 204;
  }

  return (req, res) => {
    readBody(req)
      .then((body) => handle(verifyWebhook(secret, req.headers, body)))
      .then(
        (status) => res.writeHead(status).end(),
        (err: unknown) => res.writeHead(err instanceof InvalidWebhookError ? 400 : 500).end(),
      );
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Runs the reply bot (reply-bot.ts) on PORT (default 8080):
 *
 *     MAILSYNC_URL=http://127.0.0.1:3000 MAILSYNC_API_KEY=… WEBHOOK_SECRET=whsec_… npx tsx clients/typescript/examples/main.ts
 *
 * then subscribe it: POST /v1/webhooks { "url": "http://<this host>:8080/", "events": ["message.received"] }.
 */
import { createServer } from 'node:http';
import { createMailsyncClient } from '@mailsync/client';
import { createReplyBot } from './reply-bot.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const client = createMailsyncClient({ baseUrl: required('MAILSYNC_URL'), apiKey: required('MAILSYNC_API_KEY') });
const bot = createReplyBot({ client, secret: required('WEBHOOK_SECRET'), text: 'Thank you, we got your message and will answer soon.' });
createServer(bot).listen(Number(process.env.PORT ?? 8080));

/**
 * The yardstick for bench/send.ts: a bare Fastify route that parses the same
 * JSON body and answers 202 with an id, nothing else, in a process of its
 * own. Prints its port on stdout.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/send', async (_request, reply) => reply.code(202).send({ id: `snd_${randomBytes(12).toString('base64url')}`, status: 'queued' }));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${new URL(address).port}\n`);

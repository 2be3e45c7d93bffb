/**
 * Every command Redis runs for a while (MONITOR), on a plain socket of its own. ioredis's
 * `monitor()` lost track of its command queue under load (a monitor line read before the
 * connection knew it was monitoring: "Command queue state error", which crashed the bench), and a
 * monitor needs nothing of a client but the lines.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';

/** Writes one line per command (`<time> [<db> <client>] "<command>" "<arg>"…`) of the next `ms` to `file`; answers how many. */
export async function monitorRedis(url: string, file: string, ms: number): Promise<number> {
  const { hostname, port, password, username } = new URL(url);
  const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
  const lines: string[] = [];
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\r\n');
    buffered = parts.pop() ?? '';
    // Monitor lines are simple strings (`+<line>`); the OKs of AUTH and MONITOR are left out.
    for (const part of parts) if (part.startsWith('+') && part !== '+OK') lines.push(part.slice(1));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  if (password) socket.write(`AUTH ${username ? `${decodeURIComponent(username)} ` : ''}${decodeURIComponent(password)}\r\n`);
  socket.write('MONITOR\r\n');
  await new Promise((resolve) => setTimeout(resolve, ms));
  socket.destroy();
  writeFileSync(file, lines.join('\n'));
  return lines.length;
}

/**
 * Attachment downloads through the service (a process of its own, ROLE=api)
 * from the sandbox Dovecot: for parts of 1, 10 and 30 MB (base64 in the
 * message), the decoded MB/s a client receives and the service's peak RSS
 * growth during the download (VmHWM, reset before each one), best of
 * BENCH_ROUNDS (default 3).
 *
 *   npm run bench:attachments
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT, startSandbox } from '../sandbox/index.js';
import { freePort } from '../sandbox/ports.js';
import { testEnv, TEST_API_KEY } from '../test/support/app.js';
import { spawnService } from '../test/support/service-process.js';
import { printTable } from './support/stats.js';

const SIZES_MB = [1, 10, 30];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const auth = { authorization: `Bearer ${TEST_API_KEY}` };

function kb(pid: number, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

function mail(to: string, content: Buffer): Buffer {
  const b = `b-${randomUUID()}`;
  const base64 = (content.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from([
    'From: bench@example.org', `To: ${to}`, 'Subject: attachment bench', 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${b}"`, '',
    `--${b}`, 'Content-Type: text/plain', '', 'see attached', `--${b}`,
    'Content-Type: application/octet-stream; name="a.bin"', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment; filename="a.bin"', '',
    base64, `--${b}--`, '',
  ].join('\r\n'));
}

function download(port: number, path: string): Promise<{ bytes: number; sha: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const hash = createHash('sha256');
    let bytes = 0;
    request({ host: '127.0.0.1', port, path, headers: auth }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ bytes, sha: hash.digest('hex'), ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

async function main(): Promise<void> {
  const sandbox = await startSandbox();
  const port = await freePort();
  const service = spawnService({ ...testEnv(sandbox.redis.url, sandbox.serviceEnv()), ROLE: 'api', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' });
  try {
    await service.waitForLog('listening').catch(async () => {
      // LOG_LEVEL=warn hides the line: wait for the port instead.
      for (let i = 0; i < 200; i += 1) {
        if (await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the service did not start');
    });
    const api = async (path: string, body: unknown) => (await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })).json() as Promise<{ id: string }>;
    const connection = await api('/v1/connections', {
      name: 'bench', flow: 'app_only', tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, clientSecret: SANDBOX_APP_ONLY.secret, authorityHost: sandbox.identity.url,
    });
    const email = `bench-attach-${randomBytes(3).toString('hex')}@contoso.example`;
    const contents = SIZES_MB.map((mb) => randomBytes(mb * 1024 * 1024));
    for (const content of contents) await sandbox.dovecot.deliver(email, mail(email, content));
    const mailbox = await api('/v1/mailboxes', { connectionId: connection.id, email, pollIntervalSeconds: 3600, ...sandbox.mailServers() });
    const pid = service.child.pid!;
    // Warm the code paths once.
    await download(port, `/v1/mailboxes/${mailbox.id}/messages/1/attachments/2`);

    const rows: (string | number)[][] = [];
    for (const [i, mb] of SIZES_MB.entries()) {
      let best = Infinity;
      let growth = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        const before = kb(pid, 'VmRSS');
        writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM := VmRSS
        const result = await download(port, `/v1/mailboxes/${mailbox.id}/messages/${i + 1}/attachments/2`);
        if (result.sha !== createHash('sha256').update(contents[i]!).digest('hex')) throw new Error(`${mb} MB: the bytes differ`);
        best = Math.min(best, result.ms);
        growth = Math.max(growth, kb(pid, 'VmHWM') - before);
      }
      rows.push([`${mb} MB`, (mb / (best / 1000)).toFixed(1), Math.round(best), (growth / 1024).toFixed(1), (kb(pid, 'VmRSS') / 1024).toFixed(0)]);
    }
    printTable(`Attachment downloads (best of ${ROUNDS}; the service a process of its own, Dovecot on this machine)`,
      ['part', 'MB/s', 'ms', 'peak RSS growth MB', 'RSS after MB'], rows);
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    await sandbox.stop();
  }
}

await main();

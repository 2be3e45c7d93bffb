/**
 * The memory floor of a kept IMAP session (issue 19): what N connections to the sandbox's light IMAP
 * imitation cost a process that holds nothing else, per kind, so the worker's cost per kept session
 * (bench/poll --phase scale) can be split into what TLS and imapflow cost anyway and what is ours.
 *
 *   npm run bench:session-floor -- [--count 2000] [--kinds tls,imapflow,session] [--settle-ms 5000]
 *
 * The imitation runs in this process; each kind's connections are opened by a fresh child
 * (bench/support/session-floor-client.ts, --expose-gc), whose RSS and heap are read after full GCs
 * before the first connection and after the last: the growth over the count is the cost of one.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SANDBOX_APP_ONLY, SANDBOX_TENANT } from '../sandbox/index.js';
import { startLiteImap } from '../sandbox/lite-imap/server.js';
import { loadOrCreatePki } from '../sandbox/pki.js';
import { mintAppToken } from '../sandbox/tokens.js';
import { printTable } from './support/stats.js';

interface Sample { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
interface Result { kind: string; count: number; openMs: number; cpuMs: number; before: Sample; after: Sample; settled: Sample }

const { values } = parseArgs({
  options: { count: { type: 'string', default: '2000' }, kinds: { type: 'string', default: 'tls,imapflow,session' }, 'settle-ms': { type: 'string', default: '5000' } },
});

function runChild(env: Record<string, string>): Promise<Result> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'support', 'session-floor-client.ts')], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Result) : reject(new Error(`${env.FLOOR_KIND}: exit ${code}`))));
  });
}

const kb = (bytes: number, count: number) => (bytes / count / 1024).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'session-floor-'));
const pki = await loadOrCreatePki(join(dir, 'pki'));
const imap = await startLiteImap({ pki, maxConnectionsPerMailbox: 1_000_000 });
const token = await mintAppToken(pki.signingKey, { tenantId: SANDBOX_TENANT.id, clientId: SANDBOX_APP_ONLY.clientId, roles: ['IMAP.AccessAsApp'], lifetimeSeconds: 3600 });
const rows: string[][] = [];
try {
  for (const kind of values.kinds.split(',')) {
    const load = execFileSync('uptime').toString().trim().replace(/.*load average: /, '');
    const r = await runChild({ FLOOR_KIND: kind, FLOOR_COUNT: values.count, FLOOR_PORT: String(imap.port), FLOOR_CA: pki.caCertPem, FLOOR_TOKEN: token, FLOOR_SETTLE_MS: values['settle-ms'] });
    rows.push([kind, String(r.count), kb(r.after.rss - r.before.rss, r.count), kb(r.settled.rss - r.before.rss, r.count), kb(r.settled.heapUsed - r.before.heapUsed, r.count),
      kb(r.settled.heapTotal - r.before.heapTotal, r.count), kb(r.settled.rss - r.before.rss - (r.settled.heapTotal - r.before.heapTotal), r.count), kb(r.settled.external - r.before.external, r.count), (r.cpuMs / r.count).toFixed(2), load]);
  }
} finally {
  await imap.stop();
  rmSync(dir, { recursive: true, force: true });
}
printTable(`Memory floor per connection (${values.count} connections to the light IMAP imitation)`, ['kind', 'connections', 'RSS KB/conn (opened)', 'RSS KB/conn (settled)', 'heap used KB/conn', 'heap committed KB/conn', 'outside the heap KB/conn', 'external KB/conn', 'client CPU ms/open', 'load'], rows);

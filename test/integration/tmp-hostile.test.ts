import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { it } from 'vitest';
import { loadOrCreatePki } from '../../sandbox/pki.js';
import { startHostileImap, HOSTILE_SCENARIOS } from '../../sandbox/hostile-imap.js';
import { createPollSession } from '../../src/adapters/imap/poll-session.js';
import { createLogger } from '../../src/logging/logger.js';

it('explore', async () => {
  const pki = await loadOrCreatePki(await mkdtemp(join(tmpdir(), 'pki-')));
  const hostile = await startHostileImap({ pki });
  const logger = createLogger({ level: 'silent' });
  for (const scenario of HOSTILE_SCENARIOS) {
    const started = Date.now();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    const s = createPollSession({ host: '127.0.0.1', port: hostile.port, secure: true, user: `${scenario}@hostile.example`, accessToken: 'tok', ca: [...rootCertificates, pki.caCertPem], logger, timeouts: { socketMs: 8000, greetingMs: 3000, connectMs: 3000 } });
    const steps: string[] = [];
    const run = (async () => {
      await s.connect(); steps.push('connected');
      const a = await s.status('INBOX'); steps.push(`status ${JSON.stringify(a)}`);
      const b = await s.status('INBOX'); steps.push(`status ${JSON.stringify(b)}`);
      const env = await s.fetchFrom('INBOX', 1, 100); steps.push(`fetched ${JSON.stringify(env).slice(0, 300)}`);
    })().catch((err: unknown) => steps.push(`ERR ${(err as { code?: string }).code} ${String((err as Error).message).slice(0, 200)}`));
    await Promise.race([run, new Promise((r) => setTimeout(r, 12000))]);
    clearInterval(sampler);
    s.close();
    console.log(`SCN ${scenario} ${Date.now() - started}ms peak+${Math.round((peak - rss0) / 1e6)}MB :: ${steps.join(' | ')}`);
  }
  await hostile.stop();
}, 200000);

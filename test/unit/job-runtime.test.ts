/**
 * The job runtime (src/jobs/runtime.ts) is the only place that makes BullMQ
 * workers, and it refuses to start when a queue has no handler (or two).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QueueFactory } from '../../src/adapters/queue/bullmq.js';
import { loadConfig } from '../../src/config/config.js';
import { createDependencies } from '../../src/container.js';
import { checkHandlers, JobRuntime, type JobModule } from '../../src/jobs/runtime.js';
import { createLogger } from '../../src/logging/logger.js';

const ROOT = join(import.meta.dirname, '../..');
const RUNTIME = 'src/jobs/runtime.ts';
const ADAPTER = 'src/adapters/queue/bullmq.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Files (relative to the repository) that construct a BullMQ Worker, or import bullmq itself, where they may not. */
export function workerViolations(files: readonly { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    if (path !== RUNTIME && /\bnew\s+(?:\w+\.)?Worker\s*[<(]/.test(text)) found.push(`${path}: new Worker`);
    if (path !== ADAPTER && /from\s+['"]bullmq['"]/.test(text)) found.push(`${path}: imports bullmq`);
  }
  return found;
}

const srcFiles = (): { path: string; text: string }[] =>
  sourceFiles(join(ROOT, 'src')).map((file) => ({ path: relative(ROOT, file).split('\\').join('/'), text: readFileSync(file, 'utf8') }));

const module = (name: string, queues: string[]): JobModule => ({
  name,
  handlers: queues.map((queue) => ({ queue, settings: { concurrency: 1 }, process: async () => 'ok' })),
});

describe('the job runtime', () => {
  it('is the only place that constructs a BullMQ Worker (and the adapter the only one importing bullmq)', () => {
    expect(workerViolations(srcFiles())).toEqual([]);
  });

  it('the grep catches a worker made elsewhere', () => {
    const planted = [{ path: 'src/jobs/polling/poll-worker.ts', text: "const w = new Worker<PollJobData>('poll', fn, options);" }];
    expect(workerViolations(planted)).toEqual(['src/jobs/polling/poll-worker.ts: new Worker']);
    expect(workerViolations([{ path: 'src/wiring/x.ts', text: "import { Worker } from 'bullmq';" }])).toEqual(['src/wiring/x.ts: imports bullmq']);
  });

  it('refuses a declared queue without a handler, an undeclared queue, and a queue handled twice', () => {
    expect(() => checkHandlers(['a', 'b'], [module('one', ['a', 'b'])])).not.toThrow();
    expect(() => checkHandlers(['a', 'b'], [module('one', ['a'])])).toThrow('no handler for queue b');
    expect(() => checkHandlers(['a'], [module('one', ['a', 'c'])])).toThrow('handler for undeclared queue c');
    expect(() => checkHandlers(['a'], [module('one', ['a']), module('two', ['a'])])).toThrow('queue a handled twice (one, two)');
    // A dynamic queue (the poll shards a worker owns) counts as handled, once.
    const dynamic: JobModule = { name: 'polling', handlers: [], dynamicQueues: ['poll'] };
    expect(() => checkHandlers(['a', 'poll'], [module('one', ['a']), dynamic])).not.toThrow();
    expect(() => checkHandlers(['poll'], [module('one', ['poll']), dynamic])).toThrow('queue poll handled twice (one, polling)');
  });

  it('does not start (no worker made) when a queue has no handler', async () => {
    const queues = { workerOptions: () => { throw new Error('no worker may be made'); } } as unknown as QueueFactory;
    const runtime = new JobRuntime({ queues, queueNames: ['a', 'b'], logger: createLogger({ level: 'silent' }) });
    runtime.register(module('one', ['a']));
    await expect(runtime.startAll()).rejects.toThrow('job runtime not started: no handler for queue b');
    expect(runtime.activeWorkers()).toEqual([]);
    expect(() => runtime.register(module('one', ['b']))).toThrow('job module one registered twice');
  });

  it("the service's queues each have their handler", async () => {
    const config = loadConfig({ API_KEYS: 'job-runtime-test-key-0000', SANDBOX: 'true', LOG_LEVEL: 'silent' });
    const deps = createDependencies(config, createLogger({ level: 'silent' }));
    try {
      expect(() => deps.jobs.check()).not.toThrow();
      expect(deps.jobs.names()).toEqual(['webhooks', 'polling', 'sending', 'connections']);
    } finally {
      await deps.close();
    }
  });
});

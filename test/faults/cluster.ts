/**
 * The service as the fault suite runs it: long-lived `node --import tsx
 * src/main.ts` children in fixed slots (api-1, api-2, worker-1, worker-2),
 * each on a fixed port so that a slot restarted after a SIGKILL answers where
 * its predecessor did. Output goes to one log file per slot (kept for CI),
 * not to memory: the suite runs for minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type SlotRole = 'api' | 'worker';

export interface ServiceSlot {
  name: string;
  role: SlotRole;
  url: string;
  /** How many processes this slot has started (1 until the first restart). */
  generation: number;
  pid(): number | undefined;
  /** Starts the process and waits until /health/live answers (a start that fails, e.g. Redis down, is tried again). */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no cleanup. */
  kill(): void;
  /** GET /health/ready: 200 and its body, or the failure. */
  ready(): Promise<{ ok: boolean; detail: string }>;
  /** Resident set size of the process (bytes), from /proc. */
  rss(): number | undefined;
  /**
   * Lines of the slot's output (every process it ran) that are not pino's JSON:
   * what bypassed the logger, e.g. "[ioredis] Unhandled error event" or a stack trace.
   */
  strayOutput(): string[];
  /** SIGTERM, then SIGKILL after a few seconds. */
  stop(): Promise<void>;
}

/** A start that has not answered /health/live by then is a failure of the suite's setup. */
const START_TIMEOUT_MS = 90_000;

export function serviceSlot(opts: { name: string; role: SlotRole; port: number; env: Record<string, string>; logDir: string }): ServiceSlot {
  const url = `http://127.0.0.1:${opts.port}`;
  const logFile = join(opts.logDir, `${opts.name}.log`);
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const spawnOnce = (): void => {
    const fd = openSync(logFile, 'a');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', ...opts.env, ROLE: opts.role, HOST: '127.0.0.1', PORT: String(opts.port) },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  };

  const live = async (): Promise<boolean> => {
    try {
      const res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  };

  const slot: ServiceSlot = {
    name: opts.name,
    role: opts.role,
    url,
    generation: 0,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    start: async () => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      slot.generation += 1;
      spawnOnce();
      while (Date.now() < deadline) {
        if (await live()) return;
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
          // e.g. "start failed" while Redis is unreachable: what an orchestrator does, start it again.
          await sleep(1_000);
          spawnOnce();
          continue;
        }
        await sleep(100);
      }
      throw new Error(`${opts.name} did not answer /health/live within ${START_TIMEOUT_MS} ms; see ${logFile}`);
    },
    kill: () => {
      child?.kill('SIGKILL');
    },
    ready: async () => {
      try {
        const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
        const body = await res.text();
        return { ok: res.status === 200, detail: res.status === 200 ? 'ok' : `${res.status} ${body}` };
      } catch (err) {
        return { ok: false, detail: String(err) };
      }
    },
    rss: () => {
      const pid = slot.pid();
      if (pid === undefined) return undefined;
      try {
        const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
    strayOutput: () => readFileSync(logFile, 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{')),
    stop: async () => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return slot;
}

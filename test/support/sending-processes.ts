/**
 * Sending across worker processes on the sandbox (sending-kill, send-at-processes,
 * send-connection-cap): the service's environment for the file (no rate windows, short
 * sweeps, plus the file's own settings), the in-process app on it for the API, the worker
 * processes it spawns (all killed after the file), and one app-only mailbox to send from.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { Sandbox } from '../../sandbox/index.js';
import { testEnv, type TestApp } from './app.js';
import { useTestApp } from './fixtures.js';
import { appOnlyMailbox } from './send-helpers.js';
import { spawnService, type ServiceProcess } from './service-process.js';

export interface SendingProcesses {
  /** The in-process app (API only: its jobs are not started). */
  t: TestApp;
  /** The environment every process of the file runs with. */
  env(): Record<string, string>;
  /** A worker process, not waited for. */
  spawn(): ServiceProcess;
  /** A worker process that has started its workers. */
  start(): Promise<ServiceProcess>;
  /** A new app-only connection's mailbox for `email`, polled daily (these tests only send). */
  mailbox(email: string): Promise<string>;
}

export function useSendingProcesses(sandbox: Sandbox, settings: Record<string, string>): SendingProcesses {
  let env: Record<string, string> = {};
  const children: ChildProcess[] = [];
  beforeAll(() => {
    env = testEnv(sandbox.redis.url, {
      ...sandbox.serviceEnv(),
      SEND_RATE_PER_MINUTE: '0',
      SEND_RECIPIENTS_PER_DAY: '0',
      SEND_SWEEP_INTERVAL_MS: '500',
      ...settings,
    });
  });
  const t = useTestApp(() => env, () => sandbox.redis);
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  const spawn = (): ServiceProcess => {
    const service = spawnService({ ...env, ROLE: 'worker' });
    children.push(service.child);
    return service;
  };
  return {
    t,
    env: () => env,
    spawn,
    start: async () => {
      const service = spawn();
      await service.waitForLog('workers started', 30_000);
      return service;
    },
    mailbox: (email) => appOnlyMailbox(t, sandbox, email),
  };
}

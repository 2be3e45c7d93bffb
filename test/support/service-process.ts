/** The service as a child process (`node --import tsx src/main.ts`), with its output kept for the test. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout's JSON log lines, parsed. */
  logs(): Record<string, unknown>[];
  exited: Promise<number | null>;
  waitForLog(msg: string, timeoutMs?: number): Promise<void>;
}

export function spawnService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    exited,
    waitForLog: async (msg, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (out.includes(`"msg":"${msg}"`)) return;
        if (child.exitCode !== null) throw new Error(`service exited (${child.exitCode}): ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no "${msg}" log line within ${timeoutMs} ms`);
    },
  };
}

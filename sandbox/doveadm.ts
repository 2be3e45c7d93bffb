/** Runs `doveadm -c <conf> …` against a private Dovecot instance. */
import { spawn } from 'node:child_process';

export class DoveadmError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`doveadm ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim()}`);
    this.name = 'DoveadmError';
  }
}

export type Doveadm = (args: string[], input?: string | Buffer) => Promise<string>;

export function doveadmFor(configFile: string): Doveadm {
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = spawn('doveadm', ['-c', configFile, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.stdin.on('error', () => undefined); // doveadm may exit before reading its input
      child.once('error', reject);
      child.once('close', (code) => {
        const stdout = Buffer.concat(out).toString('utf8');
        if (code === 0) resolve(stdout);
        else reject(new DoveadmError(args, code, Buffer.concat(err).toString('utf8')));
      });
      child.stdin.end(input ?? '');
    });
}

/** Parses `doveadm -f flow` output: one `key=value key=value` line per record. */
export function parseFlow(output: string): Record<string, string>[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record: Record<string, string> = {};
      for (const match of line.matchAll(/(\S+?)=(\S*)/g)) record[match[1] ?? ''] = match[2] ?? '';
      return record;
    });
}

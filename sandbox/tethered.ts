/**
 * Runs a sandbox server (redis-server, dovecot -F) in the foreground,
 * tethered to this Node process so that it cannot outlive it.
 *
 * Linux offers Node no "kill my child when I die" switch (PR_SET_PDEATHSIG),
 * and `process.on('exit')` does not run on SIGKILL or an unhandled signal.
 * So the server runs behind a tiny `sh` whose stdin is a pipe from this
 * process: a background reader waits for EOF on that pipe and then sends
 * SIGTERM to the server. The pipe closes when stop() ends it, and also when
 * this process dies in any way (the kernel closes its descriptors), so a
 * crashed or killed test run leaves no server behind. The cost: one extra
 * `sh` process per server, and the server's exit status reaches us through
 * the shell's `wait`.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface TetheredProcess {
  /** Pid of the server itself (not of the shell). */
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code once the server (and the shell) are gone. */
  exited: Promise<number | null>;
  /** Last few KB of the server's stderr, for error messages. */
  stderrTail(): string;
  /** SIGTERM through the tether; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

// $0 = 'sh', "$@" = the server command. POSIX gives asynchronous commands
// /dev/null as stdin (even before `<&0` is applied), so the tether is kept on
// fd 3 for the background reader.
const SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- >&2 &', // server output joins stderr: stdout carries the pid line
  'pid=$!',
  'echo "$pid"',
  '(read -r _ <&3; kill -TERM "$pid" 2>/dev/null) &',
  'wait "$pid"',
].join('\n');

const STDERR_TAIL = 8192;

export async function spawnTethered(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TetheredProcess> {
  const child = spawn('sh', ['-c', SCRIPT, 'sh', command, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  // An EPIPE on the tether (server already gone) is not an error for us.
  child.stdin?.on('error', () => undefined);

  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      child.stdin?.destroy();
      resolve(code);
    });
  });

  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    const onData = (chunk: string): void => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // later output (if any) is discarded
        resolve(Number(line));
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`${command} exited (${code}) before starting: ${stderr}`)));
  });

  const stop = async (timeoutMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  return { pid, child, exited, stderrTail: () => stderr, stop };
}

/**
 * Process-tree snapshots from /proc (Linux), to make sure a stopped server
 * left no worker process behind. A process is identified by pid AND start
 * time, so a recycled pid is never mistaken for a leftover.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessId {
  pid: number;
  startTime: string;
}

function stat(pid: number): { state: string; ppid: number; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: split after its ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
    return { state: fields[0] ?? '', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** The process and all its descendants. */
export function processTree(rootPid: number): ProcessId[] {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    starts.set(pid, s.startTime);
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  }
  const result: ProcessId[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const startTime = starts.get(pid);
    if (startTime === undefined) continue;
    result.push({ pid, startTime });
    queue.push(...(children.get(pid) ?? []));
  }
  return result;
}

/** Those still alive (a zombie, dead but not yet reaped, does not count). */
export function stillRunning(processes: ProcessId[]): ProcessId[] {
  return processes.filter((p) => {
    const s = stat(p.pid);
    return s !== undefined && s.startTime === p.startTime && s.state !== 'Z';
  });
}

/** Waits until none of the processes runs; returns those still running at the deadline. */
export async function waitUntilGone(processes: ProcessId[], timeoutMs: number): Promise<ProcessId[]> {
  const deadline = Date.now() + timeoutMs;
  let left = stillRunning(processes);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = stillRunning(left);
  }
  return left;
}

/** The kernel's command name (dovecot's services show as "config", "auth", "imap", …). */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

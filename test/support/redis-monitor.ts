/**
 * Which Redis commands a piece of code sent, as the server saw them: MONITOR
 * on a connection of its own. `during(fn)` sends an ECHO marker before and
 * after fn from a second connection of its own; the server feeds MONITOR in
 * the order it executes commands, so whatever runs between the two markers is
 * what fn caused (Lua's own calls included). Nothing is waited for by time:
 * the end marker is the proof that every earlier command has been seen.
 *
 * One server only (MONITOR is per node): tests that use it run on the
 * sandbox's single Redis.
 */
import { Redis as IORedis } from 'ioredis';

export interface MonitoredCommand {
  /** The command and its arguments, as text: `['get', '{p}:connection:con_…']`. */
  args: string[];
  /** `ip:port` of the client, or `lua` for a script's calls. */
  source: string;
}

export class RedisMonitor {
  private seq = 0;
  private listener: ((args: string[], source: string) => void) | undefined;

  private constructor(
    private readonly monitor: IORedis,
    private readonly marker: IORedis,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => this.listener?.(args, source));
  }

  static async start(url: string): Promise<RedisMonitor> {
    const marker = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await marker.connect();
    const monitor = await marker.monitor();
    return new RedisMonitor(monitor, marker);
  }

  /** Runs fn and returns its result with the commands the server executed meanwhile (the markers left out). */
  async during<T>(fn: () => Promise<T>): Promise<{ result: T; commands: MonitoredCommand[] }> {
    const token = `monitor-mark-${process.pid}-${++this.seq}`;
    const commands: MonitoredCommand[] = [];
    let recording = false;
    const ended = new Promise<void>((resolve) => {
      this.listener = (args, source) => {
        const isMarker = args[0]?.toLowerCase() === 'echo' && args[1]?.startsWith(token);
        if (isMarker && args[1] === `${token}:begin`) recording = true;
        else if (isMarker && args[1] === `${token}:end`) resolve();
        else if (recording) commands.push({ args, source });
      };
    });
    try {
      await this.marker.echo(`${token}:begin`);
      const result = await fn();
      await this.marker.echo(`${token}:end`);
      await ended;
      return { result, commands };
    } finally {
      this.listener = undefined;
    }
  }

  async stop(): Promise<void> {
    this.monitor.disconnect();
    this.marker.disconnect();
  }
}

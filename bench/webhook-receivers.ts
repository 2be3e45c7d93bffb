/**
 * The bench's endpoints, in a child process so that answering webhooks does
 * not compete with the service for its event loop: a fast receiver that
 * counts POSTs per path and answers 204 (GET /stats reports the counts), and
 * a dead one that accepts connections and never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'undici';

const CHILD = `
const http = require('node:http');
const stats = {};
const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : null;
const fast = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/stats?')) {
    // Counts are cheap; percentiles sort, so only when asked (once, at the end of a phase).
    const query = new URL(req.url, 'http://x').searchParams;
    const out = {};
    for (const path of query.getAll('path')) {
      const s = stats[path] || { count: 0, latencies: [] };
      const sorted = query.has('latency') ? [...s.latencies].sort((a, b) => a - b) : [];
      out[path] = { count: s.count, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(out));
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const s = (stats[req.url] ||= { count: 0, latencies: [] });
    s.count += 1;
    try { s.latencies.push(Date.now() - Date.parse(JSON.parse(Buffer.concat(chunks)).timestamp)); } catch {}
    res.writeHead(204);
    res.end();
  });
});
fast.keepAliveTimeout = 30000;
const sockets = new Set();
const dead = http.createServer(() => { /* never answers */ });
dead.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
fast.listen(0, '127.0.0.1', () => dead.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ fast: fast.address().port, dead: dead.address().port }) + '\\n');
}));
process.stdin.on('data', () => { for (const s of sockets) s.destroy(); });
process.stdin.on('end', () => process.exit(0));
`;

export interface PathStats {
  count: number;
  p50: number | null;
  p99: number | null;
}

export interface BenchReceivers {
  fastUrl: string;
  deadUrl: string;
  /** For these paths: deliveries the fast receiver counted, and with `latency`, percentiles of event time → received (ms). */
  stats(paths: readonly string[], latency?: boolean): Promise<Record<string, PathStats>>;
  /** Drops every connection the dead endpoint holds (so in-flight attempts end). */
  releaseDead(): void;
  close(): Promise<void>;
}

export async function startBenchReceivers(): Promise<BenchReceivers> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = JSON.parse(line.toString('utf8')) as { fast: number; dead: number };
  const fastUrl = `http://127.0.0.1:${ports.fast}`;
  return {
    fastUrl,
    deadUrl: `http://127.0.0.1:${ports.dead}`,
    stats: async (paths, latency = false) => {
      const query = new URLSearchParams(paths.map((path): [string, string] => ['path', path]));
      if (latency) query.set('latency', '1');
      return (await (await request(`${fastUrl}/stats?${query.toString()}`)).body.json()) as Record<string, PathStats>;
    },
    releaseDead: () => void child.stdin!.write('x'),
    close: async () => {
      child.stdin!.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/**
 * Self size of a V8 heap snapshot (.heapsnapshot JSON) by constructor (objects) or kind (strings,
 * code, arrays…), the largest first, with counts: what a process's heap is made of.
 *
 *   npx tsx bench/support/heap-summary.ts <file.heapsnapshot> [top = 30] [per = 1] [baseline.heapsnapshot]
 *
 * `per` divides counts and bytes (the number of sessions open, for "per kept session"). With a
 * baseline (the same process kind with fewer sessions), each group is the difference between the
 * two: `per` is then the difference in sessions, and the code and modules both hold drop out.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, topArg, perArg, baselineFile] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [top] [per] [baseline.heapsnapshot]');
const top = Number(topArg ?? 30);
const per = Number(perArg ?? 1);

/** Self size and count per group of one snapshot, and its total. */
function summarize(path: string, sign: 1 | -1, groups: Map<string, { count: number; bytes: number }>): number {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  let total = 0;
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const size = heap.nodes[i + sizeAt]!;
    total += size;
    // Objects by constructor name; everything else by its kind (a string's name is its text).
    const key = type === 'object' || type === 'closure' ? `${type} ${heap.strings[heap.nodes[i + nameAt]!]}` : `(${type})`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += sign;
    group.bytes += sign * size;
    groups.set(key, group);
  }
  return sign * total;
}

const groups = new Map<string, { count: number; bytes: number }>();
const total = summarize(file, 1, groups) + (baselineFile ? summarize(baselineFile, -1, groups) : 0);
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
process.stdout.write(`${file}${baselineFile ? ` minus ${baselineFile}` : ''}: ${fmt(total / 1048576, 1)} MB of heap${per > 1 ? `, ${fmt(total / per / 1024, 1)} KB per ${fmt(per)}` : ''}\n\n`);
process.stdout.write(`${'bytes'.padStart(12)} ${'share'.padStart(6)} ${'count'.padStart(10)}  ${per > 1 ? 'per 1: bytes / count  ' : ''}what\n`);
for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  process.stdout.write(`${fmt(g.bytes).padStart(12)} ${`${fmt((g.bytes / total) * 100, 1)}%`.padStart(6)} ${fmt(g.count).padStart(10)}  ${per > 1 ? `${fmt(g.bytes / per).padStart(8)} / ${fmt(g.count / per, 1).padStart(6)}  ` : ''}${key.slice(0, 80)}\n`);
}

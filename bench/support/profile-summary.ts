/**
 * Self time of a V8 CPU profile (.cpuprofile JSON), by function and by file (or package):
 *
 *   npx tsx bench/support/profile-summary.ts <file.cpuprofile> [top = 25]
 *
 * Self time is the samples' time of the node itself, not its callees. Files under node_modules
 * are grouped by package, the service's by path; "(garbage collector)", "(program)" and "(idle)"
 * are V8's own.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

function place(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') {
    idle += us;
    continue;
  }
  total += us;
  const where = place(url);
  const fn = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  byPlace.set(where, (byPlace.get(where) ?? 0) + us);
}
// Native time (socket and file writes, microtasks) charged to its nearest callers outside Node's own modules.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (id: number): string => {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  return `${functionName || '(anonymous)'} ${place(url)}${url ? `:${lineNumber + 1}` : ''}`;
};
const nativeCallers = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  if (node.callFrame.url !== '' || node.callFrame.functionName.startsWith('(')) continue;
  const chain: string[] = [];
  for (let p = parent.get(id); p !== undefined && chain.length < 3; p = parent.get(p)) {
    const url = byId.get(p)!.callFrame.url;
    if (url !== '' && !url.startsWith('node:')) chain.push(frame(p));
  }
  const key = `${node.callFrame.functionName} ← ${chain.join(' ← ') || '(root)'}`;
  nativeCallers.set(key, (nativeCallers.get(key) ?? 0) + us);
}
// Every sample charged to its nearest frame in the service's own code (src/): what each function costs
// with the library calls it makes synchronously (a Redis command's write, an IMAP command's).
const nearestSrc = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
  let at: number | undefined = id;
  while (at !== undefined && !byId.get(at)!.callFrame.url.includes('/src/')) at = parent.get(at);
  const key = at === undefined ? '(outside src: library callbacks, timers, I/O)' : frame(at);
  nearestSrc.set(key, (nearestSrc.get(key) ?? 0) + us);
}
const show = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}\n`);
  }
};
process.stdout.write(`${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled, ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle\n`);
show('self time by file or package', byPlace);
show('self time by function', byFunction);
show('native self time by JavaScript caller', nativeCallers);
show('time by nearest src/ function (its synchronous library calls included)', nearestSrc);

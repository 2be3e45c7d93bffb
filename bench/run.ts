/**
 * `npm run bench`: every benchmark in turn, each printing its own table
 * (webhook deliveries, sending, polling). Pass `--quick` to shorten the
 * polling benchmark. The machine should be otherwise idle: the numbers are
 * throughput and latency on 2 cores.
 */
import { spawnSync } from 'node:child_process';

const quick = process.argv.includes('--quick');
const benches: [string, string[]][] = [
  ['bench/webhooks.ts', []],
  ['bench/send.ts', []],
  ['bench/actions.ts', []],
  ['bench/lists.ts', []],
  ['bench/poll.ts', quick ? ['--quick'] : []],
];
let failed = 0;
for (const [file, args] of benches) {
  process.stdout.write(`\n## ${file}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);

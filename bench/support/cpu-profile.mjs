/**
 * Preloaded into a service process by a benchmark (NODE_OPTIONS=--import, where --cpu-prof is not
 * allowed): a V8 CPU profile of the process from BENCH_CPU_PROF_DELAY_MS after start for
 * BENCH_CPU_PROF_MS, written to BENCH_CPU_PROF_FILE. Read it with bench/support/profile-summary.ts.
 * With BENCH_CPU_PROF_ON=SIGUSR2, the profile starts when the process gets that signal instead
 * (the benchmark sends it when the part it measures begins) and is written at the second one.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const file = process.env.BENCH_CPU_PROF_FILE;
if (file) {
  const session = new Session();
  session.connect();
  const delay = Number(process.env.BENCH_CPU_PROF_DELAY_MS ?? 0);
  const length = Number(process.env.BENCH_CPU_PROF_MS ?? 30_000);
  const end = () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(result.profile));
      }
      session.disconnect();
    });
  };
  const begin = (stopAfter) => {
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start', () => {
      if (stopAfter) setTimeout(end, length).unref();
    })));
  };
  if (process.env.BENCH_CPU_PROF_ON === 'SIGUSR2') {
    process.once('SIGUSR2', () => {
      begin(false);
      process.once('SIGUSR2', end);
    });
  } else {
    setTimeout(() => begin(true), delay).unref();
  }
}

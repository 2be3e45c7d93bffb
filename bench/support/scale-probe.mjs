/**
 * Preloaded into a worker by `bench/poll --phase scale` (NODE_OPTIONS=--import): every second,
 * writes `process.memoryUsage()` as JSON to BENCH_MEMORY_FILE (the bench reads heap and external
 * beside RSS), and, when BENCH_CPU_PROF_FILE is set, starts a V8 CPU profile once the file
 * `<BENCH_CPU_PROF_FILE>.start` exists and writes it once `<BENCH_CPU_PROF_FILE>.stop` does: the
 * bench marks the steady state, whose start it cannot know when the worker starts. With
 * BENCH_HEAP_SNAPSHOT_FILE, a V8 heap snapshot is written there once `<file>.start` exists (read it
 * with bench/support/heap-summary.ts).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname } from 'node:path';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { writeHeapSnapshot } from 'node:v8';

const memoryFile = process.env.BENCH_MEMORY_FILE;
const profileFile = process.env.BENCH_CPU_PROF_FILE;
const heapFile = process.env.BENCH_HEAP_SNAPSHOT_FILE;
let profiler = 'waiting';
let heap = 'waiting';
let session;
if (memoryFile || profileFile || heapFile) {
  const tick = setInterval(() => {
    if (memoryFile) writeFileSync(memoryFile, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
    if (heapFile && heap === 'waiting' && existsSync(`${heapFile}.start`)) {
      heap = 'done';
      mkdirSync(dirname(heapFile), { recursive: true });
      writeHeapSnapshot(`${heapFile}.tmp`);
      renameSync(`${heapFile}.tmp`, heapFile);
    }
    if (!profileFile) return;
    if (profiler === 'waiting' && existsSync(`${profileFile}.start`)) {
      profiler = 'running';
      session = new Session();
      session.connect();
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
    } else if (profiler === 'running' && existsSync(`${profileFile}.stop`)) {
      profiler = 'done';
      session.post('Profiler.stop', (err, result) => {
        if (!err) {
          mkdirSync(dirname(profileFile), { recursive: true });
          writeFileSync(profileFile, JSON.stringify(result.profile));
        }
        session.disconnect();
      });
    }
  }, 1000);
  tick.unref();
}

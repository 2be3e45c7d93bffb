/** The worker's heap growth limit (lifecycle/worker-heap.ts): set unless the operator gave Node their own. */
import { describe, expect, it, vi } from 'vitest';

const setFlagsFromString = vi.fn();
vi.mock('node:v8', () => ({ setFlagsFromString }));
const { limitWorkerHeapGrowth, WORKER_HEAP_GROWTH_PERCENT } = await import('../../src/lifecycle/worker-heap.js');

describe('limitWorkerHeapGrowth', () => {
  it('sets --heap-growing-percent for the worker', () => {
    setFlagsFromString.mockClear();
    expect(limitWorkerHeapGrowth([])).toBe(true);
    expect(setFlagsFromString).toHaveBeenCalledWith(`--heap-growing-percent=${WORKER_HEAP_GROWTH_PERCENT}`);
  });

  it('keeps a value given on Node\'s command line, in either spelling', () => {
    setFlagsFromString.mockClear();
    expect(limitWorkerHeapGrowth(['--heap-growing-percent=50'])).toBe(false);
    expect(limitWorkerHeapGrowth(['--enable-source-maps', '--heap_growing_percent', '40'])).toBe(false);
    expect(setFlagsFromString).not.toHaveBeenCalled();
  });
});

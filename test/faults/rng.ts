/** A seeded pseudo-random generator (mulberry32): the same seed gives the same run plan. */
export interface Rng {
  /** In [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/** The seed CI runs with: the same plan every run. */
export const DEFAULT_SEED = 20_260_101;

/**
 * FAULTS_SEED: a number, or `random` for a fresh one; unset: DEFAULT_SEED.
 * The run prints the seed so that any run can be replayed.
 */
export function seedFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.FAULTS_SEED?.trim();
  if (!raw) return DEFAULT_SEED;
  if (raw !== 'random') {
    const seed = Number(raw);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`FAULTS_SEED must be an integer in [0, 2^32), got ${raw}`);
    return seed;
  }
  return Math.floor(Math.random() * 0xffffffff);
}

/**
 * The setup most test files share, as fixtures: `useRedis()` starts a sandbox
 * Redis before the file's tests and stops it after them; `useTestApp()` builds
 * the real app on it (test/support/app.ts) and closes it. Call them at the top
 * level of a test file; what they return is usable from the first test (and
 * from a later `beforeAll`) on. Hooks run in the order they are registered and
 * are undone in reverse: the app closes before its Redis stops.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type SandboxRedis, type StartRedisOptions } from '../../sandbox/redis.js';
import { buildTestApp, type TestApp } from './app.js';

/** An object whose properties are read from `current()` once it is set; reading earlier fails, naming it. */
function later<T extends object>(name: string): { handle: T; set(value: T | undefined): void; current(): T | undefined } {
  let value: T | undefined;
  const handle = new Proxy({} as T, {
    get(_target, property) {
      if (value === undefined) throw new Error(`${name} is not ready: read it in a test or a beforeAll registered after it`);
      const found = Reflect.get(value, property, value) as unknown;
      return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(value) : found;
    },
  });
  return { handle, set: (v) => { value = v; }, current: () => value };
}

export function useRedis(options?: StartRedisOptions): SandboxRedis {
  const redis = later<SandboxRedis>('useRedis()');
  beforeAll(async () => {
    redis.set(await startRedis(options));
  });
  afterAll(async () => {
    await redis.current()?.stop();
    redis.set(undefined);
  });
  return redis.handle;
}

/** Environment variables for the app, or a function giving them when the app is built (after earlier hooks). */
export type TestAppEnv = Record<string, string> | (() => Record<string, string>);

/** The app on `redis` (a fresh `useRedis()` when not given). */
export function useTestApp(env: TestAppEnv = {}, redis: SandboxRedis = useRedis()): TestApp {
  const t = later<TestApp>('useTestApp()');
  beforeAll(async () => {
    t.set(await buildTestApp(redis.url, typeof env === 'function' ? env() : env));
  });
  afterAll(async () => {
    await t.current()?.close();
    t.set(undefined);
  });
  return t.handle;
}

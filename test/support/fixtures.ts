/**
 * The setup most test files share, as fixtures: `useRedis()` starts a sandbox
 * Redis before the file's tests and stops it after them; `useSandbox()` starts
 * the whole sandbox (Redis, identity platform, Dovecot, SMTP, webhook receiver)
 * and stops it; `useTestApp()` builds the real app on a Redis
 * (test/support/app.ts) and closes it. Call them at the top level of a test
 * file; what they return is usable from the first test (and from a later
 * `beforeAll`) on. Hooks run in the order they are registered and are undone in
 * reverse: the app closes before its Redis or sandbox stops.
 *
 *     const sandbox = useSandbox();
 *     const t = useTestApp(() => ({ ...sandbox.serviceEnv(), POLL_IDLE: 'false' }), () => sandbox.redis);
 */
import { afterAll, beforeAll } from 'vitest';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.js';
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

/** Options for the sandbox, or a function giving them when it starts (after earlier hooks, e.g. one that found a free port for `publicUrl`). */
export type UseSandboxOptions = SandboxOptions | (() => SandboxOptions);

export function useSandbox(options: UseSandboxOptions = {}): Sandbox {
  const sandbox = later<Sandbox>('useSandbox()');
  beforeAll(async () => {
    sandbox.set(await startSandbox(typeof options === 'function' ? options() : options));
  });
  afterAll(async () => {
    await sandbox.current()?.stop();
    sandbox.set(undefined);
  });
  return sandbox.handle;
}

/** Environment variables for the app, or a function giving them when the app is built (after earlier hooks). */
export type TestAppEnv = Record<string, string> | (() => Record<string, string>);

/**
 * The Redis the app uses, or a function giving it when the app is built: `() => sandbox.redis` (a
 * `useSandbox()` handle cannot be read before the sandbox has started, so not at registration).
 */
export type TestAppRedis = SandboxRedis | (() => SandboxRedis);

/** The app on `redis` (a fresh `useRedis()` when not given). */
export function useTestApp(env: TestAppEnv = {}, redis: TestAppRedis = useRedis()): TestApp {
  const t = later<TestApp>('useTestApp()');
  beforeAll(async () => {
    const { url } = typeof redis === 'function' ? redis() : redis;
    t.set(await buildTestApp(url, typeof env === 'function' ? env() : env));
  });
  afterAll(async () => {
    await t.current()?.close();
    t.set(undefined);
  });
  return t.handle;
}

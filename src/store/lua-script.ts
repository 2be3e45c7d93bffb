/**
 * The one loader of the service's Lua scripts. Each script is a file in
 * store/lua/ (as BullMQ keeps its `src/commands/*.lua`), named
 * `<name>-<numkeys>.lua` when it takes a fixed number of keys and `<name>.lua`
 * when the caller decides how many. A line `--- @include "<name>"` is replaced
 * by store/lua/includes/<name>.lua (shared functions); other whole-line `--`
 * comments are left out of the source sent to Redis, so a script's
 * documentation costs nothing per call.
 *
 * A script's file is read on first use, not on import; the build copies
 * store/lua/ beside the compiled code (scripts/copy-lua.mjs), so the same
 * relative path holds from src/ (tsx, vitest) and from dist/ (`npm start`).
 *
 * A script runs by its SHA1 (EVALSHA), loaded on first use or after a Redis
 * restart (NOSCRIPT), so hot paths do not resend the source each call.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from '../adapters/redis/redis.js';

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([\w-]+)"\s*$/;

function read(relative: string): string {
  return readFileSync(new URL(relative, LUA_DIR), 'utf8');
}

/** A script's source as Redis gets it: includes in place, whole-line comments and blank lines left out. */
export function loadLua(name: string, seen: readonly string[] = []): string {
  const lines: string[] = [];
  for (const line of read(seen.length === 0 ? `${name}.lua` : `includes/${name}.lua`).split('\n')) {
    const include = INCLUDE.exec(line.trim());
    if (include) {
      const included = include[1]!;
      if (seen.includes(included)) throw new Error(`Lua include cycle: ${[...seen, name, included].join(' → ')}`);
      lines.push(loadLua(included, [...seen, name]));
    } else if (line.trim() !== '' && !line.trim().startsWith('--')) {
      lines.push(line.trimEnd());
    }
  }
  return lines.join('\n');
}

export class LuaScript {
  /** The number of keys the file name declares; undefined when the caller decides. */
  readonly numberOfKeys: number | undefined;
  /**
   * How many runs found the script not loaded (NOSCRIPT) and sent its source: such a run reaches
   * Redis after commands sent after it (store/poll-claim.ts reads again then).
   */
  loads = 0;
  private loaded: { source: string; sha: string } | undefined;

  /** `name`: the file in store/lua/, without `.lua`. Reads nothing yet. */
  constructor(readonly name: string) {
    const declared = /-(\d+)$/.exec(name)?.[1];
    this.numberOfKeys = declared === undefined ? undefined : Number(declared);
  }

  private load(): { source: string; sha: string } {
    if (!this.loaded) {
      const source = loadLua(this.name);
      this.loaded = { source, sha: createHash('sha1').update(source).digest('hex') };
    }
    return this.loaded;
  }

  get source(): string {
    return this.load().source;
  }

  get sha(): string {
    return this.load().sha;
  }

  /** The keys a call passes, checked against the number the file name declares. */
  keys(keys: readonly string[]): readonly string[] {
    if (this.numberOfKeys !== undefined && keys.length !== this.numberOfKeys) {
      throw new Error(`Lua script ${this.name} takes ${this.numberOfKeys} keys, not ${keys.length}`);
    }
    return keys;
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    this.keys(keys);
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      this.loads += 1;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

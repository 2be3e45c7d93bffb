/**
 * The Redis layer rules (issue 14): every Redis command is sent from the
 * repository layer (src/store, and src/adapters/redis for the connections
 * themselves); elsewhere a Redis client may only be passed along, connected
 * or closed. Lua lives in .lua files (src/store/lua) loaded by
 * src/store/lua-script.ts, never in TypeScript strings.
 *
 * A scan of src/, parsed (not type checked, so it stays quick): a call
 * `<receiver>.<method>(…)` is a Redis command when the method is one of the
 * commands ioredis makes methods of (@ioredis/commands' list, with `call`,
 * `sendCommand` and `pipeline`) and the receiver is named like a Redis client
 * (anything with `redis` in it, `connection`, `node`, `client`, …) or is a
 * `.multi()`/`.pipeline()`. A client passed under another name escapes it:
 * name it like one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { list as ioredisCommands } from '@ioredis/commands';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { loadLua } from '../../src/store/lua-script.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'src');
const LUA_DIR = join(src, 'store', 'lua');

/** Where Redis commands may be sent from. */
const REPOSITORY_LAYER = ['store/', 'adapters/redis/'];

const COMMANDS = new Set([...ioredisCommands, 'call', 'sendcommand', 'pipeline']);
const CLIENT_NAME = /redis|^(connection|blocking|node|master|cluster|transaction|pipeline|multi|tx|client)$/i;

function files(dir: string, ending: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, ending);
    return entry.name.endsWith(ending) ? [path] : [];
  });
}

const sourceFiles = files(src, '.ts').map((path) => ({ path, name: relative(src, path).split(sep).join('/') }));

/** The name a receiver goes by: `redis` in `this.deps.redis`, `multi` in `redis.multi()`. */
function receiverName(node: ts.Expression): string | undefined {
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
    const called = node.expression.name.text;
    return called === 'multi' || called === 'pipeline' ? called : undefined;
  }
  if (ts.isNonNullExpression(node) || ts.isParenthesizedExpression(node)) return receiverName(node.expression);
  return undefined;
}

/** Redis command calls in one file, as `file:line .method()`. */
function redisCommandCalls(name: string, text: string): string[] {
  const file = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const receiver = receiverName(node.expression.expression);
      if (COMMANDS.has(method.toLowerCase()) && receiver !== undefined && CLIENT_NAME.test(receiver)) {
        const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
        found.push(`src/${name}:${line} ${receiver}.${method}()`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const LUA_IN_TS = /redis\.p?call\s*\(/;

describe('the Redis repository layer', () => {
  it('sends every Redis command from src/store or src/adapters/redis', () => {
    const outside = sourceFiles.filter((f) => !REPOSITORY_LAYER.some((layer) => f.name.startsWith(layer)));
    expect(outside.length).toBeGreaterThan(50);
    expect(outside.flatMap((f) => redisCommandCalls(f.name, readFileSync(f.path, 'utf8')))).toEqual([]);
  });

  it('recognises a command call, and not a client passed along or a Map', () => {
    const sample = [
      'await this.redis.zadd(key, 1, "a");',
      'await deps.redis.get(key);',
      'const t = redis.multi(); t.set("a", "1"); redis.multi().incr("n");',
      'await node.ping();',
      'await deps.redis.connect(); redis.duplicate(); this.connection?.disconnect();',
      'map.get(key); logger.info("x"); headers.set("a", "b"); child.call(this);',
      '// redis.get(key) in a comment',
    ].join('\n');
    expect(redisCommandCalls('sample.ts', sample)).toEqual([
      'src/sample.ts:1 redis.zadd()',
      'src/sample.ts:2 redis.get()',
      'src/sample.ts:3 redis.multi()',
      'src/sample.ts:3 multi.incr()',
      'src/sample.ts:3 redis.multi()',
      'src/sample.ts:4 node.ping()',
    ]);
  });
});

describe('Lua', () => {
  it('is never inside a .ts file under src/', () => {
    expect(sourceFiles.filter((f) => LUA_IN_TS.test(readFileSync(f.path, 'utf8'))).map((f) => `src/${f.name}`)).toEqual([]);
  });

  it('every script a LuaScript names loads (includes resolved), and every .lua file is used', () => {
    const named = new Set<string>();
    for (const f of sourceFiles) {
      for (const match of readFileSync(f.path, 'utf8').matchAll(/new LuaScript\('([\w-]+)'\)/g)) named.add(match[1]!);
    }
    expect(named.size).toBeGreaterThan(10);
    for (const name of named) expect(loadLua(name), name).toContain('redis.call(');
    const onDisk = files(LUA_DIR, '.lua').map((path) => relative(LUA_DIR, path).split(sep).join('/'));
    const scripts = onDisk.filter((p) => !p.startsWith('includes/')).map((p) => p.replace(/\.lua$/, ''));
    expect(scripts.filter((s) => !named.has(s))).toEqual([]);
    const included = new Set([...named].flatMap((s) => [...readFileSync(join(LUA_DIR, `${s}.lua`), 'utf8').matchAll(/^--- @include "([\w-]+)"/gm)].map((m) => m[1]!)));
    expect(onDisk.filter((p) => p.startsWith('includes/')).map((p) => p.slice('includes/'.length, -'.lua'.length)).filter((i) => !included.has(i))).toEqual([]);
  });
});

describe('the domain does not speak HTTP', () => {
  it('names fields relative to its input: no request part (/body, /querystring) in a pointer under src/domain', () => {
    const found = sourceFiles
      .filter((file) => file.name.startsWith('domain/'))
      .flatMap((file) => readFileSync(file.path, 'utf8').split('\n').map((line, i) => ({ line, at: `${file.name}:${i + 1}` })))
      .filter(({ line }) => /['"`]\/(body|query|querystring|params)(\/|['"`])/.test(line))
      .map(({ at }) => at);
    expect(found).toEqual([]);
  });
});

/**
 * The container files, checked by rule since no engine (and no hadolint)
 * runs here: the Dockerfiles parsed instruction by instruction, the compose
 * file parsed as YAML (merge keys resolved), and the service's imports held
 * against package.json so `npm ci --omit=dev` is enough at run time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Instruction {
  keyword: string;
  args: string;
  /** Index of the build stage (FROM) it belongs to. */
  stage: number;
}

/** Dockerfile instructions: comments dropped, `\` continuations joined. */
function instructions(file: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += `${line.replace(/\\$/, '').trim()} `;
    if (line.endsWith('\\')) continue;
    const [keyword = '', ...rest] = pending.trim().split(/\s+/);
    pending = '';
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), stage });
  }
  return out;
}

const SECRET_NAME = /(KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL)/i;

function envNames(args: string): string[] {
  // ENV a=1 b=2, or the legacy ENV a 1
  return args.includes('=') ? [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!) : [args.split(/\s+/)[0]!];
}

function commonRules(file: string): Instruction[] {
  const all = instructions(file);
  for (const from of all.filter((i) => i.keyword === 'FROM')) {
    const image = from.args.split(/\s+/)[0]!;
    expect(image, `${file}: base images carry a tag`).toMatch(/[:@]/);
    expect(image, `${file}: no latest base images`).not.toMatch(/:latest$/);
  }
  for (const env of all.filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')) {
    for (const name of envNames(env.args)) expect(name, `${file}: no secrets baked into ${env.keyword}`).not.toMatch(SECRET_NAME);
  }
  expect(all.some((i) => i.keyword === 'HEALTHCHECK'), `${file}: HEALTHCHECK`).toBe(true);
  return all;
}

describe('Dockerfile', () => {
  const all = commonRules('Dockerfile');
  const last = Math.max(...all.map((i) => i.stage));
  const runtime = all.filter((i) => i.stage === last);

  it('is multi-stage, and the runtime stage has production dependencies only', () => {
    expect(last).toBeGreaterThanOrEqual(1);
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.filter((r) => /\bnpm (ci|install|i)\b/.test(r) && !r.includes('--omit=dev'))).toEqual([]);
    expect(runtime.filter((i) => i.keyword === 'COPY' && i.args.includes('--from=')).map((i) => i.args)).toEqual(['--from=build /app/dist ./dist']);
  });

  it('runs as a non-root user, checks /health/live, and starts in exec form', () => {
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args).toContain('/health/live');
    expect(runtime.find((i) => i.keyword === 'CMD')?.args).toMatch(/^\[.*\]$/);
    expect(runtime.find((i) => i.keyword === 'ENV')?.args).toMatch(/\bROLE=/);
  });
});

describe('docker/sandbox.Dockerfile', () => {
  it('pins its base image, bakes in no secrets and says when it is ready', () => {
    const all = commonRules('docker/sandbox.Dockerfile');
    expect(all.filter((i) => i.keyword === 'RUN').some((i) => /dovecot-imapd/.test(i.args) && /redis-server/.test(i.args))).toBe(true);
  });
});

describe('the Node.js the images run', () => {
  /** Node majors with upstream support now: 20 ended on 30 April 2026. */
  const SUPPORTED_MAJOR = 22;

  it.each(['Dockerfile', 'docker/sandbox.Dockerfile'])('%s builds every stage on a supported Node LTS, pinned to its full version', (file) => {
    const images = instructions(file).filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]!);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const pinned = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(-slim)?$/.exec(image);
      expect(pinned, `${file}: ${image} is node:<major>.<minor>.<patch>-<variant>`).not.toBeNull();
      const major = Number(pinned![1]);
      expect(major, `${file}: ${image}`).toBeGreaterThanOrEqual(SUPPORTED_MAJOR);
      expect(major % 2, `${file}: ${image} is an LTS line (even major)`).toBe(0);
    }
  });

  it('package.json still accepts Node 20 for running from source', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toMatch(/^>=\s*20(\.\d+)*$/);
  });
});

describe('.dockerignore', () => {
  it('keeps local secrets, dependencies and history out of the build context', () => {
    const lines = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', '.env.*', 'node_modules', '.git', 'dist']) expect(lines).toContain(entry);
  });
});

describe('docker-compose.yml', () => {
  type Service = { image?: string; build?: unknown; command?: string[] | string; profiles?: string[]; environment?: Record<string, string>; network_mode?: string };
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const { services } = compose;

  it('runs Redis with AOF and noeviction, from a pinned image', () => {
    const command = ([] as string[]).concat(services.redis!.command ?? []).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(services.redis!.image).toMatch(/^redis:\d/);
  });

  it('has an api and a worker service by default, and the sandbox behind its profile', () => {
    expect(services.api?.environment?.ROLE).toBe('api');
    expect(services.worker?.environment?.ROLE).toBe('worker');
    for (const name of ['redis', 'api', 'worker']) expect(services[name]?.profiles, name).toBeUndefined();
    expect(services.sandbox?.profiles).toEqual(['sandbox']);
    expect(services['sandbox-mailsync']?.profiles).toEqual(['sandbox']);
    expect(services['sandbox-mailsync']?.network_mode).toBe('service:sandbox');
  });

  it('publishes the sandbox profile\'s ports on the host\'s loopback only (a public API key, private networks allowed)', () => {
    type PortSpec = string | number | { host_ip?: string; published?: string | number; target?: number };
    const sandboxServices = Object.entries(compose.services).filter(([, service]) => service.profiles?.includes('sandbox'));
    expect(sandboxServices.map(([name]) => name)).toEqual(expect.arrayContaining(['sandbox', 'sandbox-mailsync']));
    const published = sandboxServices.flatMap(([name, service]) => ((service as { ports?: PortSpec[] }).ports ?? []).map((port) => [name, port] as const));
    expect(published.length).toBeGreaterThan(0);
    for (const [name, port] of published) {
      // Short syntax: [host_ip:]host_port:container_port[/protocol]; without host_ip, Docker binds 0.0.0.0 (and ::).
      const hostIp = typeof port === 'object' ? port.host_ip : /^(\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]+\]):\d/.exec(String(port))?.[1];
      expect(hostIp, `${name}: ${JSON.stringify(port)}`).toBe('127.0.0.1');
    }
  });

  it('never writes a production secret into the file', () => {
    for (const name of ['api', 'worker']) {
      const env = services[name]!.environment!;
      expect(env.API_KEYS).toMatch(/^\$\{API_KEYS:\?/);
      expect(env.ENCRYPTION_KEY).toMatch(/^\$\{ENCRYPTION_KEY:\?/);
    }
  });
});

describe('the service imports', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });

  it('need only production dependencies at run time (npm ci --omit=dev)', () => {
    const missing: string[] = [];
    for (const file of files('src')) {
      const source = readFileSync(file, 'utf8');
      // Value imports and re-exports, static and dynamic; `import type` vanishes at build time.
      const specifiers = [
        ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'/gm),
        ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
        ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
      ].map((m) => m[1]!);
      for (const spec of specifiers) {
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) missing.push(`${file}: ${spec}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

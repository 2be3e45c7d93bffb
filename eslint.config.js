// Lint rules: the recommended sets, type-aware, plus the project's own habits
// (no floating promises, no console in the service code: log through pino).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layer rules of the README's "How it is built", as lint zones: a file in `files` may not
 * import what `forbid` names, and may import what `typesOnly` names only with `import type`
 * (a domain port may be described by an adapter's option types; the adapter itself is injected).
 * One zone per file: ESLint does not merge two `no-restricted-imports` settings, the later wins.
 */
const LIBRARIES = ['@azure/msal-node', 'ioredis', 'bullmq', 'imapflow', 'nodemailer', 'mailparser', 'undici'];
const FRAMEWORK = ['fastify', 'fastify-plugin', '@fastify/*', 'pino', 'prom-client'];
/** Wire-format schemas: they live with HTTP (http/schemas/), the domain declares plain types. */
const SCHEMAS = ['typebox', '@sinclair/typebox'];
const ENTRY = ['**/app.js', '**/container.js', '**/server.js', '**/main.js'];
const LAYERS = {
  domain: ['**/domain/**'],
  adapters: ['**/adapters/**'],
  http: ['**/http/**'],
  jobs: ['**/jobs/**'],
  wiring: ['**/wiring/**'],
  roles: ['**/roles/**'],
  store: ['**/store/**'],
  observability: ['**/observability/**'],
};
const ZONES = [
  {
    files: ['src/domain/**/*.ts'],
    why: 'the domain declares its ports (ports.ts) and gets adapters and repositories injected; it knows no framework, schema library, job, route or role',
    forbid: [...LIBRARIES, ...FRAMEWORK, ...SCHEMAS, ...ENTRY, ...LAYERS.http, ...LAYERS.jobs, ...LAYERS.wiring, ...LAYERS.roles],
    typesOnly: [...LAYERS.adapters, ...LAYERS.observability, ...LAYERS.store],
  },
  {
    files: ['src/errors/**/*.ts', 'src/config/**/*.ts', 'src/crypto/**/*.ts'],
    why: 'errors, config and crypto sit below every layer',
    forbid: [...LIBRARIES, ...FRAMEWORK, ...ENTRY, ...LAYERS.adapters, ...LAYERS.http, ...LAYERS.jobs, ...LAYERS.wiring, ...LAYERS.roles, ...LAYERS.store],
    typesOnly: LAYERS.domain,
  },
  {
    files: ['src/adapters/**/*.ts'],
    why: 'adapters implement the domain\'s ports; they are not wired, routed or scheduled from inside',
    forbid: [...ENTRY, ...LAYERS.http, ...LAYERS.jobs, ...LAYERS.wiring, ...LAYERS.roles, ...LAYERS.store],
    typesOnly: [],
  },
  {
    files: ['src/store/**/*.ts'],
    why: 'the store keeps records in Redis through the redis adapter; it serves the domain, not the HTTP or job layers',
    forbid: [...LIBRARIES, ...FRAMEWORK, ...ENTRY, ...LAYERS.http, ...LAYERS.jobs, ...LAYERS.wiring, ...LAYERS.roles],
    typesOnly: [],
  },
  {
    files: ['src/roles/**/*.ts', 'src/jobs/**/*.ts'],
    why: 'roles and jobs run the domain; the HTTP layer and the assembly are above them',
    forbid: [...LIBRARIES, 'fastify', 'fastify-plugin', '@fastify/*', ...ENTRY, ...LAYERS.http, ...LAYERS.wiring],
    typesOnly: [],
  },
  {
    files: ['src/http/**/*.ts'],
    why: 'routes call the domain; the libraries are reached through adapters, assembled by the wiring',
    forbid: [...LIBRARIES, '**/server.js', '**/main.js', ...LAYERS.wiring],
    typesOnly: [...LAYERS.adapters, ...LAYERS.jobs],
  },
];

const zoneRules = ZONES.map(({ files, why, forbid, typesOnly }) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', {
      patterns: [
        ...(forbid.length ? [{ group: forbid, message: `Layer rule (README, How it is built): ${why}.` }] : []),
        ...(typesOnly.length ? [{ group: typesOnly, allowTypeImports: true, message: `Layer rule (README, How it is built): ${why}; only \`import type\` from here.` }] : []),
      ],
    }],
  },
}));

export default tseslint.config(
  // The client's schema is generated (npm run client:generate): type-checked, not linted.
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.sandbox/**', '.tmp/**', 'clients/*/dist/**', 'clients/typescript/src/schema.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The console's browser modules (served as they are, no build step): the browser's globals.
    files: ['console/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'navigator', 'sessionStorage', 'fetch', 'URL', 'Node', 'setTimeout', 'clearTimeout', 'confirm']
        .map((name) => [name, 'readonly'])),
    },
    rules: { eqeqeq: ['error', 'always'], 'no-console': 'error' },
  },
  ...zoneRules,
);

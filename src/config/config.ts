/**
 * The service's configuration: read from the environment only, validated
 * against one table at start. `loadConfig` is pure (it reads the object it is
 * given) and returns a frozen, typed config, or throws a ConfigError that
 * names the first bad variable and says what is expected.
 */
import { parseApiKey, type ApiKey } from './api-keys.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';
import { DEFAULT_AUTHORITY_HOSTS, DEFAULT_MAIL_HOSTS, hostAllowlist, parseHostAllowlist, type HostAllowlist } from './host-allowlist.js';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors/errors.js';
import {
  EnvValueError,
  parseAbsolutePath, parseBoolean,
  parseEnum,
  parseInteger,
  parseKey32,
  parseList,
  parseString,
  parseUrl,
} from './env-spec.js';
import { DEFAULT_POLL_SHARDS, MAX_POLL_SHARDS } from './poll-shards.js';
import { loadActionsConfig, type ActionsConfig } from './actions-config.js';
import { loadLoginConfig, type LoginConfig } from './login-config.js';
import { loadMessagesConfig, type MessagesConfig } from './messages-config.js';
import { loadRedisConfig, type RedisConfig } from './redis-config.js';
import { loadSendingConfig, type SendingConfig } from './sending-config.js';
import { loadWebhooksConfig, type WebhooksConfig } from './webhooks-config.js';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys shorter than this are refused: an API key is a bearer credential. */
export const MIN_API_KEY_LENGTH = 16;

export interface Config {
  role: Role;
  host: string;
  port: number;
  /**
   * ROLE=worker listens (for /health and /metrics only) when PORT is set: left unset, several
   * workers on one host do not fight over the default port. The api and all roles always listen.
   */
  workerListens: boolean;
  publicUrl: URL;
  logLevel: LogLevel;
  /** One server (REDIS_URL), a Redis Cluster or Sentinel: see redis-config.ts. */
  redis: RedisConfig;
  /** Bearer keys for /v1 and their scopes (config/api-keys.ts). */
  apiKeys: readonly ApiKey[];
  encryption: {
    key: Buffer;
    previousKeys: readonly Buffer[];
    /** True when no ENCRYPTION_KEY was given and the sandbox made one up for this process. */
    ephemeral: boolean;
  };
  http: {
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    /** Which proxies' X-Forwarded-For to believe for the client address (TRUST_PROXY). */
    trustProxy: TrustProxy;
    /** Requests per minute one client address may make to the routes without an API key; 0: unlimited. */
    publicRatePerMinute: number;
    /** Sign-ins started per minute in all (each stores a record for 10 minutes); 0: unlimited. */
    signInStartsPerMinute: number;
  };
  outbound: {
    httpsProxy: URL | undefined;
    extraCaFile: string | undefined;
    /** Hosts a connection's client secret may be sent to (AUTHORITY_HOST_ALLOWLIST). */
    authorityHosts: HostAllowlist;
    /** Hosts a mailbox's access token may be sent to: its IMAP and SMTP servers (MAIL_HOST_ALLOWLIST). */
    mailHosts: HostAllowlist;
    /**
     * AZURE_FEDERATED_TOKEN_FILE: the token file of federated connections that name none (workload
     * identity; Azure Workload Identity sets it in the pod). Read for each token request, not at start.
     */
    federatedTokenFile: string | undefined;
  };
  polling: {
    minIntervalSeconds: number;
    /** Polls one worker process runs at once. */
    concurrency: number;
    /** Poll shards (POLL_SHARDS): the schedule, poll queues and poll locks are cut into this many, each under its own hash tag. */
    shards: number;
    /** How often a worker reads the live workers to see which poll shards it owns (ms). */
    shardLookMs: number;
    /** Keep IMAP sessions open between polls for mailboxes polled at least this often (s); 0 disables. */
    keepSessionsUnderSeconds: number;
    /** Listen with IMAP IDLE on kept sessions, for new mail within about a second. */
    idle: boolean;
    /** Most IMAP sessions one worker process keeps open. */
    maxSessions: number;
    /** Polls in flight at once per Entra tenant, across all workers; 0: no limit. */
    tenantConcurrency: number;
    /** A tracked folder's flags are all FETCHed at least this often (s); between, searches look (0: always FETCH). */
    trackFullLookSeconds: number;
  };
  webhooks: WebhooksConfig;
  connections: {
    /** How often each worker looks for credentials about to expire (CREDENTIAL_EXPIRY_CHECK_MS, ms). */
    expiryCheckMs: number;
  };
  /** The Microsoft sign-in provider (LOGIN_RETURN_TO_ALLOWLIST). */
  login: LoginConfig;
  /** Size limits of the mail reading API (MESSAGE_PARSE_MAX_BYTES, MESSAGE_RAW_MAX_BYTES). */
  messages: MessagesConfig;
  /** IMAP sessions kept for acting on mail (ACTION_MAX_SESSIONS, ACTION_SESSION_IDLE_SECONDS). */
  actions: ActionsConfig;
  /** Sending (POST /v1/send): limits, rate limits, retries, pooling, retention (SEND_*). */
  sending: SendingConfig;
  shutdownTimeoutMs: number;
  metrics: { requireApiKey: boolean };
  sandbox: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

function read<T>(env: Env, name: string, parse: (raw: string) => T): T | undefined;
function read<T>(env: Env, name: string, parse: (raw: string) => T, fallback: T): T;
function read<T>(env: Env, name: string, parse: (raw: string) => T, fallback?: T): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof EnvValueError) throw new ConfigError(name, err.message);
    throw err;
  }
}

function required<T>(env: Env, name: string, parse: (raw: string) => T, expected: string): T {
  const value = read(env, name, parse);
  if (value === undefined) throw new ConfigError(name, `is required: ${expected}`);
  return value;
}

function loadApiKeys(env: Env, role: Role): ApiKey[] {
  const keys = read(env, 'API_KEYS', (raw) => parseList(raw).map(parseApiKey), []);
  if (role !== 'worker' && keys.length === 0) {
    throw new ConfigError('API_KEYS', 'is required: one or more comma-separated bearer keys for /v1');
  }
  const short = keys.find(({ key }) => key.length < MIN_API_KEY_LENGTH);
  if (short !== undefined) {
    throw new ConfigError('API_KEYS', `must hold keys of at least ${MIN_API_KEY_LENGTH} characters each`);
  }
  return keys;
}

function loadEncryption(env: Env, sandbox: boolean): Config['encryption'] {
  const previousKeys = read(env, 'ENCRYPTION_KEY_PREVIOUS', (raw) => parseList(raw).map(parseKey32), []);
  const key = sandbox
    ? read(env, 'ENCRYPTION_KEY', parseKey32)
    : required(env, 'ENCRYPTION_KEY', parseKey32, '32 random bytes in base64 (openssl rand -base64 32)');
  if (key) return { key, previousKeys, ephemeral: false };
  return { key: randomBytes(32), previousKeys, ephemeral: true };
}

export function loadConfig(env: Env): Config {
  const sandbox = read(env, 'SANDBOX', parseBoolean, false);
  const role = read(env, 'ROLE', parseEnum(ROLES), 'all');
  const port = read(env, 'PORT', parseInteger(0, 65535), 3000);
  const host = read(env, 'HOST', parseString, '0.0.0.0');
  const config: Config = {
    role,
    host,
    port,
    workerListens: read(env, 'PORT', parseInteger(0, 65535)) !== undefined,
    publicUrl: read(env, 'PUBLIC_URL', parseUrl(['http', 'https']), new URL(`http://localhost:${port}`)),
    logLevel: read(env, 'LOG_LEVEL', parseEnum(LOG_LEVELS), 'info'),
    redis: loadRedisConfig((name, parse) => read(env, name, parse)),
    apiKeys: loadApiKeys(env, role),
    encryption: loadEncryption(env, sandbox),
    http: {
      bodyLimitBytes: read(env, 'HTTP_BODY_LIMIT_BYTES', parseInteger(1024, 64 * 1024 * 1024), 1024 * 1024),
      requestTimeoutMs: read(env, 'HTTP_REQUEST_TIMEOUT_MS', parseInteger(1000, 600_000), 60_000),
      trustProxy: read(env, 'TRUST_PROXY', parseTrustProxy, false),
      publicRatePerMinute: read(env, 'PUBLIC_RATE_LIMIT_PER_MINUTE', parseInteger(0, 1_000_000), 60),
      signInStartsPerMinute: read(env, 'SIGN_IN_STARTS_PER_MINUTE', parseInteger(0, 1_000_000), 600),
    },
    outbound: {
      httpsProxy: read(env, 'HTTPS_PROXY', parseUrl(['http', 'https'])) ?? read(env, 'https_proxy', parseUrl(['http', 'https'])),
      extraCaFile: read(env, 'NODE_EXTRA_CA_CERTS', parseString),
      authorityHosts: read(env, 'AUTHORITY_HOST_ALLOWLIST', parseHostAllowlist, hostAllowlist(DEFAULT_AUTHORITY_HOSTS)),
      mailHosts: read(env, 'MAIL_HOST_ALLOWLIST', parseHostAllowlist, hostAllowlist(DEFAULT_MAIL_HOSTS)),
      federatedTokenFile: read(env, 'AZURE_FEDERATED_TOKEN_FILE', parseAbsolutePath),
    },
    polling: {
      minIntervalSeconds: read(env, 'POLL_MIN_INTERVAL_SECONDS', parseInteger(1, 86_400), 30),
      concurrency: read(env, 'POLL_CONCURRENCY', parseInteger(1, 1000), 50),
      shards: read(env, 'POLL_SHARDS', parseInteger(1, MAX_POLL_SHARDS), DEFAULT_POLL_SHARDS),
      shardLookMs: read(env, 'POLL_SHARD_LOOK_MS', parseInteger(100, 60_000), 2_000),
      keepSessionsUnderSeconds: read(env, 'POLL_KEEP_SESSIONS_UNDER_SECONDS', parseInteger(0, 3600), 300),
      idle: read(env, 'POLL_IDLE', parseBoolean, true),
      maxSessions: read(env, 'IMAP_MAX_SESSIONS', parseInteger(1, 100_000), 2000),
      tenantConcurrency: read(env, 'POLL_TENANT_CONCURRENCY', parseInteger(0, 10_000), 0),
      trackFullLookSeconds: read(env, 'POLL_TRACK_FULL_LOOK_SECONDS', parseInteger(0, 86_400), 900),
    },
    webhooks: loadWebhooksConfig((name, parse, fallback) => read(env, name, parse, fallback)),
    connections: { expiryCheckMs: read(env, 'CREDENTIAL_EXPIRY_CHECK_MS', parseInteger(100, 86_400_000), 3_600_000) },
    login: loadLoginConfig((name, parse, fallback) => read(env, name, parse, fallback)),
    messages: loadMessagesConfig((name, parse, fallback) => read(env, name, parse, fallback)),
    actions: loadActionsConfig((name, parse, fallback) => read(env, name, parse, fallback)),
    sending: loadSendingConfig((name, parse, fallback) => read(env, name, parse, fallback)),
    shutdownTimeoutMs: read(env, 'SHUTDOWN_TIMEOUT_MS', parseInteger(100, 600_000), 10_000),
    metrics: { requireApiKey: read(env, 'METRICS_REQUIRE_API_KEY', parseBoolean, false) },
    sandbox,
  };
  return Object.freeze(config);
}

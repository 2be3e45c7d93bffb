/**
 * The whole local sandbox of Microsoft 365, started on free loopback ports in
 * a temp dir, seeded with one tenant, two app registrations and two users:
 *
 * - Redis (REDIS_URL, a container, or a redis-server child);
 * - the identity platform imitation (HTTPS, test CA);
 * - Dovecot with OAuth2 (IMAPS), standing in for outlook.office365.com:993;
 * - the SMTP server, standing in for smtp.office365.com:587 (STARTTLS, XOAUTH2);
 * - a webhook receiver that verifies Standard Webhooks signatures.
 *
 * Tests, the demo and the benchmarks share it; `npm run sandbox` runs it alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDovecot, type SandboxDovecot } from './dovecot.js';
import { MailboxPermissions } from './mailbox-permissions.js';
import { startIdentity, type IdentityServer } from './identity/index.js';
import { loadOrCreatePki, type SandboxPki } from './pki.js';
import { DEFAULT_AUTHORITY_HOSTS, DEFAULT_MAIL_HOSTS } from '../src/config/host-allowlist.js';
import { startRedis, type SandboxRedis, type StartRedisOptions } from './redis.js';
import { startSmtp, type SandboxSmtp } from './smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

/** The seeded directory: what a tenant admin would have set up by following the guide. */
export const SANDBOX_TENANT = {
  id: '5a4d1b7e-0000-4000-8000-00000000c0de',
  domain: 'contoso.example',
} as const;

export const SANDBOX_APP_ONLY = {
  clientId: '0a1b2c3d-0000-4000-8000-000000000001',
  secretId: '7f0e1d2c-0000-4000-8000-0000000000a1',
  secret: 'Sbx8Q~app-only-client-secret-value-01',
} as const;

export const SANDBOX_DELEGATED = {
  clientId: '0a1b2c3d-0000-4000-8000-000000000002',
  secretId: '7f0e1d2c-0000-4000-8000-0000000000a2',
  secret: 'Sbx8Q~delegated-client-secret-value-02',
} as const;

export const SANDBOX_USERS = {
  support: 'support@contoso.example',
  alice: 'alice@contoso.example',
} as const;

export interface SandboxOptions {
  /** Where the PKI and Dovecot live; default a fresh temp dir, removed on stop. */
  dir?: string;
  /** The service's public URL, to register its OAuth callback as a redirect URI. */
  publicUrl?: string;
  /** Concurrent IMAP connections Dovecot allows (benchmarks). */
  imapConnections?: number;
  /** How Redis is started (fault tests: a redis-server child with AOF in a fixed dir). */
  redis?: StartRedisOptions;
}

export interface Sandbox {
  dir: string;
  pki: SandboxPki;
  redis: SandboxRedis;
  identity: IdentityServer;
  dovecot: SandboxDovecot;
  smtp: SandboxSmtp;
  receiver: WebhookReceiver;
  /** Exchange's Full Access permissions on shared mailboxes (SMTP and the IMAP front read them). */
  permissions: MailboxPermissions;
  /** Environment variables that point the service at this sandbox. */
  serviceEnv(): Record<string, string>;
  /** `imap`/`smtp` overrides for a mailbox served by this sandbox. */
  mailServers(): { imap: { host: string; port: number; secure: boolean }; smtp: { host: string; port: number; secure: boolean } };
  stop(): Promise<void>;
}

/** The hosts the sandbox's servers answer on: the service must be allowed to send them secrets (beside Microsoft's). */
export const SANDBOX_HOSTS = ['127.0.0.1', 'localhost'];

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'mailsync-sandbox-')));
  const ownsDir = options.dir === undefined;
  const pki = await loadOrCreatePki(join(dir, 'pki'));
  const started: { stop(): Promise<void> }[] = [];
  try {
    const redis = await startRedis(options.redis);
    started.push(redis);
    const permissions = new MailboxPermissions();
    const identity = await startIdentity({ pki });
    started.push({ stop: () => identity.close() });
    const dovecot = await startDovecot({ pki, ...(options.imapConnections ? { maxConnections: options.imapConnections } : {}) });
    started.push(dovecot);
    const smtp = await startSmtp({ pki, permissions });
    started.push(smtp);
    const receiver = await startWebhookReceiver();
    started.push({ stop: () => receiver.close() });

    seedDirectory(identity, options.publicUrl);
    return {
      dir,
      pki,
      redis,
      identity,
      dovecot,
      smtp,
      receiver,
      permissions,
      serviceEnv: () => ({
        REDIS_URL: redis.url,
        NODE_EXTRA_CA_CERTS: pki.caCertFile,
        POLL_MIN_INTERVAL_SECONDS: '1',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        // The sandbox's identity platform and mail servers are on this machine.
        AUTHORITY_HOST_ALLOWLIST: [...DEFAULT_AUTHORITY_HOSTS, ...SANDBOX_HOSTS].join(','),
        MAIL_HOST_ALLOWLIST: [...DEFAULT_MAIL_HOSTS, ...SANDBOX_HOSTS].join(','),
      }),
      mailServers: () => ({
        imap: { host: '127.0.0.1', port: dovecot.port, secure: true },
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false },
      }),
      stop: async () => {
        for (const service of started.reverse()) await service.stop().catch(() => undefined);
        if (ownsDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    throw err;
  }
}

function seedDirectory(identity: IdentityServer, publicUrl: string | undefined): void {
  identity.addTenant({ id: SANDBOX_TENANT.id, domains: [SANDBOX_TENANT.domain] });
  identity.addApp({
    clientId: SANDBOX_APP_ONLY.clientId,
    homeTenantId: SANDBOX_TENANT.id,
    secrets: [{ id: SANDBOX_APP_ONLY.secretId, value: SANDBOX_APP_ONLY.secret }],
    appRoles: ['IMAP.AccessAsApp', 'SMTP.SendAsApp'],
  });
  identity.addApp({
    clientId: SANDBOX_DELEGATED.clientId,
    homeTenantId: SANDBOX_TENANT.id,
    secrets: [{ id: SANDBOX_DELEGATED.secretId, value: SANDBOX_DELEGATED.secret }],
    redirectUris: publicUrl ? [`${publicUrl.replace(/\/$/, '')}/v1/oauth/callback`] : [],
  });
  identity.addUser({ upn: SANDBOX_USERS.support, tenantId: SANDBOX_TENANT.id, name: 'Contoso Support' });
  identity.addUser({ upn: SANDBOX_USERS.alice, tenantId: SANDBOX_TENANT.id, name: 'Alice' });
}

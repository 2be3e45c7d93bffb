/**
 * Connections: an Entra app registration (tenant, client id) and its one
 * credential: a client secret, a certificate, or a federated token file.
 * A secret and a certificate's private key are encrypted before they reach
 * the store and never leave the service; views carry a secret's last four
 * characters and a certificate's thumbprint and expiry.
 */
import type { Cipher } from '../../crypto/envelope.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/errors.js';
import type { JsonStore } from '../../store/json-store.js';
import { DEFAULT_PAGE_LIMIT, invalidCursor, type PageQueryT, type PageT } from '../paging.js';
import type { HostAllowlist } from '../../config/host-allowlist.js';
import { assertAuthorityHostAllowed, checkAuthorityHostInput } from '../hosts/host-policy.js';
import { newId } from '../ids.js';
import type { ClientCredential } from './client-credential.js';
import { EXPIRY_FOR_SECRETS_ONLY, readExpiresAt, type CredentialContext, type ReadCredential } from './credential-input.js';
import type { ConnectionViewT, ConsentedTenantT, CreateConnectionInput, CredentialType, CredentialViewT, UpdateConnectionInput } from './model.js';
import { authorityOf, connectionTenant, normaliseAuthorityHost, normaliseLoginReturnTo, validateCreate, validateCredential } from './validate.js';
import { federatedTokenFileMissing } from './client-credential.js';

/** A certificate credential as stored: the key encrypted, the rest public. */
export interface StoredCertificate {
  /** AES-256-GCM envelope of the PKCS#8 PEM private key, associated data `connection:<id>:certificateKey`. */
  privateKey: string;
  chainPem: string;
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: string;
  expiresAt: string;
}

export interface ConnectionRecord {
  id: string;
  name: string;
  flow: 'app_only' | 'delegated';
  tenantId: string | null;
  clientId: string;
  authorityHost: string;
  personalAccounts: boolean;
  /** Absent on records stored before certificates: a secret. */
  credentialType?: CredentialType;
  /** Secrets: AES-256-GCM envelope, associated data `connection:<id>:clientSecret`. */
  clientSecret?: string;
  clientSecretHint?: string;
  /** Secrets: when the secret expires, as given (ISO 8601 UTC); absent: unknown. */
  secretExpiresAt?: string;
  certificate?: StoredCertificate;
  /** Federated: the token file; null: AZURE_FEDERATED_TOKEN_FILE. */
  federated?: { tokenFile: string | null };
  /** The sign-in provider's own allow-list for this connection (normalised rules); absent or null: LOGIN_RETURN_TO_ALLOWLIST. */
  loginReturnTo?: string[] | null;
  /** Tenants whose administrator granted admin consent (newest consent of each), at most MAX_CONSENTED_TENANTS. */
  consentedTenants?: ConsentedTenantT[];
  secretUpdatedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ConnectionServiceDeps {
  store: JsonStore<ConnectionRecord>;
  cipher: Cipher;
  now?: () => Date;
  /** How many mailboxes use a connection; deleting a used connection is refused. */
  mailboxesUsing?: (connectionId: string) => Promise<number>;
  /** Where client secrets may be sent (AUTHORITY_HOST_ALLOWLIST). */
  authorityHosts: HostAllowlist;
  /** AZURE_FEDERATED_TOKEN_FILE: the token file of federated connections that name none. */
  federatedTokenFile?: string | undefined;
}

export const secretAad = (id: string): string => `connection:${id}:clientSecret`;
export const certificateKeyAad = (id: string): string => `connection:${id}:certificateKey`;

export function credentialTypeOf(record: Pick<ConnectionRecord, 'credentialType'>): CredentialType {
  return record.credentialType ?? 'secret';
}

/** A connection's credential that expires, and when: a certificate's, or a secret's when its expiry was given. */
export interface CredentialExpiry {
  connectionId: string;
  name: string;
  type: 'secret' | 'certificate';
  expiresAt: string;
}

export function credentialExpiryOf(record: ConnectionRecord): CredentialExpiry | undefined {
  const type = credentialTypeOf(record);
  const base = { connectionId: record.id, name: record.name };
  if (type === 'certificate' && record.certificate) return { ...base, type, expiresAt: record.certificate.expiresAt };
  if (type === 'secret' && record.secretExpiresAt !== undefined) return { ...base, type, expiresAt: record.secretExpiresAt };
  return undefined;
}

/** A connection lists this many consenting tenants at most (the oldest consent goes first). */
export const MAX_CONSENTED_TENANTS = 1000;

export function credentialView(record: ConnectionRecord): CredentialViewT {
  const type = credentialTypeOf(record);
  if (type === 'certificate' && record.certificate) {
    return { type, thumbprint: record.certificate.thumbprint, expiresAt: record.certificate.expiresAt };
  }
  if (type === 'federated' && record.federated?.tokenFile) return { type, tokenFile: record.federated.tokenFile };
  if (type === 'secret' && record.secretExpiresAt !== undefined) return { type, expiresAt: record.secretExpiresAt };
  return { type };
}

export function toView(record: ConnectionRecord): ConnectionViewT {
  return {
    id: record.id,
    name: record.name,
    flow: record.flow,
    tenantId: record.tenantId,
    clientId: record.clientId,
    authorityHost: record.authorityHost,
    authority: authorityOf(record),
    // Records stored before the hint was the bare last 4 characters carry an ellipsis in front.
    ...(credentialTypeOf(record) === 'secret' && record.clientSecretHint !== undefined ? { clientSecretHint: record.clientSecretHint.replace(/^…/, '') } : {}),
    credential: credentialView(record),
    consentedTenants: record.consentedTenants ?? [],
    loginReturnTo: record.loginReturnTo ?? null,
    secretUpdatedAt: record.secretUpdatedAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The record without the fields a rotation cleared (JSON drops them anyway; this keeps records equal to what is read back). */
function withoutUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}

/** PATCH credentialExpiresAt alone: the current secret's expiry (null: unknown); refused for other credentials. */
function expiryOfCurrentSecret(current: ConnectionRecord, value: string | null): string | undefined {
  if (credentialTypeOf(current) !== 'secret') {
    const { field, message, hint } = EXPIRY_FOR_SECRETS_ONLY;
    throw new ValidationError(`${field.slice(1)} ${message}.`, [{ field, message }], hint);
  }
  return value === null ? undefined : readExpiresAt(value).expiresAt;
}

/** The last 4 characters of the secret (Microsoft's secrets are 40 characters): enough to tell two apart. */
const hintOf = (secret: string): string => secret.slice(-4);

export class ConnectionService {
  private readonly now: () => Date;

  constructor(private readonly deps: ConnectionServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private context(): CredentialContext {
    return { now: this.now(), federatedTokenFile: this.deps.federatedTokenFile };
  }

  /** The stored fields of a credential; the ones of every other kind are cleared. */
  private stored(id: string, credential: ReadCredential): Pick<ConnectionRecord, 'credentialType' | 'clientSecret' | 'clientSecretHint' | 'secretExpiresAt' | 'certificate' | 'federated'> {
    const none = { clientSecret: undefined, clientSecretHint: undefined, secretExpiresAt: undefined, certificate: undefined, federated: undefined };
    if (credential.type === 'secret') {
      return {
        ...none,
        credentialType: 'secret',
        clientSecret: this.deps.cipher.encrypt(credential.clientSecret, secretAad(id)),
        clientSecretHint: hintOf(credential.clientSecret),
        secretExpiresAt: credential.expiresAt ?? undefined,
      };
    }
    if (credential.type === 'federated') return { ...none, credentialType: 'federated', federated: { tokenFile: credential.tokenFile } };
    const { privateKeyPem, ...rest } = credential.certificate;
    return { ...none, credentialType: 'certificate', certificate: { privateKey: this.deps.cipher.encrypt(privateKeyPem, certificateKeyAad(id)), ...rest } };
  }

  async create(input: CreateConnectionInput): Promise<ConnectionViewT> {
    const credential = validateCreate(input, this.context());
    const authorityHost = normaliseAuthorityHost(input.authorityHost);
    checkAuthorityHostInput(authorityHost, this.deps.authorityHosts);
    const id = newId('con');
    const at = this.now().toISOString();
    const record: ConnectionRecord = {
      id,
      name: input.name,
      flow: input.flow,
      tenantId: connectionTenant(input),
      clientId: input.clientId.toLowerCase(),
      authorityHost,
      personalAccounts: input.personalAccounts ?? false,
      ...withoutUndefined(this.stored(id, credential)),
      loginReturnTo: normaliseLoginReturnTo(input.loginReturnTo ?? null),
      secretUpdatedAt: at,
      createdAt: at,
      updatedAt: at,
    };
    await this.deps.store.create(record);
    return toView(record);
  }

  /** A page of connections in creation order (domain/paging.ts). */
  async list(query: PageQueryT): Promise<PageT<ConnectionViewT>> {
    const page = await this.deps.store.page({ limit: query.limit ?? DEFAULT_PAGE_LIMIT, cursor: query.cursor });
    if (page === 'invalid_cursor') throw invalidCursor();
    return { items: page.records.map(toView), nextCursor: page.nextCursor };
  }

  async get(id: string): Promise<ConnectionViewT> {
    return toView(await this.record(id));
  }

  async record(id: string): Promise<ConnectionRecord> {
    const record = await this.deps.store.get(id);
    if (!record) throw new NotFoundError('Connection', id);
    return record;
  }

  /** The connection with its decrypted credential, for the token service only. */
  async credentials(id: string): Promise<{ connection: ConnectionRecord; credential: ClientCredential }> {
    const connection = await this.record(id);
    assertAuthorityHostAllowed(connection, this.deps.authorityHosts);
    return { connection, credential: this.credentialOf(connection) };
  }

  private credentialOf(connection: ConnectionRecord): ClientCredential {
    const type = credentialTypeOf(connection);
    if (type === 'certificate' && connection.certificate) {
      const { privateKey, chainPem, thumbprintSha256 } = connection.certificate;
      return { type, thumbprintSha256, x5c: chainPem, privateKey: this.deps.cipher.decryptText(privateKey, certificateKeyAad(connection.id)) };
    }
    if (type === 'federated') {
      const tokenFile = connection.federated?.tokenFile ?? this.deps.federatedTokenFile;
      if (tokenFile === undefined) throw federatedTokenFileMissing();
      return { type, tokenFile };
    }
    return { type: 'secret', clientSecret: this.deps.cipher.decryptText(connection.clientSecret ?? '', secretAad(connection.id)) };
  }

  /**
   * Renames, rotates the credential (a new secret, certificate or token file, of the same kind or
   * another), or sets the sign-in allow-list (null: back to LOGIN_RETURN_TO_ALLOWLIST). Rotation does
   * not touch cached tokens: a token issued with the old credential stays valid until it expires, so
   * mailboxes keep working while the new credential takes over.
   */
  async update(id: string, patch: UpdateConnectionInput): Promise<ConnectionViewT> {
    const credential = validateCredential(patch, this.context());
    const loginReturnTo = patch.loginReturnTo === undefined ? undefined : normaliseLoginReturnTo(patch.loginReturnTo);
    const at = this.now().toISOString();
    const updated = await this.deps.store.update(id, (current) => withoutUndefined({
      ...current,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(loginReturnTo !== undefined ? { loginReturnTo } : {}),
      ...(credential ? { ...this.stored(id, credential), secretUpdatedAt: at } : {}),
      ...(!credential && patch.credentialExpiresAt !== undefined ? { secretExpiresAt: expiryOfCurrentSecret(current, patch.credentialExpiresAt) } : {}),
      updatedAt: at,
    }));
    if (!updated) throw new NotFoundError('Connection', id);
    return toView(updated);
  }

  /** Lists the tenant on the connection (once; a new consent moves it to the end with its new time). */
  async recordConsent(id: string, tenantId: string): Promise<ConnectionRecord> {
    const at = this.now().toISOString();
    const updated = await this.deps.store.update(id, (current) => {
      const others = (current.consentedTenants ?? []).filter((t) => t.tenantId.toLowerCase() !== tenantId.toLowerCase());
      return { ...current, consentedTenants: [...others, { tenantId, at }].slice(-MAX_CONSENTED_TENANTS), updatedAt: at };
    });
    if (!updated) throw new NotFoundError('Connection', id);
    return updated;
  }

  /** Every connection's expiring credential, read a page at a time (connections are few: app registrations). */
  async expiries(): Promise<CredentialExpiry[]> {
    const found: CredentialExpiry[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.page({ limit: 500, cursor });
      if (page === 'invalid_cursor') break;
      for (const record of page.records) {
        const expiry = credentialExpiryOf(record);
        if (expiry) found.push(expiry);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return found;
  }

  async delete(id: string): Promise<void> {
    const used = (await this.deps.mailboxesUsing?.(id)) ?? 0;
    if (used > 0) {
      throw new ConflictError(`Connection ${id} is used by ${used} mailbox(es).`, 'Delete or move those mailboxes first.');
    }
    if (!(await this.deps.store.delete(id))) throw new NotFoundError('Connection', id);
  }
}

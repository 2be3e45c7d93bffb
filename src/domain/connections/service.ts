/**
 * Connections: an Entra app registration (tenant, client id, client secret).
 * The secret is encrypted before it reaches the store and never leaves the
 * service; views carry only its last four characters.
 */
import type { Cipher } from '../../crypto/envelope.js';
import { ConflictError, NotFoundError } from '../../errors/errors.js';
import type { JsonStore } from '../../store/json-store.js';
import { DEFAULT_PAGE_LIMIT, invalidCursor, type PageQueryT, type PageT } from '../paging.js';
import type { HostAllowlist } from '../../config/host-allowlist.js';
import { assertAuthorityHostAllowed, checkAuthorityHostInput } from '../hosts/host-policy.js';
import { newId } from '../ids.js';
import type { ConnectionViewT, CreateConnectionInput, UpdateConnectionInput } from './model.js';
import { authorityOf, normaliseAuthorityHost, normaliseLoginReturnTo, validateCreate, validateSecret } from './validate.js';

export interface ConnectionRecord {
  id: string;
  name: string;
  flow: 'app_only' | 'delegated';
  tenantId: string | null;
  clientId: string;
  authorityHost: string;
  personalAccounts: boolean;
  /** AES-256-GCM envelope, associated data `connection:<id>:clientSecret`. */
  clientSecret: string;
  clientSecretHint: string;
  /** The sign-in provider's own allow-list for this connection (normalised rules); absent or null: LOGIN_RETURN_TO_ALLOWLIST. */
  loginReturnTo?: string[] | null;
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
}

export const secretAad = (id: string): string => `connection:${id}:clientSecret`;

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
    clientSecretHint: record.clientSecretHint.replace(/^…/, ''),
    loginReturnTo: record.loginReturnTo ?? null,
    secretUpdatedAt: record.secretUpdatedAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** The last 4 characters of the secret (Microsoft's secrets are 40 characters): enough to tell two apart. */
const hintOf = (secret: string): string => secret.slice(-4);

export class ConnectionService {
  private readonly now: () => Date;

  constructor(private readonly deps: ConnectionServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async create(input: CreateConnectionInput): Promise<ConnectionViewT> {
    validateCreate(input);
    const authorityHost = normaliseAuthorityHost(input.authorityHost);
    checkAuthorityHostInput(authorityHost, this.deps.authorityHosts);
    const id = newId('con');
    const at = this.now().toISOString();
    const record: ConnectionRecord = {
      id,
      name: input.name,
      flow: input.flow,
      tenantId: input.tenantId ? input.tenantId : null,
      clientId: input.clientId.toLowerCase(),
      authorityHost,
      personalAccounts: input.personalAccounts ?? false,
      clientSecret: this.deps.cipher.encrypt(input.clientSecret, secretAad(id)),
      clientSecretHint: hintOf(input.clientSecret),
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

  /** The connection with its decrypted client secret, for the token service only. */
  async credentials(id: string): Promise<{ connection: ConnectionRecord; clientSecret: string }> {
    const connection = await this.record(id);
    assertAuthorityHostAllowed(connection, this.deps.authorityHosts);
    return { connection, clientSecret: this.deps.cipher.decryptText(connection.clientSecret, secretAad(id)) };
  }

  async clientSecret(id: string): Promise<string> {
    return (await this.credentials(id)).clientSecret;
  }

  /**
   * Renames, rotates the secret, or sets the sign-in allow-list (null: back to LOGIN_RETURN_TO_ALLOWLIST). Rotation does not touch cached tokens:
   * a token issued with the old secret stays valid until it expires, so
   * mailboxes keep working while the new secret takes over.
   */
  async update(id: string, patch: UpdateConnectionInput): Promise<ConnectionViewT> {
    if (patch.clientSecret !== undefined) validateSecret(patch.clientSecret);
    const loginReturnTo = patch.loginReturnTo === undefined ? undefined : normaliseLoginReturnTo(patch.loginReturnTo);
    const at = this.now().toISOString();
    const updated = await this.deps.store.update(id, (current) => ({
      ...current,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(loginReturnTo !== undefined ? { loginReturnTo } : {}),
      ...(patch.clientSecret !== undefined
        ? {
            clientSecret: this.deps.cipher.encrypt(patch.clientSecret, secretAad(id)),
            clientSecretHint: hintOf(patch.clientSecret),
            secretUpdatedAt: at,
          }
        : {}),
      updatedAt: at,
    }));
    if (!updated) throw new NotFoundError('Connection', id);
    return toView(updated);
  }

  async delete(id: string): Promise<void> {
    const used = (await this.deps.mailboxesUsing?.(id)) ?? 0;
    if (used > 0) {
      throw new ConflictError(`Connection ${id} is used by ${used} mailbox(es).`, 'Delete or move those mailboxes first.');
    }
    if (!(await this.deps.store.delete(id))) throw new NotFoundError('Connection', id);
  }
}

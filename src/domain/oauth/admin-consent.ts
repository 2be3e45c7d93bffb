/**
 * Admin consent for a customer's tenant (the ISV case): the connection's app
 * is registered in the ISV's tenant; an administrator of each customer tenant
 * grants it the Exchange permissions for their organisation at Microsoft's
 * `/adminconsent` page, and the connection lists the tenant.
 *
 * 1. POST /v1/connections/{id}/admin-consent makes a *link* to this service
 *    (`${PUBLIC_URL}/v1/oauth/admin-consent?ticket=…`), kept 7 days under its
 *    ticket, for the ISV to send the customer's administrator.
 * 2. The administrator's browser opens the link: the service makes a one-time
 *    `state` (10 minutes) bound to that browser by a cookie (browser-binding.ts),
 *    and sends it to Microsoft's
 *    `{authority host}/{tenant|organizations}/v2.0/adminconsent?client_id&scope&redirect_uri&state`.
 *    Opening the link does not use it up, so a mail scanner that fetches links
 *    spoils nothing; each opening starts a consent of its own.
 * 3. Microsoft sends the browser back to `/v1/oauth/callback` with
 *    `admin_consent=True&tenant=<tenant id>&state=…`, or `error=…`. The
 *    callback checks the browser's binding, takes the state, lists the tenant
 *    on the connection, announces `connection.consented` and takes the link.
 *
 * What it proves: that the browser which opened the link came back with
 * Microsoft's answer. The answer itself is not signed (Microsoft's redirect
 * carries no token), so the tenant listed is the one the returning browser
 * names; a token for that tenant (POST /v1/connections/{id}/verify, or a
 * mailbox's first poll) is what shows the consent took effect.
 */
import { AppError } from '../../errors/errors.js';
import type { OneTimeStore } from '../../store/one-time-store.js';
import type { ConnectionRecord, ConnectionService } from '../connections/service.js';
import { checkTenantId } from '../connections/validate.js';
import { newEvent, type EventPublisher } from '../events/events.js';
import { APP_ONLY_SCOPE } from '../tokens/claims.js';
import { aadstsIn } from '../tokens/aadsts.js';
import { newBinding, type BrowserBinding } from './browser-binding.js';
import { authorizeError } from './callback.js';
import { newSecret, SECRET_PATTERN } from './secrets.js';
import { ADMIN_CONSENT_LINK_TTL_SECONDS, type AdminConsentLink, type AdminConsentState, type StateRecord } from './state-record.js';
import type { Logger } from '../../logging/logger.js';

/** The delegated permissions an administrator grants for a delegated connection (Exchange Online, static). */
const DELEGATED_CONSENT_SCOPE = 'https://outlook.office.com/.default';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AdminConsentDeps {
  connections: Pick<ConnectionService, 'record' | 'recordConsent'>;
  links: OneTimeStore<AdminConsentLink>;
  states: OneTimeStore<StateRecord>;
  events?: EventPublisher;
  /** `${PUBLIC_URL}/v1/oauth/callback`: Microsoft sends the administrator back here, as after a sign-in. */
  redirectUri: string;
  /** `${PUBLIC_URL}/v1/oauth/admin-consent`: where the link starts. */
  startUrl: string;
  logger: Logger;
  now?: () => Date;
}

export interface AdminConsentAnswer {
  admin_consent?: string | undefined;
  tenant?: string | undefined;
  error?: string | undefined;
  error_description?: string | undefined;
}

function linkInvalid(): AppError {
  return new AppError('oauth_state_invalid', 'This admin consent link has expired (links last 7 days), was already used to consent, or was not issued by this service.', {
    hint: 'Ask for a new admin consent link (POST /v1/connections/{id}/admin-consent).',
    step: 'admin_consent',
  });
}

/** Microsoft's error answers to /adminconsent, each with what the administrator can do. */
export function adminConsentError(error: string, description: string | undefined): AppError {
  const aadsts = aadstsIn(description);
  const fields = aadsts !== undefined ? { fields: { aadstsCode: aadsts } } : {};
  if (aadsts === 90094 || aadsts === 90099 || aadsts === 90095) {
    return new AppError('admin_consent_required', 'The account that opened the link cannot grant consent for the organisation.', {
      hint: 'Forward the link to a Global Administrator, Privileged Role Administrator or Cloud Application Administrator of the tenant, who opens it and accepts.',
      step: 'admin_consent',
      ...fields,
    });
  }
  if (aadsts === 65004 || (aadsts === undefined && error === 'access_denied')) {
    return new AppError('admin_consent_declined', 'The administrator declined to grant the permissions.', {
      hint: 'Open the link again and choose Accept, or ask the ISV which permissions the app needs and why.',
      step: 'admin_consent',
      ...fields,
    });
  }
  return authorizeError(error, description);
}

export class AdminConsent {
  private readonly now: () => Date;

  constructor(private readonly deps: AdminConsentDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** POST /v1/connections/{id}/admin-consent: a link for the tenant's administrator. */
  async link(connectionId: string, tenant?: string): Promise<{ consentUrl: string; expiresAt: string }> {
    const connection = await this.deps.connections.record(connectionId);
    if (tenant !== undefined) {
      const problem = checkTenantId(tenant);
      if (problem) throw new AppError('validation_failed', `tenant ${problem.message}.`, { hint: problem.hint, fields: { errors: [{ field: '/tenant', message: problem.message }] } });
    }
    const ticket = newSecret();
    const now = this.now();
    await this.deps.links.put(ticket, { connectionId: connection.id, tenant: tenant ?? connection.tenantId, createdAt: now.toISOString() });
    const url = new URL(this.deps.startUrl);
    url.searchParams.set('ticket', ticket);
    return { consentUrl: url.toString(), expiresAt: new Date(now.getTime() + ADMIN_CONSENT_LINK_TTL_SECONDS * 1000).toISOString() };
  }

  /** The browser opened the link: Microsoft's /adminconsent URL, and the binding its cookie keeps. */
  async start(ticket: string): Promise<{ location: string; binding: BrowserBinding }> {
    const link = SECRET_PATTERN.test(ticket) ? await this.deps.links.peek(ticket) : undefined;
    if (!link) throw linkInvalid();
    const connection = await this.deps.connections.record(link.connectionId);
    const state = newSecret();
    const { binding, digest } = newBinding(state);
    const record: AdminConsentState = { flow: 'admin_consent', connectionId: connection.id, ticket, browserBinding: digest, createdAt: this.now().toISOString() };
    await this.deps.states.put(state, record);
    return { location: consentUrl(connection, link.tenant, this.deps.redirectUri, state), binding };
  }

  /** Microsoft's answer (the callback took the state): the tenant listed and announced. */
  async complete(record: AdminConsentState, answer: AdminConsentAnswer): Promise<{ connection: ConnectionRecord; tenantId: string }> {
    if (answer.error !== undefined) throw adminConsentError(answer.error, answer.error_description);
    const tenantId = answer.tenant;
    if (answer.admin_consent?.toLowerCase() !== 'true' || tenantId === undefined || !GUID.test(tenantId)) {
      throw new AppError('validation_failed', 'Microsoft sent the browser back without admin_consent=True and a tenant id.', {
        hint: 'Open the admin consent link again from its beginning.',
      });
    }
    const connection = await this.deps.connections.recordConsent(record.connectionId, tenantId.toLowerCase());
    await this.deps.links.take(record.ticket);
    await this.announce(connection, tenantId.toLowerCase());
    return { connection, tenantId: tenantId.toLowerCase() };
  }

  private async announce(connection: ConnectionRecord, tenantId: string): Promise<void> {
    if (!this.deps.events) return;
    try {
      await this.deps.events.publish(newEvent('connection.consented', { connectionId: connection.id, name: connection.name, tenantId }));
    } catch (err) {
      // The consent itself is kept and listed; the administrator is told so.
      this.deps.logger.warn({ err, connectionId: connection.id }, 'connection.consented could not be announced');
    }
  }
}

/** Microsoft's v2.0 admin consent URL for the connection's app. */
export function consentUrl(connection: ConnectionRecord, tenant: string | null, redirectUri: string, state: string): string {
  const url = new URL(`${connection.authorityHost}/${encodeURIComponent(tenant ?? 'organizations')}/v2.0/adminconsent`);
  url.searchParams.set('client_id', connection.clientId);
  url.searchParams.set('scope', connection.flow === 'app_only' ? APP_ONLY_SCOPE : DELEGATED_CONSENT_SCOPE);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('state', state);
  return url.toString();
}

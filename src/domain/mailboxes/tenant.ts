/**
 * Whose tenant and whose sign-in a new mailbox has. Pure: no I/O.
 *
 * - tenantId: a multi-tenant app_only connection (no tenantId) has no
 *   tenant of its own, so each of its mailboxes must name its customer's
 *   tenant; tokens are then acquired per (app, tenant). A single-tenant
 *   connection serves its tenant only: a mailbox may repeat that tenant
 *   (id or domain as the connection has it, any case) and nothing else,
 *   since the connection's tokens open no other tenant's mailboxes. A
 *   multi-tenant delegated mailbox takes its tenant from the sign-in, so it
 *   may not name one beforehand.
 * - signInAs: delegated only (an app-only token opens any mailbox the
 *   service principal has Full Access to, shared ones included). The agent
 *   signs in and the shared mailbox `email` is opened with the agent's token.
 */
import { ValidationError } from '../../errors/errors.js';
import type { ConnectionRecord } from '../connections/service.js';
import { checkTenantId } from '../connections/validate.js';
import type { CreateMailboxInput } from './model.js';

const refuse = (field: string, message: string, hint: string): never => {
  throw new ValidationError(`${field.slice(1)} ${message}.`, [{ field, message }], hint);
};

/** The tenant the new mailbox keeps; throws validation_failed for a tenantId the connection cannot serve. */
export function mailboxTenant(connection: Pick<ConnectionRecord, 'flow' | 'tenantId'>, input: Pick<CreateMailboxInput, 'tenantId'>): string | null {
  const asked = input.tenantId;
  if (connection.tenantId) {
    if (asked !== undefined && asked.toLowerCase() !== connection.tenantId.toLowerCase()) {
      refuse('/tenantId', `must be the connection's tenant (${connection.tenantId}) or absent`,
        "A single-tenant connection serves its own tenant only. For a customer's tenant, use a multi-tenant app_only connection (created without tenantId) and name the tenant on the mailbox.");
    }
    return connection.tenantId;
  }
  if (connection.flow === 'delegated') {
    if (asked !== undefined) {
      refuse('/tenantId', 'is not accepted on a multi-tenant delegated connection',
        "Leave tenantId out: the mailbox takes the tenant of the account that signs in.");
    }
    return null;
  }
  if (asked === undefined) {
    refuse('/tenantId', 'is required on a multi-tenant app_only connection',
      "Name the customer's Directory (tenant) ID or verified domain that holds this mailbox; its admin must have consented to the app.");
  }
  const problem = checkTenantId(asked as string);
  if (problem) {
    throw new ValidationError(`tenantId ${problem.message}.`, [{ field: '/tenantId', message: problem.message }],
      problem.hint);
  }
  return asked as string;
}

/** The agent who signs in for a shared mailbox, lower-cased; null: the mailbox's own account. */
export function mailboxSignInAs(connection: Pick<ConnectionRecord, 'flow'>, input: Pick<CreateMailboxInput, 'signInAs' | 'email'>): string | null {
  if (input.signInAs === undefined) return null;
  if (connection.flow !== 'delegated') {
    refuse('/signInAs', 'applies only to delegated connections',
      'An app-only connection opens a shared mailbox as itself: give the service principal Full Access to it and add it as a mailbox (no signInAs).');
  }
  const agent = input.signInAs.toLowerCase();
  return agent === input.email.toLowerCase() ? null : agent;
}

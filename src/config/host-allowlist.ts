/**
 * Which hosts the service may send a secret to: a connection's authority
 * host receives its client secret, a mailbox's IMAP and SMTP servers receive
 * its access tokens. An API key holder chooses those hosts (overrides), so
 * without a list an API key could send a tenant's secret anywhere that shows
 * a trusted certificate.
 *
 * AUTHORITY_HOST_ALLOWLIST and MAIL_HOST_ALLOWLIST are comma-separated:
 * a host name (`outlook.office365.com`), a suffix (`*.contoso.com`: any host
 * under it, not contoso.com itself), an IP address, or `*` (any host: the
 * behaviour before these lists). The defaults are Microsoft's hosts, global
 * and national clouds. Pure: parsing and matching only.
 */
import { isIP } from 'node:net';
import { EnvValueError, parseList } from './env-spec.js';

export interface HostAllowlist {
  /** The entries as configured (normalised), for messages and /docs. */
  readonly entries: readonly string[];
  allows(host: string): boolean;
}

/** Microsoft's identity platform: global, US Government, China (21Vianet). */
export const DEFAULT_AUTHORITY_HOSTS = ['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn'];

/**
 * Exchange Online IMAP and SMTP: Microsoft 365, Outlook.com, US Government GCC High
 * (outlook/smtp.office365.us) and DoD (outlook-dod.office365.us, both protocols), China
 * (21Vianet: partner.outlook.cn, smtp.partner.outlook.cn). The national clouds' hosts are those
 * public IMAP/SMTP integrations configure for them; microsoft-facts.md lists only the global ones.
 */
export const DEFAULT_MAIL_HOSTS = [
  'outlook.office365.com', 'smtp.office365.com', 'outlook.office.com',
  'imap-mail.outlook.com', 'smtp-mail.outlook.com',
  'outlook.office365.us', 'smtp.office365.us', 'outlook-dod.office365.us',
  'partner.outlook.cn', 'smtp.partner.outlook.cn',
];

/** Lower case, no trailing dot, no IPv6 brackets: `Outlook.Office365.com.` → `outlook.office365.com`. */
export function normaliseHost(host: string): string {
  let out = host.trim().toLowerCase();
  if (out.startsWith('[') && out.endsWith(']')) out = out.slice(1, -1);
  return out.endsWith('.') ? out.slice(0, -1) : out;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isHostName(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => LABEL.test(label));
}

function checkEntry(entry: string): string {
  if (entry.trim() === '*') return '*';
  const value = normaliseHost(entry);
  if (isIP(value) !== 0) return value;
  const name = value.startsWith('*.') ? value.slice(2) : value;
  if (!isHostName(name)) {
    throw new EnvValueError(`has "${entry}": expected host names (outlook.office365.com), suffixes (*.contoso.com), IP addresses or *`);
  }
  return value;
}

export function hostAllowlist(entries: readonly string[]): HostAllowlist {
  const normalised = entries.map(checkEntry);
  const exact = new Set(normalised.filter((e) => !e.startsWith('*')));
  const suffixes = normalised.filter((e) => e.startsWith('*.')).map((e) => e.slice(1));
  const any = normalised.includes('*');
  return {
    entries: normalised,
    allows(host) {
      if (any) return true;
      const value = normaliseHost(host);
      return exact.has(value) || (isIP(value) === 0 && suffixes.some((suffix) => value.endsWith(suffix)));
    },
  };
}

/** An environment variable's value: a comma-separated list (see the top of this file). */
export function parseHostAllowlist(raw: string): HostAllowlist {
  const entries = parseList(raw);
  if (entries.length === 0) throw new EnvValueError('must name at least one host (or * for any)');
  return hostAllowlist(entries);
}

/**
 * Faults tests switch on: injected AADSTS errors (answered instead of the
 * natural outcome), hostile token endpoint answers, and outages of the whole server.
 */
export interface InjectedError {
  aadsts: number;
  clientId?: string;
  /** Matches the path segment as sent or the tenant id it resolves to. */
  tenantId?: string;
  grantType?: string;
  /** Where the error appears: the token endpoint (default), authorize or adminconsent (as an error redirect). */
  endpoint?: 'token' | 'authorize' | 'adminconsent';
  /** How many requests get it; default: until clearErrors(). */
  times?: number;
}

/** down: connections reset; slow: every request delayed by delayMs (default 5 s); http500: every request answered 500. */
export type Outage = null | { kind: 'down' | 'slow' | 'http500'; delayMs?: number };

/**
 * A token endpoint that answers, but not with a usable token response: what
 * a TLS-inspecting proxy, a captive portal or a broken gateway in front of
 * Entra can send. Written by hostile-token.ts instead of the real answer.
 * - non_json: HTTP 200, text/html (a proxy's sign-in page);
 * - missing_access_token / missing_expires_in: the real token response without that field;
 * - huge: HTTP 200 JSON of `bytes` (default 8 MiB), chunked, or with its length declared (`declareLength`);
 * - drip: HTTP 200 headers at once, then one body byte every `intervalMs` (default 2 s), never ending.
 */
export interface HostileTokenAnswer {
  kind: 'non_json' | 'missing_access_token' | 'missing_expires_in' | 'huge' | 'drip';
  /** Only token requests of this client get it; default every client. */
  clientId?: string;
  bytes?: number;
  declareLength?: boolean;
  intervalMs?: number;
}

export interface RequestFacts {
  endpoint: 'token' | 'authorize' | 'adminconsent';
  clientId?: string;
  tenantSegment: string;
  tenantId?: string;
  grantType?: string;
}

export class Faults {
  private injected: InjectedError[] = [];
  private hostile: HostileTokenAnswer[] = [];
  outage: Outage = null;

  /** Adds a hostile token answer; one given for a client replaces that client's previous one. */
  injectTokenAnswer(answer: HostileTokenAnswer): void {
    this.hostile = [...this.hostile.filter((a) => a.clientId?.toLowerCase() !== answer.clientId?.toLowerCase()), { ...answer }];
  }

  clearTokenAnswers(): void {
    this.hostile = [];
  }

  /** The hostile answer for a token request of this client, if any (a client's own before a catch-all). */
  tokenAnswer(clientId: string | undefined): HostileTokenAnswer | undefined {
    const lower = clientId?.toLowerCase();
    return this.hostile.find((a) => a.clientId !== undefined && a.clientId.toLowerCase() === lower) ?? this.hostile.find((a) => a.clientId === undefined);
  }

  inject(error: InjectedError): void {
    this.injected.push({ ...error });
  }

  clear(): void {
    this.injected = [];
  }

  /** The AADSTS code to answer with, consuming one use of the matching injection. */
  take(facts: RequestFacts): number | undefined {
    const lower = (s: string | undefined) => s?.toLowerCase();
    for (const entry of this.injected) {
      if ((entry.endpoint ?? 'token') !== facts.endpoint) continue;
      if (entry.clientId && lower(entry.clientId) !== lower(facts.clientId)) continue;
      if (entry.grantType && entry.grantType !== facts.grantType) continue;
      if (entry.tenantId && ![lower(facts.tenantSegment), lower(facts.tenantId)].includes(lower(entry.tenantId))) continue;
      if (entry.times !== undefined) {
        entry.times -= 1;
        if (entry.times <= 0) this.injected = this.injected.filter((e) => e !== entry);
      }
      return entry.aadsts;
    }
    return undefined;
  }
}

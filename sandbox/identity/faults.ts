/**
 * Faults tests switch on: injected AADSTS errors (answered instead of the
 * natural outcome) and outages of the whole server.
 */
export interface InjectedError {
  aadsts: number;
  clientId?: string;
  /** Matches the path segment as sent or the tenant id it resolves to. */
  tenantId?: string;
  grantType?: string;
  /** Where the error appears: the token endpoint (default) or authorize (as an error redirect). */
  endpoint?: 'token' | 'authorize';
  /** How many requests get it; default: until clearErrors(). */
  times?: number;
}

/** down: connections reset; slow: every request delayed by delayMs (default 5 s); http500: every request answered 500. */
export type Outage = null | { kind: 'down' | 'slow' | 'http500'; delayMs?: number };

export interface RequestFacts {
  endpoint: 'token' | 'authorize';
  clientId?: string;
  tenantSegment: string;
  tenantId?: string;
  grantType?: string;
}

export class Faults {
  private injected: InjectedError[] = [];
  outage: Outage = null;

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

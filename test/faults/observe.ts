/**
 * What the fault suite reads of the running system, through the public API
 * and the health endpoints only: the mailboxes' state, the subscription's
 * deliveries and endpoint health, the sends' status, each process's
 * readiness. `caughtUp(since)` is the one definition of "recovered" the
 * table reports for every fault.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { callAny } from './api.js';
import type { ServiceSlot } from './cluster.js';
import type { Traffic } from './traffic.js';

export interface MailboxView {
  id: string;
  email: string;
  state: string;
  lastPollAt: string | null;
  lastError: { code?: string } | null;
}

export interface DeliveryView {
  deliveryId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: string;
  lastError: { code: string; detail: string } | null;
}

export interface SubscriptionView {
  health: { status: string; consecutiveFailures: number };
}

/** What "caught up" looks at: process readiness, polls, webhook deliveries, sends. */
export type Aspect = 'ready' | 'mailboxes' | 'webhooks' | 'sends';
export const ALL_ASPECTS: readonly Aspect[] = ['ready', 'mailboxes', 'webhooks', 'sends'];

export interface Observer {
  mailboxes(): Promise<MailboxView[] | undefined>;
  deliveries(): Promise<DeliveryView[] | undefined>;
  subscription(): Promise<SubscriptionView | undefined>;
  /** Every process's /health/ready; the names of those that are not 200. */
  unready(): Promise<string[]>;
  /**
   * Why the system has not caught up with what happened before `since` yet
   * (empty: it has): every process ready; every mailbox active and polled
   * since; the endpoint healthy and every delivery created before delivered;
   * every send accepted before finished. Only the aspects given are looked at.
   */
  lagging(since: number, aspects?: readonly Aspect[]): Promise<string[]>;
  /**
   * Ms from now until lagging(since, aspects) is empty, or undefined after
   * `timeoutMs`; `report` hears what is still lagging every 10 s.
   */
  waitCaughtUp(since: number, timeoutMs: number, aspects?: readonly Aspect[], report?: (why: string[]) => void): Promise<number | undefined>;
}

export interface ObserverOptions {
  slots: ServiceSlot[];
  apis: () => string[];
  subscriptionId: string;
  traffic: Traffic;
  /** Says why these active mailboxes are not polled (e.g. who holds their poll lock), for the progress lines. */
  explainIdle?: (mailboxIds: string[]) => Promise<string>;
}

export function createObserver(opts: ObserverOptions): Observer {
  const { apis, subscriptionId } = opts;

  const mailboxes = async (): Promise<MailboxView[] | undefined> => {
    const res = await callAny<{ items: MailboxView[] }>(apis, 'GET', '/v1/mailboxes', undefined, 10_000);
    return res.status === 200 ? res.json.items : undefined;
  };

  const deliveries = async (): Promise<DeliveryView[] | undefined> => {
    const all: DeliveryView[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=200&cursor=${cursor}` : '?limit=200';
      const res = await callAny<{ items: DeliveryView[]; nextCursor: string | null }>(
        apis, 'GET', `/v1/webhooks/${subscriptionId}/deliveries${query}`, undefined, 10_000,
      );
      if (res.status !== 200) return undefined;
      all.push(...res.json.items);
      cursor = res.json.nextCursor;
    } while (cursor);
    return all;
  };

  const subscription = async (): Promise<SubscriptionView | undefined> => {
    const res = await callAny<SubscriptionView>(apis, 'GET', `/v1/webhooks/${subscriptionId}`, undefined, 10_000);
    return res.status === 200 ? res.json : undefined;
  };

  const unready = async (): Promise<string[]> => {
    const results = await Promise.all(opts.slots.map(async (s) => ({ name: s.name, ...(await s.ready()) })));
    return results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail.slice(0, 120)}`);
  };

  const lagging = async (since: number, aspects: readonly Aspect[] = ALL_ASPECTS): Promise<string[]> => {
    const why: string[] = [];
    if (aspects.includes('ready')) why.push(...(await unready()).map((u) => `not ready ${u}`));
    if (aspects.includes('mailboxes')) {
      const boxes = await mailboxes();
      if (!boxes) return [...why, 'GET /v1/mailboxes failed'];
      const behind = boxes.filter((m) => m.state !== 'active' || !m.lastPollAt || Date.parse(m.lastPollAt) < since);
      if (behind.length > 0) {
        const states = new Map<string, number>();
        for (const m of behind) {
          const state = `${m.state}${m.lastError?.code ? `/${m.lastError.code}` : ''}`;
          states.set(state, (states.get(state) ?? 0) + 1);
        }
        const idle = behind.filter((m) => m.state === 'active').map((m) => m.id);
        const explained = idle.length > 0 && opts.explainIdle ? ` [active ones: ${await opts.explainIdle(idle.slice(0, 3))}]` : '';
        why.push(`${behind.length} mailboxes not polled fine since (${[...states].map(([k, v]) => `${k}: ${v}`).join(', ')})${explained}`);
      }
    }
    if (aspects.includes('webhooks')) {
      const sub = await subscription();
      if (!sub) why.push('GET /v1/webhooks/{id} failed');
      else if (sub.health.status !== 'healthy') why.push(`endpoint ${sub.health.status} (${sub.health.consecutiveFailures} failures)`);
      const list = await deliveries();
      if (!list) why.push('GET deliveries failed');
      else {
        const pending = list.filter((d) => d.status !== 'delivered' && Date.parse(d.createdAt) < since);
        if (pending.length > 0) why.push(`${pending.length} deliveries created before not delivered`);
      }
    }
    if (aspects.includes('sends')) {
      await opts.traffic.refreshSends();
      const open = opts.traffic.sends.filter((s) => s.acceptedAt !== undefined && s.acceptedAt < since && s.status !== 'sent' && s.status !== 'failed');
      if (open.length > 0) why.push(`${open.length} sends accepted before not finished`);
    }
    return why;
  };

  return {
    mailboxes,
    deliveries,
    subscription,
    unready,
    lagging,
    waitCaughtUp: async (since, timeoutMs, aspects, report) => {
      const started = Date.now();
      let reported = started;
      while (Date.now() - started < timeoutMs) {
        const why = await lagging(since, aspects);
        if (why.length === 0) return Date.now() - started;
        if (report && Date.now() - reported >= 10_000) {
          report(why);
          reported = Date.now();
        }
        await sleep(1_000);
      }
      return undefined;
    },
  };
}

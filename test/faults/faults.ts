/**
 * The faults, one function each. A fault starts, lasts, ends, and reports
 * what it did (`effect`, read once the system caught up, e.g. how many
 * requests it turned away): the evidence that it mattered. Which parts of
 * the system a fault disturbs (`aspects`) decides what "recovered" waits for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapProxy } from '../../sandbox/imap-proxy.js';
import type { Sandbox } from '../../sandbox/index.js';
import type { SmtpProxy } from '../../sandbox/smtp-proxy.js';
import { callAny } from './api.js';
import type { ServiceSlot } from './cluster.js';
import type { Aspect, Observer } from './observe.js';
import type { Traffic } from './traffic.js';

export interface FaultContext {
  sandbox: Sandbox;
  imapProxy: ImapProxy;
  smtpProxy: SmtpProxy;
  traffic: Traffic;
  observer: Observer;
  apis: () => string[];
  connectionId: string;
  log: (line: string) => void;
}

export interface FaultRecord {
  /** The table's row: the kind of fault. */
  fault: string;
  /** This occurrence, e.g. which process. */
  detail: string;
  startedAt: number;
  /** When the fault was lifted (a kill: the moment of the kill; the restart is part of the recovery). */
  endedAt: number;
  aspects: readonly Aspect[];
  /** Evidence that the fault mattered: read once it recovered, into `outcome`. */
  effect: () => string;
  outcome?: string;
  /** Ms from endedAt until the system caught up; undefined: not within the bound. */
  recoveredMs?: number;
}

const ALL: readonly Aspect[] = ['ready', 'mailboxes', 'webhooks', 'sends'];

/** Counters of the traffic generator, to tell what a fault turned away. */
function trafficMark(traffic: Traffic): () => string {
  const sendBefore = traffic.stats.sendNotAccepted;
  const mailBefore = traffic.stats.mailRefused;
  return () => {
    const sends = traffic.stats.sendNotAccepted - sendBefore;
    const mails = traffic.stats.mailRefused - mailBefore;
    return [sends > 0 ? `${sends} POST /v1/send not accepted (retried)` : '', mails > 0 ? `${mails} mail deliveries refused (retried)` : '']
      .filter(Boolean).join('; ') || 'no request turned away';
  };
}

async function mailboxesNotActive(ctx: FaultContext): Promise<string> {
  const boxes = await ctx.observer.mailboxes();
  if (!boxes) return 'mailboxes unreadable';
  const bad = boxes.filter((m) => m.state !== 'active');
  const codes = new Map<string, number>();
  for (const m of bad) codes.set(`${m.state}/${m.lastError?.code ?? '-'}`, (codes.get(`${m.state}/${m.lastError?.code ?? '-'}`) ?? 0) + 1);
  return `${bad.length} mailboxes not active at the end${bad.length ? ` (${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
}

/** SIGKILL, then the orchestrator's restart `restartAfterMs` later. */
export async function killProcess(ctx: FaultContext, slot: ServiceSlot, restartAfterMs: number): Promise<FaultRecord> {
  const pid = slot.pid();
  const at = Date.now();
  slot.kill();
  ctx.log(`SIGKILL ${slot.name} (pid ${pid})`);
  const mark = trafficMark(ctx.traffic);
  await sleep(restartAfterMs);
  await slot.start();
  const liveAfterMs = Date.now() - at;
  return {
    fault: `SIGKILL ${slot.role}`,
    detail: `${slot.name} pid ${pid}`,
    startedAt: at,
    endedAt: at,
    aspects: ALL,
    effect: () => `restarted, live after ${(liveAfterMs / 1000).toFixed(1)} s; ${mark()}`,
  };
}

export async function redisRestart(ctx: FaultContext, downMs: number): Promise<FaultRecord> {
  const restart = ctx.sandbox.redis.restart;
  if (!restart) throw new Error('the sandbox Redis cannot restart (not a redis-server child)');
  const at = Date.now();
  const mark = trafficMark(ctx.traffic);
  ctx.log(downMs > 0 ? `Redis down for ${downMs} ms` : 'Redis restart (AOF)');
  await restart({ downMs });
  const ended = Date.now();
  return {
    fault: downMs > 0 ? `Redis unreachable ${Math.round(downMs / 1000)} s` : 'Redis restart (AOF)',
    detail: `down ${((ended - at) / 1000).toFixed(1)} s`,
    startedAt: at,
    endedAt: ended,
    aspects: ALL,
    effect: mark,
  };
}

export async function dovecotDown(ctx: FaultContext, downMs: number): Promise<FaultRecord> {
  const at = Date.now();
  const mark = trafficMark(ctx.traffic);
  ctx.log(`Dovecot down for ${downMs} ms`);
  await ctx.sandbox.dovecot.pause();
  await sleep(downMs);
  const during = await mailboxesNotActive(ctx);
  await ctx.sandbox.dovecot.resume();
  return {
    fault: `Dovecot down ${Math.round(downMs / 1000)} s`,
    detail: '',
    startedAt: at,
    endedAt: Date.now(),
    aspects: ['ready', 'mailboxes'],
    effect: () => `${during}; ${mark()}`,
  };
}

export async function receiverDown(ctx: FaultContext, downMs: number): Promise<FaultRecord> {
  const at = Date.now();
  const before = ctx.sandbox.receiver.received.length;
  ctx.log(`webhook receiver down for ${downMs} ms`);
  await ctx.sandbox.receiver.pause();
  await sleep(downMs);
  const sub = await ctx.observer.subscription();
  await ctx.sandbox.receiver.resume();
  const ended = Date.now();
  return {
    fault: `webhook receiver down ${Math.round(downMs / 1000)} s`,
    detail: '',
    startedAt: at,
    endedAt: ended,
    aspects: ['webhooks'],
    effect: () => {
      const caughtUp = ctx.sandbox.receiver.received.filter((d, i) => i >= before && d.at.getTime() >= ended).length;
      return `endpoint ${sub?.health.status ?? '?'} after ${sub?.health.consecutiveFailures ?? '?'} failed attempts; ${caughtUp} deliveries since it came back`;
    },
  };
}

export async function smtpThrottled(ctx: FaultContext, forMs: number): Promise<FaultRecord> {
  const at = Date.now();
  const budget = 1_000_000;
  ctx.log(`SMTP answers 421 for ${forMs} ms`);
  ctx.sandbox.smtp.setBehaviour({ throttle: { times: budget, at: 'mail' } });
  await sleep(forMs);
  const left = ctx.sandbox.smtp.getBehaviour().throttle?.times ?? budget;
  ctx.sandbox.smtp.setBehaviour({ throttle: null });
  return {
    fault: `SMTP 421 for ${Math.round(forMs / 1000)} s`,
    detail: '',
    startedAt: at,
    endedAt: Date.now(),
    aspects: ['sends'],
    effect: () => `${budget - (left ?? budget)} transactions answered 421`,
  };
}

export async function identityOutage(ctx: FaultContext, kind: 'down' | 'slow' | 'http500', forMs: number): Promise<FaultRecord> {
  const { identity } = ctx.sandbox;
  const at = Date.now();
  const before = identity.tokenRequests();
  ctx.log(`identity imitation ${kind} for ${forMs} ms`);
  identity.setOutage({ kind, delayMs: 5_000 });
  // The doctor's "acquire now" skips every cache: it must answer, with the problem, never a 500.
  const verify = await callAny<{ ok?: boolean; problems?: { code: string }[]; code?: string }>(
    ctx.apis, 'POST', `/v1/connections/${ctx.connectionId}/verify`, undefined, 20_000,
  );
  await sleep(Math.max(0, forMs - (Date.now() - at)));
  const during = await mailboxesNotActive(ctx);
  identity.setOutage(null);
  const requests = identity.tokenRequests() - before;
  const verifySaid = `${verify.status} ${verify.json.ok === undefined ? verify.json.code ?? '' : `ok=${verify.json.ok} ${(verify.json.problems ?? []).map((p) => p.code).join(',')}`}`;
  return {
    fault: `identity ${kind === 'slow' ? 'slow (5 s)' : kind}`,
    detail: `${Math.round(forMs / 1000)} s`,
    startedAt: at,
    endedAt: Date.now(),
    aspects: ['ready', 'mailboxes', 'sends'],
    effect: () => `${requests} token requests reached it; verify answered ${verifySaid.trim()}; ${during}`,
  };
}

/** For `forMs`, the proxies cut up to `budget` connections each: IMAP after STATUS or (UID) FETCH, SMTP in DATA. */
export async function proxyCuts(ctx: FaultContext, forMs: number, budget: { imap: number; smtp: number }): Promise<FaultRecord> {
  const at = Date.now();
  const imapBefore = ctx.imapProxy.cut;
  const smtpBefore = ctx.smtpProxy.cut;
  ctx.log(`proxies cut up to ${budget.imap} IMAP connections at FETCH/STATUS and ${budget.smtp} SMTP connections in DATA, for ${forMs} ms`);
  ctx.imapProxy.setBehaviour({ cutOn: { commands: ['FETCH', 'UID', 'STATUS'], times: budget.imap } });
  ctx.smtpProxy.setBehaviour({ cutInData: { times: budget.smtp } });
  await sleep(forMs);
  ctx.imapProxy.setBehaviour({ cutOn: null });
  ctx.smtpProxy.setBehaviour({ cutInData: null });
  const imapCuts = ctx.imapProxy.cut - imapBefore;
  const smtpCuts = ctx.smtpProxy.cut - smtpBefore;
  return {
    fault: `proxy cuts mid-command ${Math.round(forMs / 1000)} s`,
    detail: 'IMAP FETCH/STATUS, SMTP DATA',
    startedAt: at,
    endedAt: Date.now(),
    aspects: ['ready', 'mailboxes', 'sends'],
    effect: () => `${imapCuts} IMAP connections cut, ${smtpCuts} SMTP connections cut mid-DATA`,
  };
}

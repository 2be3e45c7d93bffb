/**
 * The invariants, checked once the faults stopped and the system settled.
 * Each returns numbers for the summary and the violations it found; the
 * suite fails when any invariant has a violation.
 */
import type { ReceivedDelivery } from '../../sandbox/webhook-receiver.js';
import type { RecordedMessage } from '../../sandbox/smtp.js';
import type { ServiceSlot } from './cluster.js';
import type { DeliveryView } from './observe.js';
import type { ArrivedMail, TrackedSend, TrafficStats } from './traffic.js';

export interface Invariant {
  name: string;
  violations: string[];
}

export interface MailSummary {
  arrived: number;
  announced: number;
  missing: number;
  /** Deliveries beyond the first of one webhook-id (allowed: receivers drop them by id). */
  duplicatedById: number;
  /** Messages announced under more than one webhook-id (not allowed). */
  underSeveralIds: number;
}

const subjectOf = (d: ReceivedDelivery): string | undefined => (d.body as { data?: { subject?: string } } | undefined)?.data?.subject ?? undefined;
const sendIdOf = (d: ReceivedDelivery): string | undefined => (d.body as { data?: { sendId?: string } } | undefined)?.data?.sendId ?? undefined;

export function checkMail(arrived: readonly ArrivedMail[], received: readonly ReceivedDelivery[]): { summary: MailSummary; invariant: Invariant } {
  const bySubject = new Map<string, ReceivedDelivery[]>();
  for (const d of received) {
    if (d.type !== 'message.received') continue;
    const subject = subjectOf(d);
    if (subject === undefined) continue;
    const list = bySubject.get(subject) ?? [];
    list.push(d);
    bySubject.set(subject, list);
  }
  const violations: string[] = [];
  const summary: MailSummary = { arrived: arrived.length, announced: 0, missing: 0, duplicatedById: 0, underSeveralIds: 0 };
  for (const mail of arrived) {
    const deliveries = bySubject.get(mail.subject) ?? [];
    const ids = new Set(deliveries.map((d) => d.id));
    if (deliveries.length === 0) {
      summary.missing += 1;
      if (summary.missing <= 10) violations.push(`never announced: "${mail.subject}" (arrived ${new Date(mail.at).toISOString()})`);
      continue;
    }
    summary.announced += 1;
    summary.duplicatedById += deliveries.length - ids.size;
    if (ids.size > 1) {
      summary.underSeveralIds += 1;
      violations.push(`announced under ${ids.size} webhook-ids: "${mail.subject}"`);
    }
    const unverified = deliveries.filter((d) => !d.verified);
    if (unverified.length > 0) violations.push(`${unverified.length} unverified deliveries of "${mail.subject}"`);
  }
  if (summary.missing > 10) violations.push(`… ${summary.missing - 10} more never announced`);
  return { summary, invariant: { name: 'every arrived message announced, duplicates only under one webhook-id', violations } };
}

export interface SendSummary {
  tried: number;
  accepted: number;
  /** Given up before a 202 (should be none: the generator retries until the end). */
  notAccepted: number;
  sent: number;
  failed: number;
  /** Failure codes of failed sends. */
  failedBy: Record<string, number>;
  unfinished: number;
  /** SMTP copies beyond the first, by Message-ID. */
  duplicated: number;
  duplicateBound: number;
}

export function checkSends(opts: {
  sends: readonly TrackedSend[];
  stats: TrafficStats;
  smtpMessages: readonly RecordedMessage[];
  received: readonly ReceivedDelivery[];
  workerKills: number;
  sendConcurrency: number;
}): { summary: SendSummary; invariant: Invariant; duplicatesInvariant: Invariant } {
  const violations: string[] = [];
  const byMessageId = new Map<string, number>();
  const byKey = new Map<string, number>();
  for (const m of opts.smtpMessages) {
    if (m.parsed.messageId) byMessageId.set(m.parsed.messageId, (byMessageId.get(m.parsed.messageId) ?? 0) + 1);
    const key = m.parsed.headers.get('x-fault-key');
    if (typeof key === 'string') byKey.set(key, (byKey.get(key) ?? 0) + 1);
  }
  const outcomes = new Map<string, Set<string>>();
  for (const d of opts.received) {
    if (d.type !== 'message.sent' && d.type !== 'message.failed') continue;
    const sendId = sendIdOf(d);
    if (!sendId) continue;
    const set = outcomes.get(sendId) ?? new Set();
    set.add(d.type);
    outcomes.set(sendId, set);
  }
  const summary: SendSummary = {
    tried: opts.sends.length, accepted: 0, notAccepted: 0, sent: 0, failed: 0, failedBy: {}, unfinished: 0, duplicated: 0,
    duplicateBound: opts.workerKills * opts.sendConcurrency,
  };
  for (const send of opts.sends) {
    const copies = byKey.get(send.key) ?? 0;
    if (!send.id) {
      summary.notAccepted += 1;
      if (copies > 0) violations.push(`${send.key}: never accepted, yet ${copies} copies reached the SMTP server`);
      continue;
    }
    summary.accepted += 1;
    const atServer = send.messageId ? (byMessageId.get(send.messageId.replace(/^<|>$/g, '')) ?? byMessageId.get(send.messageId) ?? 0) : copies;
    if (send.status === 'sent') {
      summary.sent += 1;
      if (atServer === 0) violations.push(`${send.key} (${send.id}): status sent, but no message with its Message-ID at the SMTP server`);
      summary.duplicated += Math.max(0, atServer - 1);
      if (!outcomes.get(send.id)?.has('message.sent')) violations.push(`${send.key} (${send.id}): sent, but no message.sent webhook received`);
    } else if (send.status === 'failed') {
      summary.failed += 1;
      const code = send.error?.code ?? '(no code)';
      summary.failedBy[code] = (summary.failedBy[code] ?? 0) + 1;
      if (!send.error?.code) violations.push(`${send.key} (${send.id}): failed without a reason`);
      if (atServer > 0) violations.push(`${send.key} (${send.id}): failed (${code}), yet ${atServer} copies reached the SMTP server`);
      if (!outcomes.get(send.id)?.has('message.failed')) violations.push(`${send.key} (${send.id}): failed, but no message.failed webhook received`);
    } else {
      summary.unfinished += 1;
      violations.push(`${send.key} (${send.id}): still ${send.status ?? 'unknown'} after the settle`);
    }
  }
  if (summary.notAccepted > 0) violations.push(`${summary.notAccepted} sends never accepted (202) even after the faults stopped`);
  for (const refused of opts.stats.sendRefused) violations.push(`${refused.key}: refused with ${refused.status} ${refused.body}`);
  const duplicatesInvariant: Invariant = {
    name: `duplicates at the SMTP server ≤ worker kills × SEND_CONCURRENCY (${opts.workerKills} × ${opts.sendConcurrency})`,
    violations: summary.duplicated > summary.duplicateBound ? [`${summary.duplicated} duplicates, bound ${summary.duplicateBound}`] : [],
  };
  return { summary, invariant: { name: 'every accepted send sent exactly once or failed with a reason', violations }, duplicatesInvariant };
}

export interface EventSummary {
  deliveries: number;
  delivered: number;
  pending: number;
  failed: number;
}

export function checkEvents(deliveries: readonly DeliveryView[] | undefined, received: readonly ReceivedDelivery[]): { summary: EventSummary; invariant: Invariant } {
  const violations: string[] = [];
  if (!deliveries) {
    return { summary: { deliveries: 0, delivered: 0, pending: 0, failed: 0 }, invariant: { name: 'every event delivered', violations: ['the deliveries API did not answer'] } };
  }
  const answeredOk = new Set(received.filter((d) => d.status !== null && d.status >= 200 && d.status < 300).map((d) => d.id));
  const summary: EventSummary = { deliveries: deliveries.length, delivered: 0, pending: 0, failed: 0 };
  for (const d of deliveries) {
    summary[d.status] += 1;
    if (d.status !== 'delivered') {
      if (violations.length < 10) violations.push(`${d.deliveryId} ${d.eventType} ${d.status} after ${d.attempts} attempts${d.lastError ? ` (${d.lastError.code}: ${d.lastError.detail})` : ''}`);
    } else if (!answeredOk.has(d.eventId)) {
      violations.push(`${d.deliveryId} ${d.eventType}: delivered per the API, but the receiver never answered 2xx to ${d.eventId}`);
    }
  }
  if (summary.pending + summary.failed > 10) violations.push(`… ${summary.pending + summary.failed - 10} more not delivered`);
  return { summary, invariant: { name: 'every event delivered (deliveries API: none pending or failed)', violations } };
}

export interface MemoryRow {
  slot: string;
  generation: number;
  baselineMb: number;
  endMb: number | undefined;
  boundMb: number;
}

/** RSS after the settle within 1.5 × the slot's baseline (after warm-up) + 100 MB. */
export function checkMemory(slots: readonly ServiceSlot[], baseline: ReadonlyMap<string, number>): { rows: MemoryRow[]; invariant: Invariant } {
  const MB = 1024 * 1024;
  const violations: string[] = [];
  const rows = slots.map((slot) => {
    const base = baseline.get(slot.name) ?? 0;
    const end = slot.rss();
    const bound = 1.5 * base + 100 * MB;
    if (end === undefined) violations.push(`${slot.name}: no process`);
    else if (end > bound) violations.push(`${slot.name}: RSS ${(end / MB).toFixed(0)} MB over ${(bound / MB).toFixed(0)} MB`);
    return { slot: slot.name, generation: slot.generation, baselineMb: base / MB, endMb: end === undefined ? undefined : end / MB, boundMb: bound / MB };
  });
  return { rows, invariant: { name: 'memory back near its baseline (RSS < 1.5 × baseline + 100 MB)', violations } };
}

/** Everything a process says goes through its logger: no stray stderr lines (unhandled error events, stack traces). */
export function checkOutput(slots: readonly ServiceSlot[]): Invariant {
  const violations: string[] = [];
  for (const slot of slots) {
    const stray = slot.strayOutput();
    if (stray.length === 0) continue;
    const kinds = new Map<string, number>();
    for (const line of stray) kinds.set(line.slice(0, 100), (kinds.get(line.slice(0, 100)) ?? 0) + 1);
    violations.push(`${slot.name}: ${stray.length} lines outside the JSON log, e.g. ${[...kinds].slice(0, 3).map(([l, n]) => `${n}× "${l}"`).join(', ')}`);
  }
  return { name: 'every process logs through its logger (no stray output)', violations };
}

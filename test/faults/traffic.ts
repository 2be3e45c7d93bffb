/**
 * Steady traffic while faults are injected:
 *
 * - mail arrives in the mailboxes (doveadm save into Dovecot). While Dovecot
 *   is down a delivery is refused (doveadm cannot look the user up, nothing
 *   is saved): the same message is tried again until it is in. Only mail
 *   that is in counts as "arrived";
 * - messages are sent through POST /v1/send, alternating between the API
 *   processes, each with its own Idempotency-Key. An answer other than 202
 *   (no answer, 5xx while Redis is down, an API killed mid-request) is tried
 *   again with the same key, on the other API: the same key never makes two
 *   messages, and a request that never got its 202 is "not accepted", not lost.
 *
 * Which mailbox gets what comes from the seeded generator.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxDovecot } from '../../sandbox/dovecot.js';
import { rawMail } from '../support/mail.js';
import { call, type ApiAnswer } from './api.js';
import type { Rng } from './rng.js';

export interface FaultMailbox {
  id: string;
  email: string;
}

export interface ArrivedMail {
  subject: string;
  mailboxId: string;
  at: number;
}

export interface TrackedSend {
  key: string;
  subject: string;
  mailboxId: string;
  /** POST attempts, the accepted one included. */
  posts: number;
  acceptedAt?: number;
  id?: string;
  /** Last status read with GET /v1/send/{id}. */
  status?: string;
  messageId?: string | null;
  error?: { code?: string; detail?: string } | null;
}

export interface TrafficStats {
  /** doveadm deliveries refused (Dovecot down): tried again. */
  mailRefused: number;
  /** Deliveries that failed in a way that may have saved the message (none expected). */
  mailUncertain: string[];
  /** POST /v1/send answers other than 202 (tried again with the same key). */
  sendNotAccepted: number;
  /** By answer: `503`, `0` (no answer)… */
  sendNotAcceptedBy: Record<string, number>;
  /** 4xx answers to a valid message: a bug (the message is not tried again). */
  sendRefused: { key: string; status: number; body: string }[];
}

export interface TrafficOptions {
  rng: Rng;
  runId: string;
  mailboxes: FaultMailbox[];
  dovecot: SandboxDovecot;
  apis: () => string[];
  mailEveryMs: number;
  sendEveryMs: number;
}

const RETRY_MS = 1_000;

export class Traffic {
  readonly mails: ArrivedMail[] = [];
  readonly sends: TrackedSend[] = [];
  readonly stats: TrafficStats = { mailRefused: 0, mailUncertain: [], sendNotAccepted: 0, sendNotAcceptedBy: {}, sendRefused: [] };
  private running = false;
  private loops: Promise<void>[] = [];
  private submitting = new Set<Promise<void>>();
  /** After this time a send that is still not accepted is given up (set by drain). */
  private giveUpAt = Number.POSITIVE_INFINITY;
  private mailSeq = 0;
  private sendSeq = 0;

  constructor(private readonly opts: TrafficOptions) {}

  start(): void {
    this.running = true;
    this.loops = [this.mailLoop(), this.sendLoop()];
  }

  /** Stops making new traffic; sends not yet accepted keep being tried (see drain). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Waits until every send was accepted, or gives up on the rest after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.giveUpAt = Date.now() + timeoutMs;
    while (this.submitting.size > 0) await Promise.race([...this.submitting]);
  }

  unaccepted(): TrackedSend[] {
    return this.sends.filter((s) => s.acceptedAt === undefined);
  }

  private async mailLoop(): Promise<void> {
    while (this.running) {
      const mailbox = this.opts.rng.pick(this.opts.mailboxes);
      const subject = `${this.opts.runId} mail ${++this.mailSeq} to ${mailbox.email}`;
      const raw = rawMail(mailbox.email, subject);
      // A refused delivery waits for Dovecot and is tried again: the next mail queues behind it, as at an MTA.
      for (;;) {
        try {
          await this.opts.dovecot.deliver(mailbox.email, raw);
          this.mails.push({ subject, mailboxId: mailbox.id, at: Date.now() });
          break;
        } catch (err) {
          if (!/User lookup failed|auth-userdb|auth-master|Connection refused/i.test(String(err))) {
            this.stats.mailUncertain.push(subject);
            break;
          }
          this.stats.mailRefused += 1;
          if (!this.running) break;
          await sleep(RETRY_MS);
        }
      }
      await sleep(this.opts.mailEveryMs);
    }
  }

  private async sendLoop(): Promise<void> {
    while (this.running) {
      const seq = ++this.sendSeq;
      const mailbox = this.opts.rng.pick(this.opts.mailboxes);
      const key = `${this.opts.runId}-send-${seq}`;
      const send: TrackedSend = { key, subject: `${this.opts.runId} send ${seq}`, mailboxId: mailbox.id, posts: 0 };
      this.sends.push(send);
      const submit = this.submit(send, seq).finally(() => this.submitting.delete(submit));
      this.submitting.add(submit);
      await sleep(this.opts.sendEveryMs);
    }
  }

  private async submit(send: TrackedSend, seq: number): Promise<void> {
    const body = {
      mailboxId: send.mailboxId,
      to: ['customer@example.org'],
      subject: send.subject,
      text: `Fault suite message ${send.key}.`,
      headers: { 'X-Fault-Key': send.key },
    };
    for (let attempt = 0; Date.now() < this.giveUpAt; attempt++) {
      const apis = this.opts.apis();
      const base = apis[(seq + attempt) % apis.length]!;
      send.posts += 1;
      const answer: ApiAnswer<{ id?: string }> = await call(base, 'POST', '/v1/send', body, { 'idempotency-key': send.key });
      if (answer.status === 202 && answer.json.id) {
        send.id = answer.json.id;
        send.acceptedAt = Date.now();
        return;
      }
      if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
        this.stats.sendRefused.push({ key: send.key, status: answer.status, body: JSON.stringify(answer.json).slice(0, 300) });
        return;
      }
      this.stats.sendNotAccepted += 1;
      const by = String(answer.status);
      this.stats.sendNotAcceptedBy[by] = (this.stats.sendNotAcceptedBy[by] ?? 0) + 1;
      await sleep(RETRY_MS);
    }
  }

  /** Reads the status of every accepted send that was not finished at the last look. */
  async refreshSends(concurrency = 8): Promise<void> {
    const open = this.sends.filter((s) => s.id && s.status !== 'sent' && s.status !== 'failed');
    let next = 0;
    const workerLoop = async (): Promise<void> => {
      while (next < open.length) {
        const send = open[next++]!;
        const apis = this.opts.apis();
        const answer = await call<{ status?: string; messageId?: string | null; error?: TrackedSend['error'] }>(
          apis[next % apis.length]!, 'GET', `/v1/send/${send.id}`, undefined, {}, 10_000,
        );
        if (answer.status !== 200) continue;
        send.status = answer.json.status;
        send.messageId = answer.json.messageId ?? null;
        send.error = answer.json.error ?? null;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, workerLoop));
  }
}

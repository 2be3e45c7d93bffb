/**
 * POST /v1/mailboxes/{id}/diagnose: run, now, every check the mailbox's
 * polling and sending depend on, and say for each what was found or which
 * setup step fixes it.
 *
 *   token ─┬─ permissions            (read from the token's claims)
 *          ├─ imap_login ── imap_folders
 *          └─ smtp_auth
 *
 * Without a token nothing else can run (skipped). With one, IMAP and SMTP
 * are independent and run concurrently; a missing role does not stop them,
 * so the report shows what Exchange itself says. Every step has a budget;
 * the adapters' own timeouts are set inside it, the budget is the backstop.
 * The defaults keep the worst case (token, then the slower of IMAP and SMTP,
 * then LOGOUT) under the HTTP request timeout's default of 60 s.
 */
import { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { MailboxRecord, MailboxService } from '../mailboxes/service.js';
import type { AccessToken } from '../tokens/token-service.js';
import {
  acquireToken, checkImapFolders, checkImapLogin, checkPermissions, describeSmtp, describeToken, imapOptions, smtpOptions,
  type MailboxTokenSource, type ServerContext,
} from './mailbox-checks.js';
import type { DoctorMailServers } from './ports.js';
import { failedStep, runStep, skippedStep, type DoctorStepT } from './step-runner.js';

export interface DiagnoseResultT {
  /** true when every step passed. */
  ok: boolean;
  mailboxId: string;
  /** token, permissions, imap_login, imap_folders, smtp_auth, in this order. */
  steps: DoctorStepT[];
}

/** The most each step may take, in ms. */
export interface DoctorBudgets {
  tokenMs: number;
  imapLoginMs: number;
  imapFoldersMs: number;
  smtpAuthMs: number;
}

export const DEFAULT_DOCTOR_BUDGETS: Readonly<DoctorBudgets> = Object.freeze({
  tokenMs: 20_000,
  imapLoginMs: 15_000,
  imapFoldersMs: 15_000,
  smtpAuthMs: 20_000,
});

export interface MailboxDoctorDeps {
  mailboxes: Pick<MailboxService, 'get'>;
  /** The mailbox's token, as polling and sending get it. */
  tokens: MailboxTokenSource;
  /** CAs for IMAP and SMTP TLS (Node's roots plus NODE_EXTRA_CA_CERTS). */
  trust: { ca: readonly string[] };
  logger: Logger;
  /** The IMAP and SMTP servers, reached through the adapters the composition root injects. */
  servers: DoctorMailServers;
  budgets?: Partial<DoctorBudgets>;
}

/** A connection attempt gets at most this much of a step's budget, so a dead host fails as unreachable, fast. */
const CONNECT_SHARE_MS = 10_000;

function noAnswer(what: 'IMAP' | 'SMTP', server: MailboxRecord['imap'], hints: DoctorMailServers['noAnswerHints']) {
  return (ms: number): AppError =>
    new AppError(what === 'IMAP' ? 'imap_unreachable' : 'smtp_unavailable', `No answer from the ${what} server ${server.host}:${server.port} within ${ms} ms.`, {
      hint: what === 'IMAP' ? hints.imap : hints.smtp,
      step: 'network',
    });
}

/** Reads the token's claims: instant, so no budget. */
function permissionsStep(flow: MailboxRecord['flow'], token: AccessToken): DoctorStepT {
  try {
    return { step: 'permissions', ok: true, detail: checkPermissions(flow, token.claims), durationMs: 0 };
  } catch (err) {
    return failedStep('permissions', err, 0);
  }
}

async function imapSteps(deps: MailboxDoctorDeps, ctx: ServerContext, budgets: DoctorBudgets): Promise<DoctorStepT[]> {
  const { mailbox } = ctx;
  const connectMs = Math.min(CONNECT_SHARE_MS, budgets.imapLoginMs);
  const session = deps.servers.openImap(imapOptions(ctx, { connectMs, greetingMs: connectMs, socketMs: budgets.imapFoldersMs }));
  const timeout = noAnswer('IMAP', mailbox.imap, deps.servers.noAnswerHints);
  try {
    const login = await runStep({ step: 'imap_login', budgetMs: budgets.imapLoginMs, timeout, logger: deps.logger, work: () => checkImapLogin(session, mailbox) });
    if (!login.ok) return [login, skippedStep('imap_folders', 'IMAP login failed')];
    const folders = await runStep({ step: 'imap_folders', budgetMs: budgets.imapFoldersMs, timeout, logger: deps.logger, work: () => checkImapFolders(session, mailbox) });
    return [login, folders];
  } finally {
    await session.logout();
  }
}

async function smtpStep(deps: MailboxDoctorDeps, ctx: ServerContext, budgets: DoctorBudgets): Promise<DoctorStepT> {
  const connectMs = Math.min(CONNECT_SHARE_MS, budgets.smtpAuthMs);
  const options = smtpOptions(ctx, { connectMs, greetingMs: connectMs, socketMs: budgets.smtpAuthMs, dnsMs: connectMs });
  return runStep({
    step: 'smtp_auth',
    budgetMs: budgets.smtpAuthMs,
    timeout: noAnswer('SMTP', ctx.mailbox.smtp, deps.servers.noAnswerHints),
    logger: deps.logger,
    work: async () => {
      await deps.servers.verifySmtp(options);
      return describeSmtp(ctx.mailbox);
    },
  });
}

export async function diagnoseMailbox(deps: MailboxDoctorDeps, mailboxId: string): Promise<DiagnoseResultT> {
  const budgets = { ...DEFAULT_DOCTOR_BUDGETS, ...deps.budgets };
  const mailbox = await deps.mailboxes.get(mailboxId); // 404 for an unknown id
  let token: AccessToken | undefined;
  const tokenStep = await runStep({
    step: 'token',
    budgetMs: budgets.tokenMs,
    timeout: (ms) => new AppError('identity_platform_timeout', `No token from the identity platform within ${ms} ms.`, {
      hint: 'Check that the service can reach the identity platform (DNS, firewall, HTTPS_PROXY).',
      step: 'network',
    }),
    logger: deps.logger,
    work: async () => {
      token = await acquireToken(deps.tokens, mailbox);
      return describeToken(mailbox, token);
    },
  });
  const steps: DoctorStepT[] = [tokenStep];
  if (!tokenStep.ok || !token) {
    steps.push(...(['permissions', 'imap_login', 'imap_folders', 'smtp_auth'] as const).map((step) => skippedStep(step, 'no token')));
  } else {
    steps.push(permissionsStep(mailbox.flow, token));
    const ctx: ServerContext = { mailbox, token, ca: deps.trust.ca, logger: deps.logger };
    const [imap, smtp] = await Promise.all([imapSteps(deps, ctx, budgets), smtpStep(deps, ctx, budgets)]);
    steps.push(...imap, smtp);
  }
  const ok = steps.every((step) => step.ok);
  deps.logger.info({ mailboxId, ok, failed: steps.filter((s) => !s.ok).map((s) => s.step) }, 'mailbox diagnosed');
  return { ok, mailboxId, steps };
}

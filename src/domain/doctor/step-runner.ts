/**
 * One doctor step: timed, bounded in time, and turned into a result that
 * says what was found and, on failure, the code, the hint and the setup
 * guide's step that fixes it (problemOf, which asks classify()). A step
 * never throws: the doctor's later steps still run.
 */
import { classify } from '../../errors/classify.js';
import type { AppError } from '../../errors/errors.js';
import type { Logger } from '../../logging/logger.js';
import { problemOf } from './problem.js';

/** The doctor's steps, in the order it reports them. */
export type DoctorStepName = 'token' | 'permissions' | 'imap_login' | 'imap_folders' | 'smtp_auth';

export interface DoctorStepT {
  step: DoctorStepName;
  ok: boolean;
  /** What was found; `skipped: <why>` for a step that could not run. */
  detail: string;
  /** What to change, in the words of the setup guide. */
  hint?: string;
  /** The setup guide step that fixes it (see the README). */
  setupStep?: string;
  /** Stable error code of the failure. */
  code?: string;
  durationMs: number;
}

export function skippedStep(step: DoctorStepName, reason: string): DoctorStepT {
  return { step, ok: false, detail: `skipped: ${reason}`, durationMs: 0 };
}

export function failedStep(step: DoctorStepName, err: unknown, durationMs: number): DoctorStepT {
  const problem = problemOf(err);
  return {
    step,
    ok: false,
    detail: problem.detail,
    code: problem.code,
    ...(problem.hint ? { hint: problem.hint } : {}),
    ...(problem.setupStep ? { setupStep: problem.setupStep } : {}),
    durationMs,
  };
}

export interface StepRun {
  step: DoctorStepName;
  /** The most the step may take; then it fails with `timeout()`. */
  budgetMs: number;
  /** The error a step that ran out of time fails with. */
  timeout: (budgetMs: number) => AppError;
  /** Resolves with the step's detail on success. */
  work: () => Promise<string>;
  logger: Logger;
}

export async function runStep(run: StepRun): Promise<DoctorStepT> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const working = run.work();
  // A step that lost the race still settles later; its outcome no longer matters.
  working.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(run.timeout(run.budgetMs)), run.budgetMs);
  });
  try {
    const detail = await Promise.race([working, deadline]);
    return { step: run.step, ok: true, detail, durationMs: elapsed() };
  } catch (err) {
    // Expected failures carry their own code; anything else is a bug worth a log line.
    if (classify(err).code === 'internal') run.logger.warn({ err, step: run.step }, 'doctor step failed unexpectedly');
    return failedStep(run.step, err, elapsed());
  } finally {
    clearTimeout(timer);
  }
}

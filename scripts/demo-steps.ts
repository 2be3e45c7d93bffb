/**
 * A tiny step runner for the demo: numbered steps with timings; a failing
 * step says why and what to do, then the demo stops.
 */
export interface StepOptions {
  /** What the user should do when the step fails. */
  fix: string;
}

export class StepFailed extends Error {}

const green = (s: string) => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

export class Steps {
  private n = 0;

  async run<T>(title: string, options: StepOptions, work: () => Promise<T>): Promise<T> {
    this.n += 1;
    const started = performance.now();
    process.stdout.write(`${String(this.n).padStart(2)}. ${title} … `);
    try {
      const result = await work();
      process.stdout.write(`${green('ok')} ${dim(`(${Math.round(performance.now() - started)} ms)`)}\n`);
      return result;
    } catch (err) {
      process.stdout.write(`${red('failed')}\n`);
      process.stdout.write(`    why:  ${err instanceof Error ? err.message : String(err)}\n`);
      process.stdout.write(`    what to do: ${options.fix}\n`);
      throw new StepFailed(title);
    }
  }

  say(text: string): void {
    process.stdout.write(`${text.split('\n').map((line) => `    ${dim(line)}`).join('\n')}\n`);
  }
}

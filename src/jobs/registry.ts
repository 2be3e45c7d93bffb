/**
 * Job modules: each capability that runs background work (webhook delivery,
 * polling, sending) registers one. Worker roles start them all; API-only
 * processes never do. The registry refuses two modules with one name.
 */
export interface JobModule {
  /** A stable name, for logs and readiness. */
  readonly name: string;
  /** Starts this module's BullMQ workers and timers. */
  start(): Promise<void> | void;
  /** Stops taking new work and lets running jobs finish. */
  stop(): Promise<void>;
}

export class JobRegistry {
  private readonly modules = new Map<string, JobModule>();
  private started = false;

  register(module: JobModule): void {
    if (this.modules.has(module.name)) throw new Error(`job module ${module.name} registered twice`);
    this.modules.set(module.name, module);
  }

  names(): string[] {
    return [...this.modules.keys()];
  }

  async startAll(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const module of this.modules.values()) await module.start();
  }

  async stopAll(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await Promise.all([...this.modules.values()].map((m) => m.stop()));
  }
}

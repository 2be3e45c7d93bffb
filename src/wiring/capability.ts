/**
 * The one shape every capability is assembled into (connections and tokens,
 * mailboxes and polling, reading mail, sending, webhooks, sign-in,
 * operations): its services, its background jobs, its routes as Fastify
 * plugins, its readiness checks, and what to close. `container.ts` lists
 * the capabilities; `app.ts` registers their routes, in the list's order,
 * and builds nothing; the job runtime starts their jobs in worker roles.
 * Assembling a capability opens nothing (connections open on first use).
 */
import type { FastifyInstance } from 'fastify';
import type { ReadinessCheck } from '../http/routes/health.js';
import type { JobModule } from '../jobs/runtime.js';

export type RoutePlugin = (app: FastifyInstance) => Promise<void>;

/** Where app.ts registers a capability's route plugins. */
export interface CapabilityRoutes {
  /** At the root, beside the API (operations: /health, /metrics); each route guards itself. */
  readonly root?: RoutePlugin;
  /** Under /v1, behind the API key and the path id check. */
  readonly api?: RoutePlugin;
  /** Under /v1 without an API key (what browsers reach); each route documents `security: []`. */
  readonly public?: RoutePlugin;
}

export interface Capability<Services = unknown> {
  readonly name: string;
  readonly services: Services;
  /** Background work, started by worker roles only. */
  readonly jobs?: JobModule;
  readonly routes: CapabilityRoutes;
  readonly readiness: readonly ReadinessCheck[];
  /** Closes what the capability opened itself (after the jobs stopped, before Redis closes). */
  close(): Promise<void>;
}

export const nothingToClose = async (): Promise<void> => undefined;

/** Registers several route plugins, in order, as one. */
export function routesOf(...plugins: RoutePlugin[]): RoutePlugin {
  return async (app) => {
    for (const plugin of plugins) await app.register(plugin);
  };
}

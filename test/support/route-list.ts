/**
 * The routes an app really registered, read back from the app itself, so
 * tests that iterate over them also cover routes added later.
 *
 * Fastify has no public route listing, and `buildApp` leaves no place to add
 * an `onRoute` hook before its routes register. So this parses
 * `printRoutes({ commonPrefix: false })` (one node per line, children
 * indented by four columns, methods in parentheses) and confirms every
 * parsed route with `hasRoute`. The printer is lossy for wildcards (it
 * prints `/docs/static/*` as a `*` child of `/docs`): such a route cannot be
 * confirmed and is returned with `confirmed: false`, so a caller can insist
 * that only routes it does not care about are unconfirmed.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';

export interface RegisteredRoute {
  method: HTTPMethods;
  /** The route pattern as registered: `/v1/connections/:id`. */
  url: string;
  /** hasRoute() agrees that this method and pattern exist. */
  confirmed: boolean;
}

const LINE = /^(?<indent>[│ ]*)[├└]── (?<label>.+?) \((?<methods>[A-Z, ]+)\)$/u;

export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const stack: string[] = [];
  const routes: RegisteredRoute[] = [];
  for (const raw of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = LINE.exec(raw);
    if (!match?.groups) continue;
    const depth = Math.floor((match.groups.indent ?? '').length / 4);
    stack.length = depth;
    const url = `${stack.join('')}${match.groups.label ?? ''}`;
    stack.push(match.groups.label ?? '');
    for (const method of (match.groups.methods ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      routes.push({ method: method as HTTPMethods, url, confirmed: app.hasRoute({ method: method as HTTPMethods, url }) });
    }
  }
  return routes;
}

/** Lines printRoutes gave that this parser did not understand (a Fastify upgrade changed the format). */
export function unparsedRouteLines(app: FastifyInstance): string[] {
  return app.printRoutes({ commonPrefix: false }).split('\n').filter((line) => line.trim() !== '' && !LINE.test(line));
}

/** Sample values for path parameters: ids that do not exist, so handlers answer 404 before any upstream call. */
export const ABSENT_PARAMS: Readonly<Record<string, string>> = {
  id: 'zz_doesnotexist0000',
  uid: '4242',
  deliveryId: 'dlv_doesnotexist0000',
  '*': 'x',
};

/** A concrete URL for a route pattern, each `:param` (and `*`) replaced. */
export function concreteUrl(pattern: string, params: Readonly<Record<string, string>> = ABSENT_PARAMS): string {
  return pattern
    .replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ABSENT_PARAMS[name] ?? 'x'))
    .replace(/\*/g, () => params['*'] ?? 'x');
}

/** The OpenAPI path of a Fastify pattern: `/v1/x/:id` → `/v1/x/{id}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The OpenAPI document: valid, complete about security, and committed up to date. */
import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { renderOpenApiDocument } from '../../scripts/openapi-document.js';

/**
 * The only /v1 operations without the API key: browsers reach them (Microsoft's redirect back after a
 * sign-in, and an application's "Sign in with Microsoft" link). Documented with `security: []`.
 */
const PUBLIC_OPERATIONS = ['get /v1/oauth/callback', 'get /v1/connections/{id}/login', 'get /v1/oauth/admin-consent'];

type Operation = { security?: Record<string, string[]>[]; responses?: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, Operation>> };

describe('openapi/openapi.json', () => {
  it('matches the route schemas (run `npm run openapi` after changing a route)', async () => {
    const committed = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
    expect(committed).toBe(await renderOpenApiDocument());
  });

  it('is a valid OpenAPI document', async () => {
    const doc = JSON.parse(await renderOpenApiDocument()) as Doc;
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('declares the API key on every /v1 operation but the documented browser routes, and error responses as problems', async () => {
    const doc = JSON.parse(await renderOpenApiDocument()) as Doc;
    const v1 = Object.entries(doc.paths).filter(([path]) => path.startsWith('/v1'));
    expect(v1.length).toBeGreaterThan(0);
    const publicSeen: string[] = [];
    for (const [path, methods] of v1) {
      for (const [method, op] of Object.entries(methods)) {
        const name = `${method} ${path}`;
        if (PUBLIC_OPERATIONS.includes(name)) {
          publicSeen.push(name);
          expect(op.security, name).toEqual([]);
          expect(Object.keys(op.responses ?? {}), name).not.toContain('401');
          continue;
        }
        expect(op.security, name).toEqual([{ apiKey: [] }]);
        expect(Object.keys(op.responses ?? {}), name).toContain('401');
      }
    }
    expect(publicSeen.sort()).toEqual([...PUBLIC_OPERATIONS].sort());
  });
});

/**
 * The typed client's generated schema is up to date with openapi/openapi.json, and this check
 * fails when it is not: regenerated in memory, compared with the committed file.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENT_GENERATE_COMMAND, CLIENT_SCHEMA_FILE, OPENAPI_FILE, renderClientSchema } from '../../scripts/client-schema.js';

/** Why `committed` is not the schema of `document`, or null when it is. */
async function staleness(committed: string, documentJson: string): Promise<string | null> {
  const fresh = await renderClientSchema(documentJson);
  if (fresh === committed) return null;
  return `clients/typescript/src/schema.ts is stale: run \`${CLIENT_GENERATE_COMMAND}\` and commit it`;
}

const committedSchema = () => readFile(CLIENT_SCHEMA_FILE, 'utf8');
const committedDocument = () => readFile(OPENAPI_FILE, 'utf8');

describe('clients/typescript/src/schema.ts', () => {
  it('is what openapi-typescript makes of openapi/openapi.json', async () => {
    const reason = await staleness(await committedSchema(), await committedDocument());
    expect(reason, reason ?? undefined).toBeNull();
  });

  it('is found stale when the document changes (a new field on POST /v1/send)', async () => {
    const document = JSON.parse(await committedDocument()) as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }>;
    };
    const sendBody = document.paths['/v1/send']!.post.requestBody.content['application/json']!.schema;
    sendBody.properties.priority = { type: 'string', enum: ['low', 'high'] };
    const changed = JSON.stringify(document, null, 2);

    const reason = await staleness(await committedSchema(), changed);
    expect(reason).toMatch(/run `npm run client:generate`/);
    expect(await renderClientSchema(changed)).toMatch(/priority\?: "low" \| "high";/);
  });

  it('names the npm script that regenerates it', async () => {
    const scripts = (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(CLIENT_GENERATE_COMMAND).toBe('npm run client:generate');
    expect(scripts['client:generate']).toBe('tsx scripts/generate-client.ts');
  });
});

describe('clients/typescript/package.json', () => {
  it('asks for the versions of its dependencies the repository installs and tests it with', async () => {
    const read = async (path: string) => JSON.parse(await readFile(new URL(path, import.meta.url), 'utf8')) as Record<string, Record<string, string>>;
    const root = await read('../../package.json');
    const client = await read('../../clients/typescript/package.json');
    expect(Object.keys(client.dependencies!).sort()).toEqual(['openapi-fetch', 'standardwebhooks']);
    for (const [name, range] of Object.entries(client.dependencies!)) {
      expect(range, name).toBe(root.devDependencies![name]);
    }
  });
});

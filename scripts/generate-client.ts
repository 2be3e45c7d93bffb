// Writes clients/typescript/src/schema.ts from openapi/openapi.json (npm run client:generate).
import { readFile, writeFile } from 'node:fs/promises';
import { CLIENT_SCHEMA_FILE, OPENAPI_FILE, renderClientSchema } from './client-schema.js';

await writeFile(CLIENT_SCHEMA_FILE, await renderClientSchema(await readFile(OPENAPI_FILE, 'utf8')));
process.stdout.write('clients/typescript/src/schema.ts written\n');

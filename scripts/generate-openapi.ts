// Writes openapi/openapi.json from the route schemas (npm run openapi).
import { writeFile } from 'node:fs/promises';
import { renderOpenApiDocument } from './openapi-document.js';

await writeFile(new URL('../openapi/openapi.json', import.meta.url), await renderOpenApiDocument());
process.stdout.write('openapi/openapi.json written\n');

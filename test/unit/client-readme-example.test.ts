/**
 * The README's typed-client example is the code of clients/typescript/examples/reply-bot.ts, which
 * `npm run typecheck` compiles and test/integration/typed-client.test.ts runs: a change to one
 * without the other fails here.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/** The first ```ts block of the README section whose heading starts with `heading`. */
function exampleIn(readme: string, heading: string): string | undefined {
  const section = readme.slice(readme.indexOf(`\n${heading}`));
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1];
}

describe('README, Typed client', () => {
  it('shows the example as it is in clients/typescript/examples/reply-bot.ts', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const source = await readFile(new URL('../../clients/typescript/examples/reply-bot.ts', import.meta.url), 'utf8');
    const example = exampleIn(readme, '### Typed client');
    expect(example, 'no ```ts block in the README section').toBeDefined();
    expect(example).toContain('verifyWebhook(secret, req.headers, body)');
    expect(source, 'the README example differs from examples/reply-bot.ts').toContain(example);
  });
});

/** The sign-in result page: everything escaped, nothing external, and a CSP that admits exactly its own style. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PAGE_CSP, renderPage } from '../../src/http/pages/oauth-page.js';

describe('the OAuth result page', () => {
  const html = renderPage({
    status: 400,
    title: 'Wrong <account>',
    message: `You signed in as "x'@y" <script>alert(1)</script>`,
    hint: 'Use a private window & try again',
    code: 'wrong_account',
    requestId: 'req-<1>',
    link: { href: 'https://app.example.com/?a=1&b="2"', text: 'Back' },
  });

  it('escapes every value', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('&#34;x&#39;@y&#34;');
    expect(html).toContain('href="https://app.example.com/?a=1&#38;b=&#34;2&#34;"');
    expect(html).toContain('Wrong &#60;account&#62;');
    expect(html).toContain('req-&#60;1&#62;');
  });

  it('loads nothing and runs nothing', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|@import|url\(/i);
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(PAGE_CSP).toContain("frame-ancestors 'none'");
  });

  it("allows its inline style by the style's own hash", () => {
    const style = /<style>([^<]*)<\/style>/.exec(html)![1]!;
    const hash = createHash('sha256').update(style).digest('base64');
    expect(PAGE_CSP).toContain(`style-src 'sha256-${hash}'`);
  });
});

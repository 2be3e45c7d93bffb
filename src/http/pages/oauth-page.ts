/**
 * The small HTML page a browser sees at the end of a sign-in: which account
 * is now connected, or what went wrong and what to do.
 *
 * Self-contained (no scripts, fonts, images or other requests), every
 * interpolated value escaped, and sent with headers that keep it out of
 * caches, frames and referrers: the URL that led here carried a code and a
 * state. The one stylesheet is inline and allowed by its hash in the CSP.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';

export interface PageContent {
  status: number;
  title: string;
  /** The one sentence that matters: who is connected, or what failed. */
  message: string;
  hint?: string | undefined;
  /** The stable error code, for support. */
  code?: string | undefined;
  requestId: string;
  /** An http(s) link to offer (an allow-listed returnTo). */
  link?: { href: string; text: string } | undefined;
}

const STYLE =
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}' +
  'main{max-width:36rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}' +
  'h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}.ok h1{color:#107c10}.fail h1{color:#a4262c}' +
  '.hint{background:#f3f2f1;padding:.75rem 1rem;border-radius:4px}small{color:#605e5c}';

const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/** Nothing may load, run, frame this page or be submitted from it; only its own stylesheet applies. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src '${STYLE_HASH}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderPage(page: PageContent): string {
  const ok = page.status < 400;
  const parts = [
    `<h1>${escapeHtml(page.title)}</h1>`,
    `<p id="message">${escapeHtml(page.message)}</p>`,
    page.hint ? `<p class="hint" id="hint">${escapeHtml(page.hint)}</p>` : '',
    page.link ? `<p><a href="${escapeHtml(page.link.href)}" rel="noreferrer">${escapeHtml(page.link.text)}</a></p>` : '',
    `<p><small>${page.code ? `Error code: ${escapeHtml(page.code)} · ` : ''}Request id: ${escapeHtml(page.requestId)}</small></p>`,
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(page.title)} · mailsync</title>
<style>${STYLE}</style></head>
<body><main class="${ok ? 'ok' : 'fail'}">
${parts.filter(Boolean).join('\n')}
</main></body></html>
`;
}

/** Headers for anything these routes answer, pages and redirects alike. */
export function noStoreHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff');
}

export function sendPage(reply: FastifyReply, page: PageContent): FastifyReply {
  return noStoreHeaders(reply)
    .code(page.status)
    .header('content-security-policy', PAGE_CSP)
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(renderPage(page));
}

/** The OpenAPI description of a page response. */
export function htmlResponse(description: string) {
  return { description, content: { 'text/html': { schema: Type.String() } } };
}

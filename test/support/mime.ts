/** Hand-built MIME messages for the mail reading tests: bytes we control exactly, CRLF line endings. */
import { randomUUID } from 'node:crypto';

export interface TestAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Without angle brackets; makes the part inline. */
  contentId?: string;
}

export interface MultipartOptions {
  to: string;
  subject: string;
  text: string;
  html: string;
  attachments: TestAttachment[];
  from?: string;
}

/** base64 in lines of 76 characters (RFC 2045). */
function base64Lines(content: Buffer): string {
  return (content.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** multipart/mixed: multipart/alternative (text, html), then the attachments. */
export function multipartMessage(options: MultipartOptions): Buffer {
  const mixed = `mixed-${randomUUID()}`;
  const alternative = `alt-${randomUUID()}`;
  const lines = [
    `From: ${options.from ?? 'Customer <customer@example.org>'}`,
    `To: ${options.to}`,
    `Subject: ${options.subject}`,
    `Message-ID: <${randomUUID()}@example.org>`,
    'Date: Tue, 03 Jun 2025 10:00:00 +0000',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${mixed}"`,
    '',
    `--${mixed}`,
    `Content-Type: multipart/alternative; boundary="${alternative}"`,
    '',
    `--${alternative}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    options.text,
    `--${alternative}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    options.html,
    `--${alternative}--`,
  ];
  for (const a of options.attachments) {
    lines.push(
      `--${mixed}`,
      `Content-Type: ${a.contentType}; name="${a.filename}"`,
      'Content-Transfer-Encoding: base64',
      a.contentId ? `Content-Disposition: inline; filename="${a.filename}"` : `Content-Disposition: attachment; filename="${a.filename}"`,
      ...(a.contentId ? [`Content-ID: <${a.contentId}>`] : []),
      '',
      base64Lines(a.content),
    );
  }
  lines.push(`--${mixed}--`, '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

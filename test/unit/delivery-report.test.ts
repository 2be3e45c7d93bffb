/**
 * Reading delivery status notifications (issue 17): samples written by hand
 * from RFC 3464's examples and Exchange Online's documented NDR shape, and
 * malformed or hostile ones (no crash, no false match).
 */
import { describe, expect, it } from 'vitest';
import { isDeliveryReportType, MAX_REPORTED_RECIPIENTS, readDeliveryReport } from '../../src/domain/sending/delivery-report.js';
import { newMessageId, sendIdOfMessageId } from '../../src/domain/sending/message.js';

const SEND_ID = 'snd_AbCdEfGhIjKlMnOp';
const ORIGINAL_ID = `<${SEND_ID}.2f0c6a52-1b1e-4a7e-9a55-0e1f2a3b4c5d@contoso.example>`;

/** RFC 3464 appendix-style report from a generic MTA: text, status, the whole original message. */
const RFC3464 = [
  'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>',
  'To: <agent@contoso.example>',
  'Subject: Returned mail: see transcript for details',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status;',
  '\tboundary="RAA14128.773615765/CS.UTK.EDU"',
  '',
  'This is a MIME-encapsulated message',
  '',
  '--RAA14128.773615765/CS.UTK.EDU',
  'Content-Type: text/plain',
  '',
  'The original message was received at Sat, 5 Dec 2026 17:42:48 -0500',
  '   ----- The following addresses had permanent fatal errors -----',
  '<nobody@example.org>',
  '',
  '--RAA14128.773615765/CS.UTK.EDU',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.org',
  'Arrival-Date: Sat, 5 Dec 2026 17:42:48 -0500',
  '',
  'Final-Recipient: RFC822; nobody@example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Remote-MTA: DNS; mx2.example.org',
  'Diagnostic-Code: SMTP; 550 5.1.1 <nobody@example.org>... User',
  '  unknown',
  'Last-Attempt-Date: Sat, 5 Dec 2026 17:42:49 -0500',
  '',
  'Final-Recipient: rfc822; slow@example.net',
  'Action: delayed',
  'Status: 4.4.7',
  'Will-Retry-Until: Mon, 7 Dec 2026 17:42:49 -0500',
  '',
  'Final-Recipient: rfc822; fine@example.net',
  'Action: delivered',
  'Status: 2.0.0',
  '',
  '--RAA14128.773615765/CS.UTK.EDU',
  'Content-Type: message/rfc822',
  '',
  'From: agent@contoso.example',
  'To: nobody@example.org, slow@example.net, fine@example.net',
  `Message-ID: ${ORIGINAL_ID}`,
  'Subject: Your ticket',
  '',
  'Hello.',
  '',
  '--RAA14128.773615765/CS.UTK.EDU--',
  '',
].join('\r\n');

/** Exchange Online's NDR: alternative text and HTML, the status, the original's headers only. */
const EXCHANGE_NDR = [
  'From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>',
  'To: <agent@contoso.example>',
  'Subject: Undeliverable: Your ticket',
  'Content-Type: multipart/report; report-type="delivery-status";',
  '\tboundary="_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_"',
  'MIME-Version: 1.0',
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_',
  'Content-Type: multipart/alternative; boundary="_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_x"',
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_x',
  'Content-Type: text/plain; charset="us-ascii"',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  "Your message to ghost@fabrikam.example couldn't be delivered.=0D=0A",
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_x--',
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns;DM6PR11MB4691.namprd11.prod.outlook.com',
  'Received-From-MTA: dns;DM6PR11MB4691.namprd11.prod.outlook.com',
  'Arrival-Date: Sun, 6 Dec 2026 18:00:00 +0000',
  '',
  'Final-Recipient: rfc822;ghost@fabrikam.example',
  'Action: failed',
  'Status: 5.1.10',
  'Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@fabrikam.example not found by SMTP address lookup',
  'X-Display-Name: ghost@fabrikam.example',
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_',
  'Content-Type: text/rfc822-headers',
  '',
  'Return-Path: agent@contoso.example',
  'From: Agent <agent@contoso.example>',
  'To: ghost@fabrikam.example',
  'Subject: Your ticket',
  `Message-ID: ${ORIGINAL_ID}`,
  `X-Mailsync-Send-Id: ${SEND_ID}`,
  '',
  '--_000_DM6PR11MB4691A1B2C3D4E5F6DM6PR11MB4691namp_--',
  '',
].join('\r\n');

describe('delivery status notifications', () => {
  it('recognises a report by its Content-Type only', () => {
    expect(isDeliveryReportType('multipart/report; report-type=delivery-status; boundary=x')).toBe(true);
    expect(isDeliveryReportType('Multipart/Report; boundary="x"; report-type="global-delivery-status"')).toBe(true);
    expect(isDeliveryReportType('multipart/report; report-type=disposition-notification; boundary=x')).toBe(false);
    expect(isDeliveryReportType('multipart/mixed; report-type=delivery-status')).toBe(false);
    expect(isDeliveryReportType(null)).toBe(false);
  });

  it('reads an RFC 3464 report: failed and delayed recipients, not the delivered one, and the original Message-ID', () => {
    expect(readDeliveryReport(RFC3464)).toEqual({
      originalMessageId: ORIGINAL_ID,
      originalSendId: null,
      recipients: [
        { recipient: 'nobody@example.org', action: 'failed', status: '5.1.1', diagnosticCode: '550 5.1.1 <nobody@example.org>... User unknown' },
        { recipient: 'slow@example.net', action: 'delayed', status: '4.4.7', diagnosticCode: null },
      ],
    });
  });

  it("reads Exchange Online's NDR, whose inner boundary starts like the outer one", () => {
    const report = readDeliveryReport(EXCHANGE_NDR);
    expect(report).toEqual({
      originalMessageId: ORIGINAL_ID,
      originalSendId: SEND_ID,
      recipients: [{
        recipient: 'ghost@fabrikam.example', action: 'failed', status: '5.1.10',
        diagnosticCode: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@fabrikam.example not found by SMTP address lookup',
      }],
    });
  });

  it('decodes a base64 status part and a global (UTF-8) report, and reads one cut short', () => {
    const status = Buffer.from('Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: utf-8; jörg@exämple.de\r\nAction: failed\r\nStatus: 5.1.1\r\n').toString('base64');
    const global = [
      'Content-Type: multipart/report; report-type=global-delivery-status; boundary=b',
      '', '--b', 'Content-Type: message/global-delivery-status', 'Content-Transfer-Encoding: base64', '', status, '--b',
      'Content-Type: message/global-headers', '', `Message-ID: ${ORIGINAL_ID}`, '',
    ].join('\r\n');
    expect(readDeliveryReport(global)).toMatchObject({ originalMessageId: ORIGINAL_ID, recipients: [{ recipient: 'jörg@exämple.de', status: '5.1.1' }] });
    // Cut inside the original message (a download stops at its limit): the status part still reads.
    expect(readDeliveryReport(RFC3464.slice(0, RFC3464.indexOf('Subject: Your ticket')))?.recipients).toHaveLength(2);
  });

  it('is no report when malformed: not a report, no boundary, no status part, no failed recipient, odd fields', () => {
    expect(readDeliveryReport('Subject: hello\r\n\r\nbody')).toBeUndefined();
    expect(readDeliveryReport('Content-Type: multipart/report; report-type=delivery-status\r\n\r\n--x\r\n')).toBeUndefined();
    expect(readDeliveryReport(RFC3464.replace('message/delivery-status', 'text/plain'))).toBeUndefined();
    expect(readDeliveryReport(RFC3464.replace(/Action: (failed|delayed)/g, 'Action: relayed'))).toBeUndefined();
    const odd = readDeliveryReport(RFC3464
      .replace('Final-Recipient: RFC822; nobody@example.org', 'Final-Recipient: rfc822;')
      .replace('Status: 4.4.7', 'Status: soon')
      .replace(`Message-ID: ${ORIGINAL_ID}`, 'Message-ID: not an id'));
    expect(odd).toEqual({ originalMessageId: null, originalSendId: null, recipients: [{ recipient: 'slow@example.net', action: 'delayed', status: null, diagnosticCode: null }] });
    expect(readDeliveryReport('')).toBeUndefined();
  });

  it('stays bounded on a hostile report: thousands of recipients and parts, endless fields', () => {
    const recipients = Array.from({ length: 5_000 }, (_, i) => `Final-Recipient: rfc822; r${i}@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; ${'x'.repeat(5_000)}`).join('\r\n\r\n');
    const hostile = [
      'Content-Type: multipart/report; report-type=delivery-status; boundary=b', '',
      ...Array.from({ length: 50 }, () => '--b\r\nContent-Type: text/plain\r\n\r\nnoise'),
      '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx', '', recipients, '--b--',
    ].join('\r\n');
    // The status part comes after 50 parts: past the parts read, so no report.
    expect(readDeliveryReport(hostile)).toBeUndefined();
    const report = readDeliveryReport(hostile.replace(/(--b\r\nContent-Type: text\/plain\r\n\r\nnoise\r\n)+/, ''));
    expect(report?.recipients).toHaveLength(MAX_REPORTED_RECIPIENTS);
    expect(report!.recipients.every((r) => (r.diagnosticCode ?? '').length <= 1_000)).toBe(true);
    // A boundary absurdly long is no report.
    expect(readDeliveryReport(`Content-Type: multipart/report; report-type=delivery-status; boundary=${'b'.repeat(300)}\r\n\r\n`)).toBeUndefined();
  });

  it('names the send in the Message-IDs mailsync makes, and no other', () => {
    const id = newMessageId('agent@contoso.example', SEND_ID);
    expect(id).toMatch(/^<snd_AbCdEfGhIjKlMnOp\.[0-9a-f-]{36}@contoso\.example>$/);
    expect(sendIdOfMessageId(id)).toBe(SEND_ID);
    expect(sendIdOfMessageId('<2f0c6a52-1b1e-4a7e-9a55-0e1f2a3b4c5d@contoso.example>')).toBeNull();
    expect(sendIdOfMessageId('<snd_short.x@contoso.example>')).toBeNull();
    expect(sendIdOfMessageId(null)).toBeNull();
  });
});

/**
 * Large mailboxes for the benchmarks without delivering a message at a time: one Maildir of
 * realistic messages is written once, then hard-linked (`cp -al`) into each user's home on the
 * sandbox Dovecot. Dovecot keeps flags in Maildir file names, so a flag change renames one
 * user's link and an expunge unlinks it: the users stay independent.
 *
 * The messages look like an Exchange Online inbox: most Message-IDs are Exchange's
 * `<{server}{32 hex}@{server}.{region}.prod.outlook.com>` from a few dozen servers, some come
 * from Gmail and other hosts; about 85 % are \Seen, 10 % \Answered, 3 % \Flagged.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAIL_UID } from '../../sandbox/dovecot-config.js';

const run = promisify(execFile);

const REGIONS = ['namprd11', 'namprd04', 'namprd12', 'namprd02', 'eurprd07', 'eurprd04', 'apcprd06', 'gbrp265'];
const PREFIXES = ['DM6PR', 'BY5PR', 'SN6PR', 'CH2PR', 'MW4PR', 'PH0PR', 'AM0PR', 'DB9PR', 'SG2PR', 'LO2P'];

const hex = (bytes: number): string => randomBytes(bytes).toString('hex').toUpperCase();
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

/** Exchange servers a mailbox hears from: a few dozen, each with its region. */
const SERVERS = Array.from({ length: 40 }, () => {
  const region = pick(REGIONS);
  return { name: `${pick(PREFIXES)}${10 + Math.floor(Math.random() * 90)}MB${1000 + Math.floor(Math.random() * 9000)}`, region };
});

/** A Message-ID as an Exchange Online mailbox's messages carry them (80 % Exchange, 12 % Gmail, 8 % others). */
export function realisticMessageId(): string {
  const r = Math.random();
  if (r < 0.8) {
    const server = pick(SERVERS);
    return `<${server.name}${hex(16)}@${server.name}.${server.region}.prod.outlook.com>`;
  }
  if (r < 0.92) return `<CA${randomBytes(30).toString('base64url')}@mail.gmail.com>`;
  return `<${randomBytes(12).toString('hex')}.${Date.now()}@${pick(['mailchimpapp.net', 'sendgrid.net', 'amazonses.com', 'salesforce.com'])}>`;
}

function message(to: string, i: number): string {
  const messageId = realisticMessageId();
  const date = new Date(Date.now() - (1000 - (i % 1000)) * 3_600_000);
  const body = `Hello,\n\nthis is message ${i} of a benchmark mailbox. ${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(12)}\n\nRegards,\nA customer\n`;
  return [
    `Received: from ${pick(SERVERS).name}.${pick(REGIONS)}.prod.outlook.com (2603:10b6:5:3a8::${hex(2).toLowerCase()}) by`,
    ` ${pick(SERVERS).name}.outlook.office365.com with HTTPS; ${date.toUTCString()}`,
    `From: Customer ${i} <customer${i % 97}@example.org>`,
    `To: ${to}`,
    `Subject: Order ${100_000 + i}: question about the invoice`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset="us-ascii"',
    `X-MS-Exchange-Organization-Network-Message-Id: ${randomBytes(16).toString('hex')}`,
    '',
    body,
  ].join('\n');
}

function flags(): string {
  const out: string[] = [];
  if (Math.random() < 0.03) out.push('F');
  if (Math.random() < 0.1) out.push('R');
  if (Math.random() < 0.85) out.push('S');
  return out.join(''); // Maildir flags, ASCII-sorted
}

/**
 * Writes `count` messages into `<dir>/Maildir/cur` (or into the Maildir++ folder `folder`, e.g.
 * `.Big`), owned by Dovecot's mail uid, with exact S= and W= sizes in the names (Dovecot then
 * needs no stat to answer sizes).
 */
export async function writeMaildir(dir: string, count: number, options: { folder?: string; to?: string } = {}): Promise<void> {
  const root = join(dir, 'Maildir');
  const box = options.folder ? join(root, options.folder) : root;
  for (const d of [dir, root, box, join(box, 'cur'), join(box, 'new'), join(box, 'tmp')]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chown(d, MAIL_UID, MAIL_UID);
  }
  if (options.folder) {
    await writeFile(join(box, 'maildirfolder'), '');
    await chown(join(box, 'maildirfolder'), MAIL_UID, MAIL_UID);
  }
  const stamp = Math.floor(Date.now() / 1000) - 86_400;
  for (let i = 0; i < count; i++) {
    const text = message(options.to ?? 'bench@contoso.example', i);
    const size = Buffer.byteLength(text);
    const lines = text.split('\n').length - 1;
    const name = `${stamp + i}.M${i}P1.bench,S=${size},W=${size + lines}:2,${flags()}`;
    await writeFile(join(box, 'cur', name), text, { mode: 0o600 });
    await chown(join(box, 'cur', name), MAIL_UID, MAIL_UID);
  }
}

/**
 * Hard-links the home `template` (as written by writeMaildir) to `<mailDir>/<user>` for each
 * user, two `cp -al` at a time (ownership and modes come along: links share the inode).
 */
export async function linkMaildirs(template: string, mailDir: string, users: readonly string[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < users.length) {
      const user = users[next++]!;
      await run('cp', ['-al', template, join(mailDir, user.toLowerCase())]);
    }
  };
  await Promise.all([lane(), lane()]);
}

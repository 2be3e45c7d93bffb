/**
 * A private Dovecot 2.3 instance that stands in for Exchange Online's IMAP:
 * implicit TLS on a free loopback port, XOAUTH2 with Entra-shaped tokens
 * checked locally against the sandbox signing key, Maildir storage, and
 * doveadm-based helpers to put mail in and look at mailboxes.
 *
 * Needs root (dovecot's master switches to the login, auth and mail uids)
 * and Debian's `dovecot-imapd`. The configuration is in dovecot-config.ts.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  DEFAULT_SPECIAL_USE,
  MAIL_UID,
  dovecotPaths,
  keyFilePath,
  renderAppPassdb,
  renderDovecotConf,
  renderSpecialUse,
  renderUserPassdb,
  type DovecotConfigInput,
  type SpecialUse,
} from './dovecot-config.js';
import { DoveadmError, doveadmFor, parseFlow } from './doveadm.js';
import type { SandboxPki, SigningKey } from './pki.js';
import { freePort } from './ports.js';
import { processName, processTree, waitUntilGone } from './procfs.js';
import { spawnTethered, type TetheredProcess } from './tethered.js';

export type { SpecialUse } from './dovecot-config.js';

export interface StartDovecotOptions {
  pki: SandboxPki;
  /** Instance directory; default a fresh temp dir, removed by stop(). */
  dir?: string;
  /** Accepted token issuers; default any (tenant ids vary per test). */
  issuers?: string[];
  /** Expected token audience; default https://outlook.office365.com. */
  audience?: string;
  /** Concurrent IMAP connections to allow; default Dovecot's 100 (benchmarks keep thousands open). */
  maxConnections?: number;
}

export interface MailboxStatus {
  messages: number;
  uidNext: number;
  uidValidity: number;
}

export interface SandboxDovecot {
  host: '127.0.0.1';
  /** IMAPS (implicit TLS), as outlook.office365.com:993. */
  port: number;
  /** Plain IMAP with STARTTLS. */
  plainPort: number;
  dir: string;
  configFile: string;
  logFile: string;
  /** Pid of the dovecot master process. */
  pid: number;
  /** A fixed AUTH=PLAIN account, for diagnostics (tokens are the real way in). */
  plainLogin: { user: string; password: string };
  /** Appends a message to a folder (default INBOX), creating the folder as needed. */
  deliver(user: string, rawMessage: string | Buffer, folder?: string): Promise<void>;
  /**
   * Many messages to INBOX at once (a backlog): the first by `deliver`, the rest written
   * straight into the Maildir (tmp/, then renamed into new/), where Dovecot gives them UIDs at
   * its next look, in no particular order.
   */
  deliverMany(user: string, rawMessages: readonly (string | Buffer)[]): Promise<void>;
  /**
   * deliverMany in two steps, for a backlog that lands in one moment (bench/poll): the messages are
   * written into the Maildir's tmp/ (no client sees them yet; the first is delivered by `deliver`
   * when the user has no Maildir yet), and `land` renames them all into new/.
   */
  stageMany(user: string, rawMessages: readonly (string | Buffer)[]): Promise<{ land(): Promise<void> }>;
  /**
   * One message into INBOX as received at `receivedAt` (its INTERNALDATE, what IMAP SEARCH SINCE
   * and BEFORE compare): written into the Maildir with that modification time, which Dovecot reads
   * as the received date. The user's INBOX must exist (deliver a message first).
   */
  deliverReceivedAt(user: string, rawMessage: string | Buffer, receivedAt: Date): Promise<void>;
  /** Creates (and subscribes) a folder; a special use applies to that folder name in every mailbox. */
  createFolder(user: string, folder: string, specialUse?: SpecialUse): Promise<void>;
  /**
   * Gives the folder a new UIDVALIDITY and renumbers its messages from UID 1,
   * keeping their content, order and flags: what a client sees when Exchange
   * recreates or moves a folder. Disconnects the user's open IMAP sessions
   * first. See the implementation for how.
   */
  resetUidValidity(user: string, folder: string): Promise<void>;
  status(user: string, folder: string): Promise<MailboxStatus>;
  /** Trusts one more signing key (key rotation tests). */
  trustKey(key: Pick<SigningKey, 'kid' | 'publicKeyPem'>): Promise<void>;
  /**
   * Stops the server (every IMAP connection drops, new ones are refused) but
   * keeps its dir, mail and ports, for resume(): an outage, for fault tests.
   * Mail cannot be delivered meanwhile (doveadm needs the auth process).
   */
  pause(): Promise<void>;
  /** Starts the paused server again with the same configuration, ports and mail. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

export async function startDovecot(opts: StartDovecotOptions): Promise<SandboxDovecot> {
  const ownDir = !opts.dir;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mailsync-dovecot-')));
  const paths = dovecotPaths(dir);
  const port = await freePort();
  let plainPort = await freePort();
  while (plainPort === port) plainPort = await freePort();
  const input: DovecotConfigInput = {
    dir,
    // Unique per instance: dovecot refuses a second master with the same name/base_dir.
    instanceName: basename(dir).startsWith('mailsync') ? basename(dir) : `mailsync-${basename(dir)}`,
    port,
    plainPort,
    certFile: opts.pki.serverCertFile,
    keyFile: opts.pki.serverKeyFile,
    issuers: opts.issuers ?? [],
    audience: opts.audience,
    maxConnections: opts.maxConnections,
  };

  // mkdtemp makes the dir 0700: the auth process (user dovecot) reads the
  // keys and the mail processes (uid 5000) walk down to their Maildir.
  await chmod(dir, 0o755);
  // A stale run dir (sockets, master.pid) from a killed instance blocks start.
  await rm(paths.runDir, { recursive: true, force: true });
  for (const d of [paths.stateDir, dirname(paths.logFile), paths.keysDir]) await mkdir(d, { recursive: true, mode: 0o755 });
  await mkdir(paths.mailDir, { recursive: true, mode: 0o700 });
  await chown(paths.mailDir, MAIL_UID, MAIL_UID); // uid 5000 needs no passwd entry

  const plainLogin = { user: 'plain@sandbox.test', password: randomBytes(12).toString('hex') };
  await writeFile(paths.passwdFile, `${plainLogin.user}:${plainLogin.password}\n`, { mode: 0o644 });
  await writeFile(paths.userPassdbFile, renderUserPassdb(input));
  await writeFile(paths.appPassdbFile, renderAppPassdb(input));
  const specialUse: Record<string, SpecialUse> = {};
  await writeFile(paths.specialUseFile, '');
  await writeFile(paths.configFile, renderDovecotConf(input));

  const trustKey = async (key: Pick<SigningKey, 'kid' | 'publicKeyPem'>): Promise<void> => {
    const file = keyFilePath(dir, key.kid);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, key.publicKeyPem, { mode: 0o644 });
  };
  await trustKey(opts.pki.signingKey);

  const launch = async (): Promise<TetheredProcess> => {
    const started = await spawnTethered('dovecot', ['-F', '-c', paths.configFile]);
    try {
      await waitUntilReady(plainPort, () => started.child.exitCode !== null);
    } catch (err) {
      await started.stop(2_000);
      throw new Error(`dovecot did not start: ${String(err)}\n${started.stderrTail()}`);
    }
    return started;
  };
  let server = await launch();

  const doveadm = doveadmFor(paths.configFile);

  const createMailbox = async (user: string, folder: string): Promise<void> => {
    try {
      await doveadm(['mailbox', 'create', '-s', '-u', user, folder]);
    } catch (err) {
      if (!(err instanceof DoveadmError && /exists/i.test(err.stderr))) throw err;
    }
  };

  const status = async (user: string, folder: string): Promise<MailboxStatus> => {
    const out = await doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'messages uidnext uidvalidity', folder]);
    const record = parseFlow(out)[0] ?? {};
    return { messages: Number(record.messages), uidNext: Number(record.uidnext), uidValidity: Number(record.uidvalidity) };
  };

  const save = (user: string, raw: string | Buffer, folder: string): Promise<string> =>
    doveadm(['save', '-u', user, '-m', folder], raw);

  const deliver = async (user: string, rawMessage: string | Buffer, folder = 'INBOX'): Promise<void> => {
    try {
      await save(user, rawMessage, folder);
    } catch (err) {
      if (!(err instanceof DoveadmError && /exist/i.test(err.stderr))) throw err;
      await createMailbox(user, folder);
      await save(user, rawMessage, folder);
    }
  };

  /** Runs `task` on every item, at most `width` at once. */
  const eachLimited = async <T>(items: readonly T[], width: number, task: (item: T, i: number) => Promise<void>): Promise<void> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length) {
        const i = next++;
        await task(items[i]!, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  };

  /** Writes the messages into the user's Maildir tmp/; `land` renames them into new/. */
  const stage = async (user: string, rawMessages: readonly (string | Buffer)[]): Promise<{ land(): Promise<void> }> => {
    const maildir = join(paths.mailDir, user, 'Maildir');
    const stamp = `${Math.floor(Date.now() / 1000)}.M${randomBytes(4).toString('hex')}`;
    const names = rawMessages.map((_, i) => `${stamp}_${i}.sandbox`);
    await eachLimited(rawMessages, 16, async (raw, i) => {
      await writeFile(join(maildir, 'tmp', names[i]!), raw);
      await chown(join(maildir, 'tmp', names[i]!), MAIL_UID, MAIL_UID);
    });
    return { land: () => eachLimited(names, 16, (name) => rename(join(maildir, 'tmp', name), join(maildir, 'new', name))) };
  };

  const stageMany = async (user: string, rawMessages: readonly (string | Buffer)[]): Promise<{ land(): Promise<void> }> => {
    const [first, ...rest] = rawMessages;
    if (first === undefined) return { land: async () => undefined };
    const exists = await stat(join(paths.mailDir, user, 'Maildir', 'new')).then(() => true, () => false);
    if (exists) return stage(user, rawMessages);
    await deliver(user, first);
    return stage(user, rest);
  };

  const deliverMany = async (user: string, rawMessages: readonly (string | Buffer)[]): Promise<void> => {
    const [first, ...rest] = rawMessages;
    if (first === undefined) return;
    await deliver(user, first);
    await (await stage(user, rest)).land();
  };

  const deliverReceivedAt = async (user: string, rawMessage: string | Buffer, receivedAt: Date): Promise<void> => {
    const maildir = join(paths.mailDir, user, 'Maildir');
    const name = `${Math.floor(receivedAt.getTime() / 1000)}.M${randomBytes(4).toString('hex')}.sandbox`;
    await writeFile(join(maildir, 'tmp', name), rawMessage);
    await chown(join(maildir, 'tmp', name), MAIL_UID, MAIL_UID);
    await utimes(join(maildir, 'tmp', name), receivedAt, receivedAt);
    await rename(join(maildir, 'tmp', name), join(maildir, 'new', name));
  };

  /** `doveadm reload` only sends SIGHUP: wait until the master has started a new config process. */
  const reload = async (): Promise<void> => {
    const configPids = (): number[] =>
      processTree(server.pid).filter((p) => processName(p.pid) === 'config').map((p) => p.pid);
    const before = configPids();
    await doveadm(['reload']);
    const deadline = Date.now() + 5_000;
    while (!configPids().some((pid) => !before.includes(pid))) {
      if (Date.now() > deadline) throw new Error('dovecot did not reload its configuration');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  const createFolder = async (user: string, folder: string, use?: SpecialUse): Promise<void> => {
    if (use && DEFAULT_SPECIAL_USE[folder] !== use && specialUse[folder] !== use) {
      // Dovecot 2.3 takes special-use flags from its configuration only (it
      // offers no CREATE-SPECIAL-USE): extend the included file and reload.
      // New sessions see the flag; the name gets it in every mailbox.
      specialUse[folder] = use;
      await writeFile(paths.specialUseFile, renderSpecialUse(specialUse));
      await reload();
    }
    await createMailbox(user, folder);
  };

  /** Disconnects the user's IMAP sessions and waits until anvil no longer lists them. */
  const kick = async (user: string): Promise<void> => {
    // `who -1` prints a header line, then one line per connection.
    const sessions = async (): Promise<number> =>
      (await doveadm(['who', '-1', user])).split('\n').slice(1).filter((line) => line.trim()).length;
    if ((await sessions()) === 0) return;
    await doveadm(['kick', user]);
    const deadline = Date.now() + 5_000;
    while ((await sessions()) > 0) {
      if (Date.now() > deadline) throw new Error(`IMAP sessions of ${user} survived doveadm kick`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const resetUidValidity = async (user: string, folder: string): Promise<void> => {
    // `mailbox update --uid-validity` alone keeps the UIDs and uidNext (checked
    // with 2.3.19), which would hide a client that ignores UIDVALIDITY; and
    // INBOX cannot be deleted and recreated. So: park the messages in a
    // temporary folder (MOVE keeps content and flags), delete the now empty
    // folder's uidlist and index files so Dovecot starts it afresh (uidNext
    // 1), set a new UIDVALIDITY, and move the messages back (UIDs 1..n, in
    // their old order). An open session would keep a stale view of the folder
    // (Dovecot logs "duplicate transaction log sequence" and reports nothing),
    // so the user's sessions are disconnected first, as when Exchange moves a
    // mailbox: clients see the new UIDVALIDITY when they reconnect.
    await kick(user);
    const before = await status(user, folder);
    const parking = `mailsync-reset-${randomBytes(4).toString('hex')}`;
    await createMailbox(user, parking);
    if (before.messages > 0) await doveadm(['move', '-u', user, parking, 'mailbox', folder, 'all']);
    const controlDir = (await doveadm(['mailbox', 'path', '-u', user, '-t', 'control', folder])).trim();
    const indexDir = (await doveadm(['mailbox', 'path', '-u', user, '-t', 'index', folder])).trim();
    await rm(join(controlDir, 'dovecot-uidlist'), { force: true });
    for (const file of ['dovecot.index', 'dovecot.index.log', 'dovecot.index.log.2', 'dovecot.index.cache']) {
      await rm(join(indexDir, file), { force: true });
    }
    const uidValidity = Math.max(before.uidValidity + 1, Math.floor(Date.now() / 1000));
    await doveadm(['mailbox', 'update', '-u', user, '--uid-validity', String(uidValidity), folder]);
    if (before.messages > 0) await doveadm(['move', '-u', user, folder, 'mailbox', parking, 'all']);
    await doveadm(['mailbox', 'delete', '-u', user, parking]);
  };

  /** Ends the master and whatever it leaves behind; the dir stays. */
  const halt = async (): Promise<void> => {
    // SIGTERM to the master (what `doveadm stop` does) through the tether.
    // The master stops its services, sends SIGQUIT to its log process, sleeps
    // 1 s so the log can flush, and exits (seen with strace): hence ~1.1 s.
    // But an imap-login process that still holds a client connection (e.g. a
    // test client that never logged out) outlives the master, and keeps auth,
    // config, anvil, stats and log alive with it: end those explicitly.
    const tree = processTree(server.pid);
    await server.stop();
    const left = await waitUntilGone(tree, 200);
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL'); // nothing of value left: mail processes are gone
      } catch {
        // gone meanwhile
      }
    }
    await waitUntilGone(left, 2_000);
  };

  let stopped = false;
  let paused = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!paused) await halt();
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };
  const pause = async (): Promise<void> => {
    if (stopped || paused) return;
    paused = true;
    await halt();
  };
  const resume = async (): Promise<void> => {
    if (stopped || !paused) return;
    // The stopped master's sockets and master.pid would block the start.
    await rm(paths.runDir, { recursive: true, force: true });
    server = await launch();
    paused = false;
  };

  return {
    host: '127.0.0.1',
    port,
    plainPort,
    dir,
    configFile: paths.configFile,
    logFile: paths.logFile,
    get pid() {
      return server.pid;
    },
    plainLogin,
    deliver,
    deliverMany,
    stageMany,
    deliverReceivedAt,
    createFolder,
    resetUidValidity,
    status,
    trustKey,
    pause,
    resume,
    stop,
  };
}

/**
 * Ready when the plain port sends its greeting: imap-login sends it only once
 * the auth process answers, and both listeners belong to that same service.
 */
async function waitUntilReady(plainPort: number, failed: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await greets(plainPort))) {
    if (failed()) throw new Error('dovecot exited');
    if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => {
      const ok = chunk.toString('latin1').startsWith('* OK');
      if (!ok) return done(false);
      socket.end('r LOGOUT\r\n'); // a clean goodbye keeps the log quiet
      socket.once('close', () => resolve(true));
    });
  });
}

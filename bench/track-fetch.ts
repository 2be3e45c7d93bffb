/**
 * bench/track-fetch: what one poll of a tracked window costs on the wire, in
 * time and CPU, the way the service does it (`FETCH <n-window+1>:* (UID FLAGS)`)
 * and with SEARCH shortcuts (issue 16's Cost section: "measure whether a
 * SEARCH-based shortcut is cheaper on Exchange-sized windows, and pick by
 * measurement"). imapflow against the sandbox Dovecot through the sandbox IMAP
 * proxy, which counts the bytes; folders of 1,000 and 10,000 realistic
 * messages (bench/support/maildir.ts), one session kept open and the folder
 * selected, as a kept poll session is. About 1 minute.
 *
 *   npm run bench:track-fetch
 *   BENCH_ROUNDS=50 npm run bench:track-fetch     (rounds per method, default 30)
 *
 * SEARCH tells membership (ALL: which UIDs are still there) and one flag per
 * command (UNSEEN, FLAGGED, ANSWERED): four round trips stand in for one FETCH
 * for \Seen, \Flagged, \Answered and deletions. They cannot see keyword
 * changes, \Draft or \Deleted (each would need its own SEARCH, a keyword one
 * per keyword, which nobody can know in advance). Plain SEARCH only: Exchange
 * Online offers neither ESEARCH nor CONDSTORE.
 */
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { startImapProxy } from '../sandbox/imap-proxy.js';
import { startSandbox } from '../sandbox/index.js';
import { processTree } from '../sandbox/procfs.js';
import { writeMaildir } from './support/maildir.js';
import { cpuSeconds, fmt, percentile, printTable } from './support/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

interface Method {
  name: string;
  roundTrips: number;
  detects: string;
  run(client: ImapFlow, exists: number, window: number, lowUid: number): Promise<number>;
}

const search = async (client: ImapFlow, query: Parameters<ImapFlow['search']>[0], lowUid: number): Promise<number> =>
  ((await client.search({ ...query, uid: `${lowUid}:*` }, { uid: true })) || []).length;

const METHODS: Method[] = [
  {
    name: 'FETCH <window> (UID FLAGS) (the service)', roundTrips: 1, detects: 'every flag and keyword, deletions',
    run: async (client, exists, window) => {
      let n = 0;
      for await (const message of client.fetch(`${Math.max(1, exists - window + 1)}:*`, { uid: true, flags: true })) if (message.flags) n++;
      return n;
    },
  },
  { name: 'UID SEARCH UNSEEN UID <low>:*', roundTrips: 1, detects: '\\Seen', run: (c, _e, _w, low) => search(c, { seen: false }, low) },
  { name: 'UID SEARCH FLAGGED UID <low>:*', roundTrips: 1, detects: '\\Flagged', run: (c, _e, _w, low) => search(c, { flagged: true }, low) },
  { name: 'UID SEARCH ANSWERED UID <low>:*', roundTrips: 1, detects: '\\Answered', run: (c, _e, _w, low) => search(c, { answered: true }, low) },
  { name: 'UID SEARCH ALL UID <low>:*', roundTrips: 1, detects: 'deletions', run: (c, _e, _w, low) => search(c, { all: true }, low) },
  {
    name: 'the four SEARCHes (a SEARCH-based poll)', roundTrips: 4, detects: '\\Seen, \\Flagged, \\Answered, deletions',
    run: async (c, _e, _w, low) =>
      (await search(c, { seen: false }, low)) + (await search(c, { flagged: true }, low)) + (await search(c, { answered: true }, low)) + (await search(c, { all: true }, low)),
  },
];

function dovecotCpu(masterPid: number): number {
  let total = 0;
  for (const p of processTree(masterPid)) {
    try {
      total += cpuSeconds(p.pid);
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

const sandbox = await startSandbox();
const proxy = await startImapProxy({ pki: sandbox.pki, target: { host: '127.0.0.1', port: sandbox.dovecot.plainPort } });
const rows: (string | number)[][] = [];
try {
  const { user, password } = sandbox.dovecot.plainLogin;
  const home = join(sandbox.dovecot.dir, 'mail', user.toLowerCase());
  await writeMaildir(home, 1_000, { to: user });
  await writeMaildir(home, 10_000, { to: user, folder: '.Big' });
  const client = new ImapFlow({
    host: '127.0.0.1', port: proxy.port, secure: true, tls: { ca: [sandbox.pki.caCertPem] },
    auth: { user, pass: password }, logger: false,
  });
  await client.connect();
  const cases = [
    { folder: 'INBOX', window: 1_000 },
    { folder: 'Big', window: 1_000 },
    { folder: 'Big', window: 10_000 },
  ];
  for (const { folder, window } of cases) {
    const mailbox = await client.mailboxOpen(folder);
    const exists = mailbox.exists;
    // The window's lowest UID, as a tracker knows it from its stored window.
    let lowUid = 0;
    for await (const m of client.fetch(`${Math.max(1, exists - window + 1)}`, { uid: true })) lowUid = m.uid;
    process.stdout.write(`running: ${folder} (${exists} messages), window ${window}…\n`);
    for (const method of METHODS) {
      for (let i = 0; i < 3; i++) await method.run(client, exists, window, lowUid); // warm-up: Dovecot's caches, the JIT
      const times: number[] = [];
      const down0 = proxy.bytesToClients;
      const up0 = proxy.bytesFromClients;
      const cpu0 = process.cpuUsage();
      const dovecot0 = dovecotCpu(sandbox.dovecot.pid);
      let answers = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const started = performance.now();
        answers = await method.run(client, exists, window, lowUid);
        times.push(performance.now() - started);
      }
      const cpu = process.cpuUsage(cpu0);
      rows.push([
        fmt(exists), fmt(window), method.name, method.roundTrips,
        `${fmt(percentile(times, 50), 1)} / ${fmt(percentile(times, 99), 1)}`,
        fmt((proxy.bytesToClients - down0) / ROUNDS),
        fmt((proxy.bytesFromClients - up0) / ROUNDS),
        fmt((cpu.user + cpu.system) / 1000 / ROUNDS, 2),
        fmt(((dovecotCpu(sandbox.dovecot.pid) - dovecot0) * 1000) / ROUNDS, 2),
        fmt(answers),
        method.detects,
      ]);
    }
  }
  await client.logout();
} finally {
  await proxy.stop();
  await sandbox.stop();
}
printTable(`bench/track-fetch: one poll of a tracked window, imapflow → IMAP proxy → sandbox Dovecot, ${ROUNDS} rounds, 2 cores`, [
  'messages', 'window', 'method', 'round trips', 'wall p50 / p99 ms', 'bytes down/poll', 'bytes up/poll', 'client CPU ms/poll', 'Dovecot CPU ms/poll', 'answers', 'detects',
], rows);
process.stdout.write('\nAnswers: FETCH responses, or UIDs returned (the four SEARCHes: their sum). Flag mix: about 85 % \\Seen, 10 % \\Answered, 3 % \\Flagged.\n');
process.exit(0);

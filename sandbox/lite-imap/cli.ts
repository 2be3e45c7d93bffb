/**
 * The light IMAP imitation as its own process, beside a running sandbox:
 *
 *   npx tsx sandbox/lite-imap/cli.ts --pki <the sandbox's pki dir> [--port 0] [--max-connections 16]
 *
 * It must use the sandbox's PKI: its certificate is the one the service trusts, and its signing
 * key the one the identity imitation signs tokens with. Prints its IMAP port and its control API's
 * URL (control-http.ts); Ctrl-C stops it.
 */
import { loadOrCreatePki } from '../pki.js';
import { startLiteImapControl } from './control-http.js';
import { startLiteImap } from './server.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const pkiDir = option('pki');
if (!pkiDir) throw new Error('usage: cli.ts --pki <the sandbox\'s pki dir> [--port N] [--max-connections N]');
const pki = await loadOrCreatePki(pkiDir);
const imap = await startLiteImap({
  pki,
  port: Number(option('port') ?? 0),
  ...(option('max-connections') ? { maxConnectionsPerMailbox: Number(option('max-connections')) } : {}),
});
const control = await startLiteImapControl(imap);
process.stdout.write([
  'light IMAP imitation is running.',
  `  IMAP     ${imap.host}:${imap.port}  TLS (mailbox override: ${JSON.stringify({ imap: { host: imap.host, port: imap.port, secure: true } })})`,
  `  control  ${control.url}  (POST /mailboxes/{user}/messages with a raw message; GET /stats)`,
  'Ctrl-C stops it.',
  '',
].join('\n'));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void Promise.all([control.close(), imap.stop()]).then(() => process.exit(0));
  });
}

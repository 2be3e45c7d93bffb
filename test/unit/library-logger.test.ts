/** The mail libraries' logger: pino at trace, and no token at any depth. */
import { describe, expect, it } from 'vitest';
import { lazyOAuthSecrets, libraryLogger, oauthSecrets } from '../../src/logging/library-logger.js';
import { createLogger } from '../../src/logging/logger.js';
import { captureLogs } from '../support/logs.js';

const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJlLWJ5dGVz';
const USER = 'support@contoso.example';

function setup(level: 'trace' | 'debug') {
  const logs = captureLogs();
  const logger = createLogger({ level }, logs.stream);
  return { logs, log: libraryLogger(logger, oauthSecrets(USER, TOKEN)) };
}

describe('libraryLogger', () => {
  it('routes every level to trace and cuts the token and its SASL forms out', () => {
    const { logs, log } = setup('trace');
    const sasl = oauthSecrets(USER, TOKEN)[1]!;
    log.info({ src: 'c', msg: `2 AUTHENTICATE XOAUTH2 ${sasl}`, cid: 'x' });
    log.error({ err: Object.assign(new Error(`failed with ${TOKEN}`), { code: 'EAUTH' }), nested: { deeper: { value: [TOKEN] } } }, 'library said %s', TOKEN);
    log.warn({ data: Buffer.from(TOKEN), big: 12n, set: new Set([TOKEN]) });
    const records = logs.records();
    expect(records).toHaveLength(3);
    for (const record of records) expect(record.level).toBe(10);
    expect(logs.text()).not.toContain(TOKEN);
    expect(logs.text()).not.toContain(sasl);
    expect(logs.text()).not.toContain(TOKEN.slice(0, 40));
    expect(records[0]).toMatchObject({ src: 'c', msg: '2 AUTHENTICATE XOAUTH2 [REDACTED]' });
    expect(records[1]).toMatchObject({ msg: 'library said [REDACTED]', err: { code: 'EAUTH' } });
    expect(records[2]).toMatchObject({ data: `[${TOKEN.length} bytes]`, big: '12' });
  });

  it('costs nothing and logs nothing when trace is off', () => {
    const { logs, log } = setup('debug');
    log.error({ msg: 'connection failed' });
    log.info({ msg: 'connected' });
    expect(logs.lines).toHaveLength(0);
  });

  it('tells a library that asks (imapflow) that debug and trace are off with trace, and warnings always wanted', () => {
    expect(setup('debug').log.isLevelEnabled('trace')).toBe(false);
    expect(setup('debug').log.isLevelEnabled('debug')).toBe(false);
    expect(setup('debug').log.isLevelEnabled('warn')).toBe(true);
    expect(setup('trace').log.isLevelEnabled('trace')).toBe(true);
    expect(setup('trace').log.isLevelEnabled('debug')).toBe(true);
  });

  it('makes the secrets only when trace writes an entry, once, and still cuts them out', () => {
    let made = 0;
    const lazy = lazyOAuthSecrets(USER, TOKEN);
    const counted = () => {
      made += 1;
      return lazy();
    };
    const quiet = libraryLogger(createLogger({ level: 'debug' }, captureLogs().stream), counted);
    quiet.info({ msg: `2 AUTHENTICATE XOAUTH2 ${oauthSecrets(USER, TOKEN)[1]}` });
    expect(made).toBe(0);

    const logs = captureLogs();
    const log = libraryLogger(createLogger({ level: 'trace' }, logs.stream), counted);
    const sasl = oauthSecrets(USER, TOKEN)[1]!;
    log.info({ msg: `2 AUTHENTICATE XOAUTH2 ${sasl}` });
    log.error({ err: new Error(`failed with ${Buffer.from(TOKEN).toString('base64')}`) }, 'said %s', TOKEN);
    expect(made).toBe(2);
    expect(lazy()).toBe(lazy()); // made once, then remembered
    expect(lazy()).toEqual(oauthSecrets(USER, TOKEN));
    expect(logs.text()).not.toContain(TOKEN.slice(0, 40));
    expect(logs.text()).not.toContain(sasl);
    expect(logs.text()).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 40));
    expect(logs.records()[0]).toMatchObject({ msg: '2 AUTHENTICATE XOAUTH2 [REDACTED]' });
  });

  it('writes the bindings it is given into each entry, as a child logger would, keeping a library\'s own component apart', () => {
    const logs = captureLogs();
    const log = libraryLogger(createLogger({ level: 'trace' }, logs.stream), lazyOAuthSecrets(USER, TOKEN), { component: 'imap', imapHost: 'imap.example:993' });
    log.debug({ component: 'smtp-connection', msg: `token ${TOKEN}` });
    log.warn('plain %s', TOKEN);
    const [first, second] = logs.records();
    expect(first).toMatchObject({ component: 'imap', imapHost: 'imap.example:993', libraryComponent: 'smtp-connection', msg: 'token [REDACTED]' });
    expect(second).toMatchObject({ component: 'imap', imapHost: 'imap.example:993', msg: 'plain [REDACTED]' });
    expect(logs.text()).not.toContain(TOKEN.slice(0, 40));
  });
});

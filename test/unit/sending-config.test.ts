/** The sending size settings: Exchange's defaults, the body budget, and one clear line for a bad value. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { sendBodyLimitBytes } from '../../src/config/sending-config.js';

const base = { API_KEYS: 'k'.repeat(24), ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
const MIB = 1024 * 1024;

describe('sending size settings', () => {
  it('default to 35 MiB as sent (Exchange) and a 256 MiB body budget per API process', () => {
    const sending = loadConfig(base).sending;
    expect(sending.maxMessageBytes).toBe(35 * MIB);
    expect(sending.bodyBudgetBytes).toBe(256 * MIB);
    // Room for a raw message of the limit in base64, and the JSON around it.
    expect(sendBodyLimitBytes(sending)).toBe(Math.ceil(35 * MIB / 3) * 4 + 2 * MIB);
  });

  it('reads both', () => {
    const sending = loadConfig({ ...base, SEND_MAX_MESSAGE_BYTES: String(MIB), SEND_BODY_BUDGET_BYTES: String(8 * MIB) }).sending;
    expect(sending).toMatchObject({ maxMessageBytes: MIB, bodyBudgetBytes: 8 * MIB });
  });

  it('refuses a budget that could not hold one body of the route limit, naming the variable', () => {
    expect(() => loadConfig({ ...base, SEND_BODY_BUDGET_BYTES: String(40 * MIB) })).toThrow(/SEND_BODY_BUDGET_BYTES.*at least the largest POST \/v1\/send body/);
    expect(() => loadConfig({ ...base, SEND_BODY_BUDGET_BYTES: 'lots' })).toThrow(/SEND_BODY_BUDGET_BYTES/);
  });
});

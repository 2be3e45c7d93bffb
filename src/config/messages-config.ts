/**
 * Limits of the mail reading API (GET /v1/mailboxes/{id}/messages…), read
 * from the environment like the rest of the config (see config.ts).
 *
 * Parsing holds the whole message in memory (mailparser buffers attachments
 * to checksum them), so its cap is lower than the raw download's, which is
 * streamed from IMAP to the client and costs little memory whatever its size.
 */
import { parseInteger } from './env-spec.js';

export interface MessagesConfig {
  /**
   * Largest message (RFC822.SIZE) GET …/messages/{uid} parses, in bytes; larger ones answer 413
   * `message_too_large` with a hint to download …/raw instead. @defaultValue 26 214 400 (25 MiB)
   */
  parseMaxBytes: number;
  /** Largest message GET …/messages/{uid}/raw streams, in bytes. @defaultValue 52 428 800 (50 MiB) */
  rawMaxBytes: number;
}

type Read = <T>(name: string, parse: (raw: string) => T, fallback: T) => T;

const MIB = 1024 * 1024;

export function loadMessagesConfig(read: Read): MessagesConfig {
  return {
    parseMaxBytes: read('MESSAGE_PARSE_MAX_BYTES', parseInteger(1024, 1024 * MIB), 25 * MIB),
    rawMaxBytes: read('MESSAGE_RAW_MAX_BYTES', parseInteger(1024, 16 * 1024 * MIB), 50 * MIB),
  };
}

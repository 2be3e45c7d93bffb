/**
 * The IMAP sessions an API process keeps to act on mail (flags, move,
 * delete, folders: domain/messages/action-sessions.ts), read from the
 * environment like the rest of the config (see config.ts).
 */
import { parseInteger } from './env-spec.js';

export interface ActionsConfig {
  /**
   * Most IMAP sessions one API process keeps logged in for acting on mail, one per mailbox. A
   * mailbox beyond it is acted on with a session that logs in and out per request. @defaultValue 500
   */
  maxSessions: number;
  /** A kept session unused for this long is logged out, in seconds. @defaultValue 120 */
  idleSeconds: number;
}

type Read = <T>(name: string, parse: (raw: string) => T, fallback: T) => T;

export function loadActionsConfig(read: Read): ActionsConfig {
  return {
    maxSessions: read('ACTION_MAX_SESSIONS', parseInteger(0, 100_000), 500),
    idleSeconds: read('ACTION_SESSION_IDLE_SECONDS', parseInteger(1, 3600), 120),
  };
}

/**
 * The sandbox's imitation of Exchange Online SMTP submission; the code lives in ./smtp/.
 * Importing this module starts nothing: call startSmtp().
 */
export { startSmtp } from './smtp/server.js';
export type { AuthAttempt, RecordedMessage, SandboxSmtp, StartSmtpOptions } from './smtp/server.js';
export { defaultBehaviour, DEFAULT_MAX_MESSAGE_BYTES } from './smtp/behaviour.js';
export type { AuthFailure, SmtpBehaviour } from './smtp/behaviour.js';
export { REPLIES as EXCHANGE_SMTP_REPLIES } from './smtp/replies.js';
export { APP_ROLE as SMTP_APP_ROLE, USER_SCOPE as SMTP_USER_SCOPE } from './smtp/token-check.js';

/**
 * Exchange Online's IMAP answers, as its front sends them (seen in client traces: MailKit,
 * node-imap, email-oauth2-proxy issues). Where a text is not seen in a trace it is marked
 * *unverified*: a client must not depend on it.
 */

export const GREETING = '* OK The Microsoft Exchange IMAP4 service is ready.';

/**
 * Exchange Online's CAPABILITY (2022 trace), without its private words (CLIENTACCESSRULES,
 * CLIENTNETWORKPRESENCELOCATION, BACKENDAUTHENTICATE). No ENABLE, no SPECIAL-USE: Exchange flags
 * `\Trash` and the like in LIST without advertising SPECIAL-USE (see src/adapters/imap/session.ts).
 */
export const EXCHANGE_CAPABILITIES = ['IMAP4', 'IMAP4rev1', 'AUTH=PLAIN', 'AUTH=XOAUTH2', 'SASL-IR', 'UIDPLUS', 'MOVE', 'ID', 'UNSELECT', 'CHILDREN', 'IDLE', 'NAMESPACE', 'LITERAL+'];

export const AUTH_FAILED = 'NO AUTHENTICATE failed.';
export const LOGIN_FAILED = 'NO LOGIN failed.';
/** After a login beyond the mailbox's connection limit, or without a mailbox permission, every command gets this. */
export const NOT_CONNECTED = 'BAD User is authenticated but not connected.';
/** An unknown command. *unverified* number. */
export const COMMAND_ERROR = 'BAD Command Error. 10';
/** A known command with arguments it cannot read. *unverified* number. */
export const ARGUMENT_ERROR = 'BAD Command Argument Error. 11';
export const INVALID_STATE = 'BAD Command received in Invalid state.';
export const IDLE_CONTINUATION = '+ IDLE accepted, awaiting DONE command.';
export const BYE_LOGOUT = '* BYE Microsoft Exchange Server IMAP4 server signing off.';
/** A line or literal past the imitation's bounds: the connection is closed. *unverified* */
export const BYE_TOO_LONG = '* BYE Connection closed. 14';
export const PERMANENT_FLAGS = '\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent';

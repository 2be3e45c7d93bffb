/**
 * The path of a folder to create, checked before any IMAP: `Processed/2026`
 * is a folder 2026 inside Processed, levels separated by `/` (Exchange's
 * separator; another server's is used in its place, since the levels go to
 * imapflow as a list). Names are UTF-8: imapflow writes IMAP's modified UTF-7.
 *
 * Refused: an empty level (a leading, trailing or doubled `/`), control
 * characters, IMAP's LIST wildcards `*` and `%` (no server creates them, and
 * they would make the folder unlistable by name), a leading backslash (read
 * everywhere else as a special use), a level with spaces around it (Outlook
 * trims them: the folder would not be the one named), and lengths past
 * Exchange's (255 characters a level) or a sane depth.
 */
import { ValidationError } from '../../errors/errors.js';

export const MAX_FOLDER_LEVEL_LENGTH = 255;
export const MAX_FOLDER_DEPTH = 32;
export const FOLDER_SEPARATOR = '/';

// eslint-disable-next-line no-control-regex -- control characters are what this finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function refuse(message: string): never {
  throw new ValidationError(`The folder path ${message}.`, [{ field: '/path', message }]);
}

/** The levels of a valid path, outermost first; a ValidationError otherwise. */
export function folderLevels(path: string): string[] {
  if (CONTROL.test(path)) refuse('must not contain control characters');
  if (/[*%]/.test(path)) refuse('must not contain * or % (IMAP wildcards)');
  if (path.startsWith('\\')) refuse('must not start with a backslash (that names a special use)');
  if (path.startsWith(FOLDER_SEPARATOR) || path.endsWith(FOLDER_SEPARATOR)) refuse('must not start or end with /');
  const levels = path.split(FOLDER_SEPARATOR);
  if (levels.length > MAX_FOLDER_DEPTH) refuse(`must have at most ${MAX_FOLDER_DEPTH} levels`);
  for (const level of levels) {
    if (level === '') refuse('must not contain an empty level (//)');
    if (level.trim() !== level) refuse('must not have spaces at the start or end of a level');
    if ([...level].length > MAX_FOLDER_LEVEL_LENGTH) refuse(`must have at most ${MAX_FOLDER_LEVEL_LENGTH} characters per level`);
    if (level === '.' || level === '..') refuse('must not have a level named . or ..');
  }
  return levels;
}

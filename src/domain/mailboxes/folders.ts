/**
 * Which folder a mailbox's configured folder name means. A name starting
 * with a backslash is a special use (`\Sent`, `\Junk`, `\Archive`, …), found
 * through LIST, because Exchange localises folder names ("Gesendete
 * Elemente"); anything else is a path. INBOX is case-insensitive (RFC 3501);
 * other paths match exactly, else case-insensitively (Exchange's folder names
 * are case-insensitive).
 */
export interface ListedFolder {
  path: string;
  specialUse?: string | undefined;
}

export function isSpecialUse(name: string): boolean {
  return name.startsWith('\\');
}

export function resolveFolder<F extends ListedFolder>(listed: readonly F[], wanted: string): F | undefined {
  if (isSpecialUse(wanted)) {
    const use = wanted.toLowerCase();
    return listed.find((folder) => folder.specialUse?.toLowerCase() === use);
  }
  if (wanted.toUpperCase() === 'INBOX') return listed.find((folder) => folder.path.toUpperCase() === 'INBOX');
  return listed.find((folder) => folder.path === wanted) ?? listed.find((folder) => folder.path.toLowerCase() === wanted.toLowerCase());
}

/**
 * A mailbox's `track` settings (api.md, Following changes): which changes of
 * the newest `window` messages of each watched folder are announced. Stored
 * with the mailbox; `since` is when tracking was last switched on, so that
 * the first poll after it takes a new baseline instead of announcing what
 * changed while nobody was looking (the tracked windows remember it).
 */
import { TRACK_WINDOW_DEFAULT, type TrackInputT, type TrackViewT } from './model.js';

export interface TrackRecord {
  flags: boolean;
  deletions: boolean;
  window: number;
  /** When flags or deletions were last switched on (ISO); a window taken before it is a stale baseline. */
  since: string;
}

const enabled = (t: Pick<TrackRecord, 'flags' | 'deletions'> | undefined): boolean => Boolean(t && (t.flags || t.deletions));

/** The settings after `input` (a POST, or a PATCH merged into `current`), at `at`. */
export function trackSettings(current: TrackRecord | undefined, input: TrackInputT, at: string): TrackRecord {
  const flags = input.flags ?? current?.flags ?? false;
  const deletions = input.deletions ?? current?.deletions ?? false;
  const window = input.window ?? current?.window ?? TRACK_WINDOW_DEFAULT;
  // Switching on (from off) starts afresh; changing the window or one kind keeps the baseline.
  const since = enabled(current) && current ? current.since : at;
  return { flags, deletions, window, since };
}

export function trackView(track: TrackRecord | undefined): TrackViewT {
  return { flags: track?.flags ?? false, deletions: track?.deletions ?? false, window: track?.window ?? TRACK_WINDOW_DEFAULT };
}

/** Whether polls of this mailbox look at its windows at all. */
export function isTracked(track: TrackRecord | undefined): track is TrackRecord {
  return enabled(track);
}

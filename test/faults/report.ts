/** Plain-text tables for the fault suite's output (CI logs). */
import type { FaultRecord } from './faults.js';

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const seconds = (ms: number | undefined): string => (ms === undefined ? 'NOT within bound' : (ms / 1000).toFixed(1));

/** Faults that were active while this one was (they share its recovery time). */
function overlapping(record: FaultRecord, all: readonly FaultRecord[]): string {
  return all
    .filter((o) => o !== record && o.startedAt <= record.endedAt && o.endedAt >= record.startedAt)
    .map((o) => o.fault)
    .join(', ');
}

/** One row per kind of fault: how often, and the recovery of each occurrence. */
export function faultSummaryTable(records: readonly FaultRecord[]): string {
  const kinds = [...new Set(records.map((r) => r.fault))];
  return table(
    ['fault', 'count', 'recovered in s'],
    kinds.map((kind) => {
      const mine = records.filter((r) => r.fault === kind);
      return [kind, String(mine.length), mine.map((r) => seconds(r.recoveredMs)).join(', ')];
    }),
  );
}

/** One row per occurrence: when, what it did, what it overlapped. */
export function faultDetailTable(records: readonly FaultRecord[], startedAt: number): string {
  return table(
    ['at s', 'fault', 'detail', 'lasted s', 'recovered s', 'effect', 'during'],
    [...records].sort((a, b) => a.startedAt - b.startedAt).map((r) => [
      ((r.startedAt - startedAt) / 1000).toFixed(0),
      r.fault,
      r.detail,
      ((r.endedAt - r.startedAt) / 1000).toFixed(1),
      seconds(r.recoveredMs),
      r.outcome ?? r.effect(),
      overlapping(r, records),
    ]),
  );
}

/** A pino destination that keeps every line, for tests that read what was logged. */
import { Writable } from 'node:stream';

export interface LogCapture {
  stream: Writable;
  lines: string[];
  text(): string;
  records(): Record<string, unknown>[];
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return {
    stream,
    lines,
    text: () => lines.join('\n'),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

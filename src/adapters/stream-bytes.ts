/** A stream read into memory, bounded: past `maxBytes` it is destroyed and the read fails (message_too_large). */
import type { Readable } from 'node:stream';
import { AppError } from '../errors/errors.js';

export async function readAtMost(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > maxBytes) {
        throw new AppError('message_too_large', `The message is larger than ${maxBytes} bytes.`, {
          hint: 'Forward a smaller message, or raise SEND_MAX_MESSAGE_BYTES.', fields: { maxBytes },
        });
      }
      chunks.push(buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

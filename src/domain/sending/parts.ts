/**
 * The base64 fields of a message to send (attachments' content, `raw`) as bytes. The HTTP layer
 * decodes long ones while the body streams in and leaves a placeholder string in their place
 * (http/lifted-json.ts); short ones, and those of messages made here (a forward's original),
 * are still base64 text. Either way the domain asks this for sizes and bytes: a decoded field
 * is held once, in the chunks it was decoded in, and never turned back into text except to
 * hash it (idempotency.ts).
 */

/** The decoded size of strict, canonical base64, or undefined when it is not. */
export function strictBase64Length(text: string): number | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Node's decoder skips what is not base64 (whitespace, `-`, `_`, stray `=`): encoding
  // again and comparing refuses all of it, and non-zero padding bits as well.
  return bytes.toString('base64') === text ? bytes.length : undefined;
}

/** A field decoded from base64, in the chunks it was decoded in. */
export interface DecodedBytes {
  readonly chunks: readonly Buffer[];
  readonly length: number;
}

export class MessageParts {
  constructor(private readonly decoded: ReadonlyMap<string, DecodedBytes> = new Map()) {}

  /** Whether `text` is a placeholder of a field decoded as it arrived. */
  isDecoded(text: string): boolean {
    return this.decoded.has(text);
  }

  /** The decoded size of a field, or undefined when it is not canonical base64. */
  size(text: string): number | undefined {
    return this.decoded.get(text)?.length ?? strictBase64Length(text);
  }

  /** A field's bytes, in pieces (checked canonical base64 first: see size()). */
  chunks(text: string): readonly Buffer[] {
    return this.decoded.get(text)?.chunks ?? [Buffer.from(text, 'base64')];
  }

  /** A field's bytes in one buffer. */
  whole(text: string): Buffer {
    const chunks = this.chunks(text);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /**
   * A field's base64 text, in pieces of whole groups (each piece encodes a multiple of 3 bytes but
   * the last), so that the pieces joined are exactly the text the client sent.
   */
  *base64(text: string): Generator<string> {
    const decoded = this.decoded.get(text);
    if (!decoded) {
      yield text;
      return;
    }
    let carry: Buffer = Buffer.alloc(0);
    for (const chunk of decoded.chunks) {
      const joined = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const whole = joined.length - (joined.length % 3);
      if (whole > 0) yield joined.toString('base64', 0, whole);
      carry = joined.subarray(whole);
    }
    if (carry.length > 0) yield carry.toString('base64');
  }
}

/** No field decoded ahead: every base64 field is text. */
export const NO_DECODED_PARTS = new MessageParts();

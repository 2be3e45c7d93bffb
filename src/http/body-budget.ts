/**
 * How many bytes of request bodies one API process holds at once for a route
 * that takes large bodies (POST /v1/send). A body takes its share as it is
 * announced (Content-Length) or, without one, as it arrives; past the budget
 * the request is refused (503 with Retry-After) instead of the process
 * running out of memory. The share is given back when the answer is sent or
 * the connection closes.
 */
export interface BodyShare {
  /** Takes `bytes` more; false (and nothing taken) when the budget has no room. */
  grow(bytes: number): boolean;
  /** Gives everything back (idempotent). */
  release(): void;
}

export class BodyBudget {
  private used = 0;

  /** `onChange` hears the bytes in use after every change (a gauge). */
  constructor(readonly limitBytes: number, private readonly onChange: (inUse: number) => void = () => undefined) {}

  /** Bytes held by bodies in flight now. */
  get inUse(): number {
    return this.used;
  }

  /** A share of `bytes`, or undefined when they do not fit. */
  take(bytes: number): BodyShare | undefined {
    if (!this.fits(bytes)) return undefined;
    this.change(bytes);
    let held = bytes;
    return {
      grow: (more) => {
        if (held < 0 || !this.fits(more)) return false;
        this.change(more);
        held += more;
        return true;
      },
      release: () => {
        if (held < 0) return;
        this.change(-held);
        held = -1;
      },
    };
  }

  private change(bytes: number): void {
    this.used += bytes;
    this.onChange(this.used);
  }

  private fits(bytes: number): boolean {
    return this.used + bytes <= this.limitBytes;
  }
}

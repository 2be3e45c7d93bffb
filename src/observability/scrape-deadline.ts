/**
 * What /metrics reads from Redis at scrape time must answer within a bound:
 * a scrape never hangs on a slow Redis. `withinDeadline` answers the read's
 * value, or rejects when it takes longer than `timeoutMs`; its timer never
 * outlives it.
 */
export async function withinDeadline<T>(read: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not read within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([read, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

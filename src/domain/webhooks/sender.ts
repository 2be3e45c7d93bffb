/** What the delivery logic needs from HTTP: one POST, answered with a bounded result. */

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** `signing_failed` is ours, not the endpoint's: its secret could not be decrypted (see attempt.ts). */
export type SendFailure = 'timeout' | 'network' | 'target_forbidden' | 'signing_failed';

export type SendResult =
  | {
      kind: 'response';
      status: number;
      /** The Location header of a 3xx (never followed). */
      location: string | null;
      /** The start of the response body, at most ~1 KiB, as text. */
      body: string;
      durationMs: number;
    }
  | { kind: 'error'; code: SendFailure; detail: string; durationMs: number };

export interface WebhookSender {
  send(request: OutboundRequest): Promise<SendResult>;
  close(): Promise<void>;
}

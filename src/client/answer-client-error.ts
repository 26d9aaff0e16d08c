import type { AnswerErrorCode } from '../answer/answer-events.ts';

/**
 * What went wrong, as a stable code to branch on:
 * - the server's own codes: from a JSON error body (`invalid_request`, `not_found`, …) or an
 *   `error` event ({@link AnswerErrorCode});
 * - `network_error`: no HTTP response at all (server down, DNS, TLS, connection reset);
 * - `http_error`: a non-2xx status whose body is not the server's JSON error shape (a proxy page);
 * - `unexpected_content_type`: a 2xx response in another format than the one asked for;
 * - `invalid_event` / `invalid_body`: a frame or body that is not the JSON the contract promises;
 * - `stream_ended`: the stream closed before `done` or `error`, so the answer may be cut short.
 */
export type AnswerClientErrorCode =
  | AnswerErrorCode
  | 'network_error'
  | 'http_error'
  | 'unexpected_content_type'
  | 'invalid_event'
  | 'invalid_body'
  | 'stream_ended'
  // Server codes this client version does not know yet still arrive verbatim.
  | (string & {});

/** A failed answer request: thrown by `streamAnswer` and `askAnswer`. */
export class AnswerClientError extends Error {
  override name = 'AnswerClientError';
  readonly code: AnswerClientErrorCode;
  /** The HTTP status, or null when no response arrived (`network_error`). */
  readonly status: number | null;
  /** The server's `X-Request-Id`, to quote when reporting the failure; null when absent. */
  readonly requestId: string | null;

  constructor(
    code: AnswerClientErrorCode,
    message: string,
    details: { status: number | null; requestId?: string | null; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.requestId = details.requestId ?? null;
  }
}

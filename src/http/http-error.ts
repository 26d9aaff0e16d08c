/**
 * An error to answer with before any byte of the response is sent: `app.onError` turns it
 * into `{ error: { code, message } }` with its status. (After the headers, errors travel as an
 * `error` event instead.)
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: 400 | 404 | 406 | 413 | 415 | 500 | 502 | 503 | 504;
  readonly code: string;

  constructor(
    status: HttpError['status'],
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

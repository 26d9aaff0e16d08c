/**
 * An error to answer with before any byte of the response is sent: `app.onError` turns it
 * into an {@link ErrorBody} with its status. (After the headers, errors travel inside the
 * stream instead, in each format's own way.)
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: 400 | 404 | 405 | 406 | 413 | 415 | 500 | 502 | 503 | 504;
  readonly code: string;
  /** The request field at fault (`messages[2].content`), when there is one. */
  readonly param: string | null;

  constructor(
    status: HttpError['status'],
    code: string,
    message: string,
    options?: { cause?: unknown; param?: string },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.param = options?.param ?? null;
  }
}

/**
 * Every error body of the API, in OpenAI's error shape, so one parser serves all endpoints
 * and OpenAI clients (`openai`, LangChain) read our errors as their own.
 *
 * @example
 * { "error": { "message": "k must be a whole number between 1 and 50",
 *              "type": "invalid_request_error", "param": "k", "code": "invalid_request" } }
 */
export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string };
}

/** OpenAI's two error types for a server like this one: the client's fault or ours. */
export type ErrorType = 'invalid_request_error' | 'server_error';

/** Builds the body of an error response; the type follows from the status, as OpenAI's does. */
export function errorBody(
  status: number,
  code: string,
  message: string,
  param: string | null = null,
): ErrorBody {
  return { error: { message, type: errorType(status), param, code } };
}

function errorType(status: number): ErrorType {
  return status < 500 ? 'invalid_request_error' : 'server_error';
}

/**
 * Typed errors with a stable `code`, so callers (CLI, HTTP layer, tests) can branch on
 * the kind of failure without parsing messages.
 */
export type ErrorCode =
  | 'invalid_config'
  | 'invalid_request'
  | 'embedder_mismatch'
  | 'database_locked'
  | 'database_error'
  | 'embedding_failed'
  | 'bad_file'
  | 'not_found'
  | 'schema_outdated'
  | 'unsupported_runtime';

export class StreamragError extends Error {
  override name = 'StreamragError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Raised when a file cannot be ingested; the pipeline reports it and carries on. */
export class BadFileError extends StreamragError {
  override name = 'BadFileError';

  constructor(message: string) {
    super('bad_file', message);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The little that the shared SQL store needs from a database driver. Both adapters
 * (postgres.js and PGlite) implement it, so the SQL text — constant strings with `$n`
 * parameters, never built from values — is literally the same on both engines.
 */
export interface SqlExecutor {
  /**
   * When `options.signal` aborts, the promise rejects at once with its reason and the
   * statement's result is dropped (it is not cancelled on the server: a CancelRequest hits a
   * connection, and a pooled connection may already run someone else's statement).
   */
  query<Row = Record<string, unknown>>(
    text: string,
    parameters?: readonly unknown[],
    options?: { signal?: AbortSignal },
  ): Promise<Row[]>;
  /** Several statements without parameters (migrations, session settings). */
  script(text: string): Promise<void>;
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (executor: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Takes a session-level advisory lock on a connection of its own, held until released;
   * `undefined` when another session holds it. It dies with the session, so a crashed holder
   * never leaves it behind.
   */
  tryAdvisoryLock(key: number): Promise<AdvisoryLock | undefined>;
}

export interface AdvisoryLock {
  release(): Promise<void>;
}

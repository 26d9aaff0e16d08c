/**
 * Yields what `source` yields, but fails with `onIdle()`'s error when no item arrives for
 * `idleMs` — before the first item or between two. An HTTP client's timeout covers the wait
 * for response headers, not a stream that stalls after them; this covers both.
 *
 * @example
 * for await (const chunk of withIdleTimeout(model.stream(messages), 30_000, () => abortAndExplain())) …
 */
export async function* withIdleTimeout<T>(
  source: AsyncIterable<T>,
  idleMs: number,
  onIdle: () => Error,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onIdle()), idleMs);
      });
      let result: IteratorResult<T>;
      try {
        result = await Promise.race([iterator.next(), idle]);
      } finally {
        clearTimeout(timer);
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    // Not awaited: a stalled iterator's return() would wait for the stalled next().
    if (!finished) void iterator.return?.()?.catch(() => {});
  }
}

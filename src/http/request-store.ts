import type { MiddlewareHandler } from 'hono';
import type { RequestStores, Store } from '../store/store.ts';

export type StoreVariables = {
  /** The database for this request. */
  store: Store;
};

/**
 * Puts the request's store in `c.var.store`. A shared store (Node's pool, PGlite) is simply
 * handed on; `RequestStores` (Workers) open one for the request and close it once the
 * response body has been sent or abandoned: an SSE answer queries the database after its
 * headers have gone out, so closing when the handler returns would be too early.
 *
 * @example
 * app.post('/v1/answer', requestStore(dependencies.store), handler);
 */
export function requestStore(
  source: Store | RequestStores,
): MiddlewareHandler<{ Variables: StoreVariables }> {
  if (!('perRequest' in source)) {
    return async (c, next) => {
      c.set('store', source);
      await next();
    };
  }
  return async (c, next) => {
    const scope = source.perRequest();
    c.set('store', scope.store);
    await next();
    const close = () => scope.close().catch(() => {});
    const body = c.res.body;
    let finished: Promise<void>;
    if (body === null) {
      finished = close();
    } else {
      // The body passes through unchanged; its end (or the client's cancel, which pipeTo
      // carries back to our stream) closes the store.
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      finished = body
        .pipeTo(writable)
        .catch(() => {})
        .then(close);
      c.res = new Response(readable, c.res);
    }
    waitUntil(c, finished);
  };
}

/** Keeps a Workers request alive until `work` ends; elsewhere `work` simply runs. */
function waitUntil(
  c: { executionCtx: { waitUntil(work: Promise<unknown>): void } },
  work: Promise<void>,
) {
  let context: { waitUntil(work: Promise<unknown>): void } | undefined;
  try {
    context = c.executionCtx; // Hono throws when the runtime gave none
  } catch {
    return;
  }
  context.waitUntil(work);
}

import type { MiddlewareHandler } from 'hono';
import type { Services, ServicesPerRequest } from './app-dependencies.ts';

export type ServiceVariables = {
  /** The database, embedder and generator for this request. */
  services: Services;
};

/**
 * Puts the request's services in `c.var.services`. Shared services (Node) are simply handed
 * on; `ServicesPerRequest` (Workers) are opened for the request and closed once the response
 * body has been sent or abandoned: an SSE answer queries the database and the model after its
 * headers have gone out, so closing when the handler returns would be too early.
 *
 * @example
 * app.post('/v1/answer', requestServices(dependencies.services), handler);
 */
export function requestServices(
  source: Services | ServicesPerRequest,
): MiddlewareHandler<{ Variables: ServiceVariables }> {
  if (!('perRequest' in source)) {
    return async (c, next) => {
      c.set('services', source);
      await next();
    };
  }
  return async (c, next) => {
    const scope = source.perRequest();
    c.set('services', scope.services);
    await next();
    const close = () => scope.close().catch(() => {});
    const body = c.res.body;
    let finished: Promise<void>;
    if (body === null) {
      finished = close();
    } else {
      // The body passes through unchanged; its end, or the client's cancel (which pipeTo
      // carries back to the answer's stream), closes the services.
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      finished = body
        .pipeTo(writable)
        .catch(() => {})
        .then(close);
      c.res = new Response(readable, c.res);
    }
    keepAliveUntil(c, finished);
  };
}

type WaitUntil = { waitUntil(work: Promise<unknown>): void };

/** Keeps a Workers request alive until `work` ends; elsewhere `work` simply runs. */
function keepAliveUntil(c: { executionCtx: WaitUntil }, work: Promise<void>) {
  let context: WaitUntil;
  try {
    context = c.executionCtx; // Hono throws when the runtime gave none
  } catch {
    return;
  }
  context.waitUntil(work);
}

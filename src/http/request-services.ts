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
    // Arranged before the handler runs, so a request that fails or is abandoned before it has a
    // response still closes what it opened.
    const { promise: closed, resolve: settle } = Promise.withResolvers<void>();
    keepAliveUntil(c, closed);
    const close = () => {
      scope.close().then(settle, settle);
    };
    c.set('services', scope.services);
    let streaming = false;
    try {
      await next();
      const body = c.res.body;
      // An event stream still queries the database and the model after its headers; any other
      // response was complete when the handler returned (and HEAD drops bodies unread).
      if (body !== null && c.req.method !== 'HEAD' && isEventStream(c.res)) {
        // The body passes through unchanged; its end, or the client's cancel (which pipeTo
        // carries back to the answer's stream), closes the services.
        const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
        body
          .pipeTo(writable)
          .catch(() => {})
          .then(close);
        c.res = new Response(readable, c.res);
        streaming = true;
      }
    } finally {
      if (!streaming) close();
    }
  };
}

function isEventStream(response: Response): boolean {
  return response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
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

import type { Context } from 'hono';
import type { AnswerEvent } from '../../answer/answer-events.ts';
import { type AnswerInput, answerEvents } from '../../answer/answer-stream.ts';
import type { AppDependencies, AppEnvironment } from '../app-dependencies.ts';
import { HttpError } from '../http-error.ts';
import { readJsonBody } from '../read-json-body.ts';
import { formatServerTiming } from '../server-timing.ts';
import { sseHeaders, toSseStream } from '../sse-stream.ts';

/**
 * One answering endpoint's wire format: how its body becomes an answer input, and how the
 * answer events become its response. `/v1/answer`, `/v1/chat/completions` and `/api/chat`
 * are three dialects over the same events and the same request lifecycle.
 */
export interface AnswerDialect<Request> {
  /** Validates the JSON body; throws an `HttpError` (400) that names the bad field. */
  read(body: unknown, config: AppDependencies['config']): { request: Request; input: AnswerInput };
  respond(exchange: AnswerExchange<Request>): Response | Promise<Response>;
}

export interface AnswerExchange<Request> {
  context: Context<AppEnvironment>;
  request: Request;
  events: AsyncIterable<AnswerEvent>;
  /**
   * The events as an SSE response, each encoded by `encode` (one event → zero or more
   * frames). Backpressure, keep-alives, and cancellation when the client goes away are
   * handled here.
   */
  stream(encode: (event: AnswerEvent) => string, headers?: Record<string, string>): Response;
}

/**
 * A route handler that answers in `dialect`'s format. The request is registered with the
 * lifecycle *before* its body is read (a shutdown waits for uploads too), one abort
 * controller follows the client's disconnect, the SSE stream's cancellation and shutdown,
 * and the request is released when its response has been written or has failed.
 *
 * @example
 * app.post('/v1/answer', answerEndpoint(dependencies, nativeDialect));
 */
export function answerEndpoint<Request>(
  dependencies: AppDependencies,
  dialect: AnswerDialect<Request>,
) {
  const { lifecycle } = dependencies;
  const refuseWhileDraining = () => {
    if (lifecycle.draining) {
      throw new HttpError(503, 'shutting_down', 'The server is shutting down; ask again');
    }
  };
  return async (c: Context<AppEnvironment>): Promise<Response> => {
    refuseWhileDraining();
    const controller = new AbortController();
    const unregister = lifecycle.register(controller);
    const requestSignal = c.req.raw.signal;
    const onRequestAbort = () => controller.abort(requestSignal.reason);
    requestSignal.addEventListener('abort', onRequestAbort, { once: true });
    const release = () => {
      unregister();
      requestSignal.removeEventListener('abort', onRequestAbort);
    };
    let streaming = false;
    try {
      const { request, input } = dialect.read(await readJsonBody(c.req.raw), dependencies.config);
      refuseWhileDraining();
      const context = {
        requestId: c.get('requestId'),
        startedAt: c.get('startedAt'),
        signal: controller.signal,
      };
      const events = answerEvents(
        { ...c.var.services, logError: dependencies.logError },
        input,
        context,
      );
      return await dialect.respond({
        context: c,
        request,
        events,
        stream: (encode, headers = sseHeaders) => {
          const body = toSseStream(events, {
            encode,
            keepAliveMs: dependencies.config.sseKeepAliveMs,
            stallTimeoutMs: dependencies.config.sseStallTimeoutMs,
            onCancel: (reason) => controller.abort(reason),
            onEnd: release,
          });
          streaming = true;
          // Only what is known before the headers; the stages follow in the stream.
          c.header(
            'Server-Timing',
            formatServerTiming({ headers: performance.now() - context.startedAt }),
          );
          return c.body(body, 200, headers);
        },
      });
    } finally {
      // The SSE stream releases itself when it ends; everything else ends here.
      if (!streaming) release();
    }
  };
}

import type { Context } from 'hono';
import type { AnswerBody, AnswerEvent, AnswerUsage } from '../../answer/answer-events.ts';
import { type AnswerInput, answerEvents } from '../../answer/answer-stream.ts';
import type { AppDependencies, AppEnvironment } from '../app-dependencies.ts';
import { HttpError } from '../http-error.ts';
import { readJsonBody } from '../read-json-body.ts';
import { answerRequestSchema, parseOrThrow } from '../request-schemas.ts';
import { formatServerTiming } from '../server-timing.ts';
import { sseHeaders, toSseStream } from '../sse-stream.ts';

/**
 * `POST /v1/answer`: an SSE stream of answer events (the default), or with
 * `Accept: application/json` the whole answer in one body.
 */
export function answerHandler(dependencies: AppDependencies) {
  const { lifecycle } = dependencies;
  const refuseWhileDraining = () => {
    if (lifecycle.draining) {
      throw new HttpError(503, 'shutting_down', 'The server is shutting down; ask again');
    }
  };
  return async (c: Context<AppEnvironment>) => {
    refuseWhileDraining();
    // Aborted when the client disconnects, the SSE stream is cancelled, or at shutdown.
    // Registered before the body is read, so a shutdown waits for a request still uploading.
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
      const body = parseOrThrow(answerRequestSchema, await readJsonBody(c.req.raw));
      refuseWhileDraining();
      const input: AnswerInput = {
        question: body.question,
        k: body.k ?? dependencies.config.answerK,
        search: body.search ?? 'hybrid',
        history: body.history ?? [],
        ...(body.collection === undefined ? {} : { collection: body.collection }),
        ...(body.filter === undefined ? {} : { filter: body.filter }),
      };
      const context = {
        requestId: c.get('requestId'),
        startedAt: c.get('startedAt'),
        signal: controller.signal,
      };
      const events = answerEvents(dependencies, input, context);
      if (prefersJson(c.req.header('accept'))) return await answerAsJson(c, events);

      const stream = toSseStream(events, {
        keepAliveMs: dependencies.config.sseKeepAliveMs,
        onCancel: (reason) => controller.abort(reason),
        onEnd: release,
      });
      streaming = true;
      // Only what is known before the headers; the stages follow in the `done` event.
      c.header(
        'Server-Timing',
        formatServerTiming({ headers: performance.now() - context.startedAt }),
      );
      return c.body(stream, 200, sseHeaders);
    } finally {
      // The SSE stream releases itself when it ends; everything else ends here.
      if (!streaming) release();
    }
  };
}

/** SSE unless the client asks for JSON and not for an event stream. */
function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const types = accept.toLowerCase();
  return types.includes('application/json') && !types.includes('text/event-stream');
}

async function answerAsJson(
  c: Context<AppEnvironment>,
  events: AsyncIterable<AnswerEvent>,
): Promise<Response> {
  let answer = '';
  let sources: AnswerBody['sources'] = [];
  for await (const event of events) {
    switch (event.event) {
      case 'sources':
        sources = event.data;
        break;
      case 'token':
        answer += event.data.text;
        break;
      case 'error':
        throw new HttpError(
          event.data.code === 'upstream_timeout'
            ? 504
            : event.data.code === 'generation_failed'
              ? 502
              : event.data.code === 'shutting_down'
                ? 503
                : 500,
          event.data.code,
          event.data.message,
        );
      case 'done': {
        const { timings } = event.data;
        c.header(
          'Server-Timing',
          formatServerTiming({
            embed: timings.embedMs,
            retrieve: timings.retrieveMs,
            'first-token': timings.firstTokenMs,
            total: timings.totalMs,
          }),
        );
        const usage: { usage?: AnswerUsage } =
          event.data.usage === undefined ? {} : { usage: event.data.usage };
        return c.json({
          answer,
          sources,
          finishReason: event.data.finishReason,
          ...usage,
          timings,
        } satisfies AnswerBody);
      }
    }
  }
  // The events ended without done or error: the client went away, so nobody reads this
  // (499 is nginx's "client closed request", for the access log).
  return new Response(null, { status: 499 });
}

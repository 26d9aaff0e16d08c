import type { AnswerBody } from '../../answer/answer-events.ts';
import type { AnswerInput } from '../../answer/answer-stream.ts';
import { type AnswerDialect, answerEndpoint } from '../answer/answer-endpoint.ts';
import { clientClosedResponse, collectAnswer } from '../answer/collect-answer.ts';
import type { AppDependencies } from '../app-dependencies.ts';
import { answerRequestSchema, parseOrThrow } from '../request-schemas.ts';
import { answerServerTiming } from '../server-timing.ts';
import { encodeAnswerEvent } from '../sse-stream.ts';

/**
 * `POST /v1/answer`: an SSE stream of answer events (the default), or with
 * `Accept: application/json` the whole answer in one body.
 */
export function answerHandler(dependencies: AppDependencies) {
  return answerEndpoint(dependencies, nativeDialect);
}

const nativeDialect: AnswerDialect<null> = {
  read(raw, config) {
    const body = parseOrThrow(answerRequestSchema, raw);
    const input: AnswerInput = {
      question: body.question,
      k: body.k ?? config.answerK,
      search: body.search ?? 'hybrid',
      history: body.history ?? [],
      ...(body.collection === undefined ? {} : { collection: body.collection }),
      ...(body.filter === undefined ? {} : { filter: body.filter }),
    };
    return { request: null, input };
  },

  async respond({ context: c, events, stream }) {
    if (!prefersJson(c.req.header('accept'))) return stream(encodeAnswerEvent);
    const collected = await collectAnswer(events);
    if (collected === undefined) return clientClosedResponse();
    const { timings, usage, finishReason } = collected.done;
    c.header('Server-Timing', answerServerTiming(timings));
    return c.json({
      answer: collected.answer,
      sources: collected.sources,
      finishReason,
      ...(usage === undefined ? {} : { usage }),
      timings,
    } satisfies AnswerBody);
  },
};

/** SSE unless the client asks for JSON and not for an event stream. */
function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const types = accept.toLowerCase();
  return types.includes('application/json') && !types.includes('text/event-stream');
}

import type {
  AnswerDone,
  AnswerErrorCode,
  AnswerEvent,
  AnswerMeta,
  AnswerSource,
} from '../../answer/answer-events.ts';
import { HttpError } from '../http-error.ts';

export interface CollectedAnswer {
  meta: AnswerMeta;
  answer: string;
  sources: AnswerSource[];
  /** How many text chunks the generator produced. */
  tokenCount: number;
  done: AnswerDone;
}

/**
 * Folds the answer events into one value, for the non-streaming responses. An `error` event
 * becomes an `HttpError` with a fitting status (502 model failed, 504 model timed out, 503
 * shutting down). `undefined` when the events end without `done`: the client went away.
 *
 * @example
 * const collected = await collectAnswer(events);
 * if (collected === undefined) return new Response(null, { status: 499 });
 */
export async function collectAnswer(
  events: AsyncIterable<AnswerEvent>,
): Promise<CollectedAnswer | undefined> {
  let meta: AnswerMeta | undefined;
  let answer = '';
  let tokenCount = 0;
  let sources: AnswerSource[] = [];
  for await (const event of events) {
    switch (event.event) {
      case 'meta':
        meta = event.data;
        break;
      case 'sources':
        sources = event.data;
        break;
      case 'token':
        answer += event.data.text;
        tokenCount += 1;
        break;
      case 'error':
        throw new HttpError(statusOf[event.data.code], event.data.code, event.data.message);
      case 'done':
        if (meta === undefined) throw new Error('The answer ended before its meta event');
        return { meta, answer, sources, tokenCount, done: event.data };
    }
  }
  return undefined;
}

const statusOf: Record<AnswerErrorCode, HttpError['status']> = {
  retrieval_failed: 500,
  internal_error: 500,
  generation_failed: 502,
  upstream_timeout: 504,
  shutting_down: 503,
};

/** nginx's "client closed request": nobody reads it, but the access log says what happened. */
export function clientClosedResponse(): Response {
  return new Response(null, { status: 499 });
}

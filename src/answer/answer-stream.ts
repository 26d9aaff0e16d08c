import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { StreamragError } from '../core/errors.ts';
import type { Hit, MetadataFilter, SearchMode } from '../core/types.ts';
import { retrieve } from '../retrieval/retrieve.ts';
import type { Store } from '../store/store.ts';
import type {
  AnswerError,
  AnswerErrorCode,
  AnswerEvent,
  AnswerSource,
  AnswerTimings,
  AnswerUsage,
} from './answer-events.ts';
import {
  type ChatTurn,
  GenerationError,
  type GenerationOptions,
  type Generator,
} from './generator.ts';

export interface AnswerDependencies {
  store: Store;
  embeddings: EmbeddingsInterface;
  generator: Generator;
  /** Milliseconds on a monotonic clock; `performance.now` unless a test supplies one. */
  now?: () => number;
  /** Where failures are reported in full (the client gets a sanitised message). */
  logError?: (message: string, error: unknown) => void;
}

export interface AnswerInput {
  question: string;
  k: number;
  search: SearchMode;
  collection?: string;
  filter?: MetadataFilter;
  history: ChatTurn[];
  /** The client's own generation settings, if any. */
  generation?: GenerationOptions;
}

export interface AnswerContext {
  requestId: string;
  /** When the request arrived (same clock as `now`): timings count from here. */
  startedAt: number;
  /** Aborted when the client goes away (or the server shuts down): all work stops. */
  signal: AbortSignal;
}

/** Characters of a passage shown in `sources`; the model gets the whole passage. */
const snippetLength = 240;

/**
 * The answer as typed events, in contract order: `meta` at once (before any I/O), `sources`
 * after retrieval, one `token` per generator chunk, then `done` — or `error` in its place if
 * anything fails once the stream has started. When the signal aborts, the events simply end.
 *
 * The HTTP layer encodes these as SSE frames, or folds them into one JSON body.
 *
 * @example
 * for await (const event of answerEvents(dependencies, input, { requestId, startedAt, signal })) …
 */
export async function* answerEvents(
  dependencies: AnswerDependencies,
  input: AnswerInput,
  context: AnswerContext,
): AsyncGenerator<AnswerEvent> {
  const now = dependencies.now ?? (() => performance.now());
  const { signal } = context;
  yield {
    event: 'meta',
    data: {
      requestId: context.requestId,
      generator: dependencies.generator.name,
      embedder: dependencies.store.identity.name,
      search: input.search,
    },
  };

  let stage: 'retrieval' | 'generation' = 'retrieval';
  try {
    // A macrotask boundary before this answer's CPU work (embedding, SQL, model setup): the
    // event loop writes this frame, then reads the requests that arrived with this one and
    // sends their `meta` too, instead of making them wait behind this one's retrieval.
    await nextMacrotask();
    const retrieved = await retrieve(dependencies, {
      question: input.question,
      mode: input.search,
      k: input.k,
      signal,
      ...(input.collection === undefined ? {} : { collection: input.collection }),
      ...(input.filter === undefined ? {} : { filter: input.filter }),
    });
    yield { event: 'sources', data: retrieved.hits.map(toAnswerSource) };

    stage = 'generation';
    let firstTokenMs: number | null = null;
    let finishReason = 'stop';
    let usage: AnswerUsage | undefined;
    for await (const output of dependencies.generator.generate({
      question: input.question,
      sources: retrieved.hits,
      history: input.history,
      signal,
      ...(input.generation === undefined ? {} : { options: input.generation }),
    })) {
      if (output.type === 'token') {
        firstTokenMs ??= elapsed(now, context.startedAt);
        yield { event: 'token', data: { text: output.text } };
      } else {
        finishReason = output.finishReason;
        usage = output.usage;
      }
    }
    const timings: AnswerTimings = {
      ...retrieved.timings,
      firstTokenMs,
      totalMs: elapsed(now, context.startedAt),
    };
    yield {
      event: 'done',
      data: usage === undefined ? { finishReason, timings } : { finishReason, usage, timings },
    };
  } catch (error) {
    // A client that went away reads nothing more; a shutdown still says why it ended.
    if (signal.aborted && !isShutdown(signal.reason)) return;
    const failure = toAnswerError(error, stage, signal);
    (dependencies.logError ?? defaultLogError)(
      `answer ${context.requestId} failed during ${stage}: ${failure.message}`,
      error,
    );
    yield { event: 'error', data: failure };
  }
}

/** The abort reason the server uses when it ends streams at shutdown. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

function isShutdown(reason: unknown): boolean {
  return reason instanceof ShutdownError;
}

function toAnswerError(
  error: unknown,
  stage: 'retrieval' | 'generation',
  signal: AbortSignal,
): AnswerError {
  if (signal.aborted && isShutdown(signal.reason)) {
    return { code: 'shutting_down', message: 'The server is shutting down; ask again' };
  }
  if (error instanceof GenerationError) return { code: error.code, message: error.message };
  if (isSetupError(error)) {
    return { code: 'retrieval_failed', message: notSetUpMessage };
  }
  const code: AnswerErrorCode = stage === 'retrieval' ? 'retrieval_failed' : 'internal_error';
  return {
    code,
    message:
      stage === 'retrieval'
        ? 'Searching the documents failed'
        : 'Generating the answer failed unexpectedly',
  };
}

/** What clients are told when the database does not fit this server (the log has the detail). */
export const notSetUpMessage =
  'The database is not set up for this server (schema or embedder); GET /readyz and the server log say how to fix it';

/** A database this server cannot use as it is: not migrated, or made with another embedder. */
export function isSetupError(error: unknown): error is StreamragError {
  return (
    error instanceof StreamragError &&
    (error.code === 'schema_outdated' || error.code === 'embedder_mismatch')
  );
}

export function toAnswerSource(hit: Hit): AnswerSource {
  return {
    id: hit.id,
    documentId: hit.documentId,
    title: hit.title,
    source: hit.source,
    ordinal: hit.ordinal,
    score: hit.score,
    snippet: snippet(hit.content),
  };
}

/** The start of a passage, cut at a word boundary, whitespace collapsed. */
export function snippet(content: string): string {
  const text = content.replace(/\s+/g, ' ').trim();
  if (text.length <= snippetLength) return text;
  const cut = text.lastIndexOf(' ', snippetLength);
  // Never end on half of a surrogate pair (an emoji cut in two is not valid text).
  const start = text.slice(0, cut > snippetLength / 2 ? cut : snippetLength);
  return `${start.replace(/[\uD800-\uDBFF]$/, '')}…`;
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function elapsed(now: () => number, startedAt: number): number {
  return Math.round((now() - startedAt) * 100) / 100;
}

function defaultLogError(message: string, error: unknown): void {
  console.error(message, error);
}

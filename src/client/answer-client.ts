/**
 * The typed client of `POST /v1/answer` (DESIGN.md §4): the SSE stream as typed events, or the
 * JSON body. Web APIs only (fetch, streams, AbortSignal), so the same code serves the CLI, the
 * chat page, tests and Workers.
 */
import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import {
  type AnswerBody,
  type AnswerEvent,
  type AnswerEventName,
  type AnswerRequest,
  answerEventNames,
} from '../answer/answer-events.ts';
import { AnswerClientError } from './answer-client-error.ts';

export interface AnswerClientOptions {
  /** Where the server listens, e.g. `http://127.0.0.1:8787`; a path prefix (`…/rag`) is kept. */
  baseUrl: string;
  /** Aborting it cancels the request, or the response body mid-stream. */
  signal?: AbortSignal;
  /** A stand-in fetch (tests, instrumentation, a Workers service binding). */
  fetch?: typeof fetch;
  /** Extra request headers, e.g. `Authorization`; `Accept` and `Content-Type` are the client's. */
  headers?: Record<string, string>;
}

const eventStreamType = 'text/event-stream';
const jsonType = 'application/json';

/**
 * Asks a question and yields the answer's events as they arrive: `meta`, `sources`, `token`…,
 * then `done` — or an `error` event (yielded, so the caller decides how to show it), after which
 * the generator ends. Comments (keep-alives) and unknown event names are skipped.
 *
 * The request starts on the first `next()`. Throws {@link AnswerClientError} for an HTTP error,
 * an unreachable server, a response that is not an event stream, or a stream that ends before
 * `done`/`error` (`stream_ended`: a cut-off answer must not pass for a finished one). Aborting
 * `options.signal` rejects with the signal's reason; aborting or leaving the loop early cancels
 * the response body, so the server sees the disconnect and stops generating.
 *
 * @example
 * const controller = new AbortController();
 * const events = streamAnswer(
 *   { question: 'How do I build an index without locking out writes?', k: 5 },
 *   { baseUrl: 'http://127.0.0.1:8787', signal: controller.signal },
 * );
 * for await (const event of events) {
 *   if (event.event === 'token') answerElement.append(event.data.text);
 *   if (event.event === 'error') showError(event.data.message);
 * }
 */
export async function* streamAnswer(
  request: AnswerRequest,
  options: AnswerClientOptions,
): AsyncGenerator<AnswerEvent, void, undefined> {
  const response = await postAnswer(request, options, eventStreamType);
  const requestId = response.headers.get('x-request-id');
  if (mediaType(response) !== eventStreamType || response.body === null) {
    throw await unexpectedContentType(response, eventStreamType);
  }
  const reader = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  try {
    while (true) {
      let next: ReadableStreamReadResult<EventSourceMessage>;
      try {
        next = await reader.read();
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new AnswerClientError(
          'stream_ended',
          `The answer stream broke before it finished: ${describeError(error)}`,
          { status: response.status, requestId, cause: error },
        );
      }
      if (next.done) break;
      const event = toAnswerEvent(next.value, response.status, requestId);
      if (event === undefined) continue;
      yield event;
      if (event.event === 'done' || event.event === 'error') return;
    }
  } finally {
    // Reached on done/error, on a thrown error, and when the caller leaves the loop early:
    // cancelling the end of the pipe cancels the response body, which closes the connection so
    // the server aborts the model call. On a stream that already ended it does nothing.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  throw new AnswerClientError(
    'stream_ended',
    'The answer stream ended before its done event: the answer may be cut short.',
    { status: response.status, requestId },
  );
}

/**
 * Asks a question and waits for the whole answer (`Accept: application/json`). Errors are the
 * same as {@link streamAnswer}'s, thrown as {@link AnswerClientError}.
 *
 * @example
 * const body = await askAnswer(
 *   { question: 'What does VACUUM do?' },
 *   { baseUrl: 'http://127.0.0.1:8787' },
 * );
 * console.log(body.answer, body.sources.map((source) => source.title));
 */
export async function askAnswer(
  request: AnswerRequest,
  options: AnswerClientOptions,
): Promise<AnswerBody> {
  const response = await postAnswer(request, options, jsonType);
  const requestId = response.headers.get('x-request-id');
  if (mediaType(response) !== jsonType) throw await unexpectedContentType(response, jsonType);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new AnswerClientError(
      'network_error',
      `The answer body broke off: ${describeError(error)}`,
      { status: response.status, requestId, cause: error },
    );
  }
  const body = parseJson(text);
  if (!isRecord(body) || typeof body.answer !== 'string' || !Array.isArray(body.sources)) {
    throw new AnswerClientError('invalid_body', 'The answer body is not the expected JSON.', {
      status: response.status,
      requestId,
    });
  }
  return body as unknown as AnswerBody;
}

/** Sends the request; any failure before a 2xx response becomes an `AnswerClientError`. */
async function postAnswer(
  request: AnswerRequest,
  options: AnswerClientOptions,
  accept: string,
): Promise<Response> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/v1/answer`;
  const headers = new Headers(options.headers);
  headers.set('content-type', jsonType);
  headers.set('accept', accept);
  // Called as a plain function: browsers and Workers throw "Illegal invocation" when fetch
  // runs with another `this` (as `options.fetch(…)` would).
  const fetchAnswer = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await fetchAnswer(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(request),
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new AnswerClientError('network_error', `Cannot reach ${url}: ${describeError(error)}`, {
      status: null,
      cause: error,
    });
  }
  if (!response.ok) throw await httpError(response);
  return response;
}

/** The server's JSON error (`{ error: { code, message } }`), else the status line. */
async function httpError(response: Response): Promise<AnswerClientError> {
  const details = { status: response.status, requestId: response.headers.get('x-request-id') };
  const body = parseJson(await response.text().catch(() => ''));
  const error = isRecord(body) ? body.error : undefined;
  if (isRecord(error) && typeof error.code === 'string' && typeof error.message === 'string') {
    return new AnswerClientError(error.code, error.message, details);
  }
  const statusLine = `${response.status} ${response.statusText}`.trim();
  return new AnswerClientError('http_error', `The server answered ${statusLine}.`, details);
}

async function unexpectedContentType(
  response: Response,
  expected: string,
): Promise<AnswerClientError> {
  // Nobody will read this body: cancel it rather than leave the connection half-read.
  await response.body?.cancel().catch(() => {});
  const received = response.headers.get('content-type') ?? 'no content type';
  return new AnswerClientError(
    'unexpected_content_type',
    `Expected ${expected} from the server, got ${received}.`,
    { status: response.status, requestId: response.headers.get('x-request-id') },
  );
}

/** The media type without parameters: `text/event-stream; charset=utf-8` → `text/event-stream`. */
function mediaType(response: Response): string {
  const contentType = response.headers.get('content-type') ?? '';
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

const knownEventNames: ReadonlySet<string> = new Set(answerEventNames);

/** A parsed frame as a typed event; undefined for events this client does not know. */
function toAnswerEvent(
  message: EventSourceMessage,
  status: number,
  requestId: string | null,
): AnswerEvent | undefined {
  // Unnamed frames (`message`) and newer event names are not part of this contract version.
  if (message.event === undefined || !knownEventNames.has(message.event)) return undefined;
  const name = message.event as AnswerEventName;
  const data = parseJson(message.data);
  if (!isWellFormed(name, data)) {
    throw new AnswerClientError(
      'invalid_event',
      `The ${name} event does not carry the expected JSON: ${message.data.slice(0, 200)}`,
      { status, requestId },
    );
  }
  return { event: name, data } as AnswerEvent;
}

/** A shallow check, enough that a consumer reading the contract's fields does not crash. */
function isWellFormed(name: AnswerEventName, data: unknown): boolean {
  switch (name) {
    case 'sources':
      return Array.isArray(data);
    case 'token':
      return isRecord(data) && typeof data.text === 'string';
    case 'done':
      return isRecord(data) && isRecord(data.timings);
    case 'error':
      return isRecord(data) && typeof data.code === 'string' && typeof data.message === 'string';
    case 'meta':
      return isRecord(data);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** fetch failures hide the reason in `cause` (undici: `fetch failed` ← `connect ECONNREFUSED`). */
function describeError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

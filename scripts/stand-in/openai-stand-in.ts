/**
 * A stand-in for an OpenAI-compatible server, speaking the real HTTP wire format, for tests
 * and benchmarks on machines that cannot reach a model. Our code talks to it through
 * `@langchain/openai` exactly as it would talk to OpenAI, Ollama or vLLM.
 *
 * Implemented: `POST /v1/embeddings` (float and base64 encodings; deterministic vectors from
 * the local hash embedder, so similar texts get similar vectors), `POST /v1/chat/completions`
 * (plain and streamed; the reply is `standInReply(tokenCount)`, paced by timers) and
 * `GET /v1/models`.
 * Failure modes: the next N requests answer with a given status; the next N chat requests drop
 * their connection or stall after some tokens. Tests can hold every reply's first token and
 * watch each stream's progress, so they assert orderings instead of timings.
 *
 * @example
 * const standIn = await startOpenAIStandIn({ dimensions: 64, timeToFirstTokenMs: 300 });
 * // OPENAI_BASE_URL = standIn.baseUrl; CHAT_MODEL = 'stand-in-chat'; …; await standIn.close();
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChatContext,
  type ChatFault,
  type ChatStats,
  type ChatStreamRecord,
  type ChatTiming,
  handleChatCompletion,
} from './chat-completions.ts';
import { embeddings } from './embeddings.ts';
import { createHoldGate, type TokenHold } from './hold-gate.ts';
import { readJson, sendError, sendJson } from './http-json.ts';

export type { ChatStats, ChatStreamRecord, ChatTiming } from './chat-completions.ts';
export type { TokenHold } from './hold-gate.ts';
export { standInReply } from './stand-in-reply.ts';

/** Model ids listed by `GET /v1/models`; any model id is accepted on the other routes. */
export const STAND_IN_CHAT_MODEL = 'stand-in-chat';
export const STAND_IN_EMBEDDING_MODEL = 'stand-in-embedding';

export interface StandInOptions extends Partial<ChatTiming> {
  /** Dimension of the vectors returned (unless a request asks for fewer). */
  dimensions?: number;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface OpenAIStandIn {
  /** e.g. http://127.0.0.1:41234/v1 */
  baseUrl: string;
  /** Every request received, in order; tests may clear it with `requests.length = 0`. */
  requests: RecordedRequest[];
  /** One record per streaming chat request, in order; may be cleared like `requests`. */
  chatStreams: ChatStreamRecord[];
  /** Counters since start, updated live. */
  stats: ChatStats;
  /** Current chat pacing (a copy); change it with `configure`. */
  readonly timing: ChatTiming;
  /**
   * The next `count` requests, on any route, fail with `status` (500, 429, …); queued after
   * failures already pending. Failures carry `retry-after: 0` so clients retry at once.
   */
  failNext(count: number, status?: number): void;
  /** The next `count` chat requests destroy their socket after `afterTokens` content tokens. */
  dropNext(afterTokens: number, count?: number): void;
  /** The next `count` chat requests go silent after `afterTokens` tokens, socket left open. */
  stallNext(afterTokens: number, count?: number): void;
  /** Changes chat pacing for requests that arrive from now on. */
  configure(timing: Partial<ChatTiming>): void;
  /** Until released, no chat reply sends its first content token (headers still go out). */
  holdTokens(): TokenHold;
  /**
   * Resolves once `stream` (or, without it, any stream, including one closed earlier) was
   * closed by its client before finishing.
   */
  waitForClientClose(stream?: ChatStreamRecord): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_TIMING: ChatTiming = { timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 20 };

/**
 * Starts the stand-in on a local port.
 *
 * @example
 * const standIn = await startOpenAIStandIn({ tokenCount: 5 });
 * const model = new ChatOpenAI({
 *   model: 'stand-in-chat',
 *   apiKey: 'stand-in',
 *   configuration: { baseURL: standIn.baseUrl },
 * });
 * for await (const chunk of await model.stream('Hello')) process.stdout.write(chunk.text);
 * await standIn.close();
 */
export async function startOpenAIStandIn(options: StandInOptions = {}): Promise<OpenAIStandIn> {
  const dimensions = options.dimensions ?? 384;
  let timing = checkTiming({ ...DEFAULT_TIMING, ...definedOnly(options) });
  const requests: RecordedRequest[] = [];
  const chatStreams: ChatStreamRecord[] = [];
  const failures: number[] = [];
  const faults: ChatFault[] = [];
  const closeWaiters = new Set<{ stream?: ChatStreamRecord; resolve: () => void }>();
  const stats: ChatStats = {
    chatRequests: 0,
    streamsStarted: 0,
    streamsFinished: 0,
    streamsClosedByClient: 0,
    streamsDropped: 0,
    streamsStalled: 0,
    activeStreams: 0,
    peakActiveStreams: 0,
    tokensSent: 0,
  };
  const gate = createHoldGate();
  let closing = false;

  const chatContext = (): ChatContext => ({
    timing,
    gate,
    stats,
    streams: chatStreams,
    takeFault: () => faults.shift(),
    onClientClose(record) {
      for (const waiter of closeWaiters) {
        if (waiter.stream !== undefined && waiter.stream !== record) continue;
        closeWaiters.delete(waiter);
        waiter.resolve();
      }
    },
    isClosing: () => closing,
  });

  const server = createServer(async (request, response) => {
    try {
      const body = await readJson(request);
      const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
      requests.push({ method: request.method ?? 'GET', path, body });
      const status = failures.shift();
      if (status !== undefined) return sendFailure(response, status);
      if (request.method === 'GET' && path === '/v1/models') {
        return sendJson(response, 200, {
          object: 'list',
          data: [STAND_IN_CHAT_MODEL, STAND_IN_EMBEDDING_MODEL].map((id) => ({
            id,
            object: 'model',
            created: 0,
            owned_by: 'stand-in',
          })),
        });
      }
      if (request.method === 'POST' && path === '/v1/embeddings') {
        return embeddings(response, body, dimensions);
      }
      if (request.method === 'POST' && path === '/v1/chat/completions') {
        return handleChatCompletion(response, body, chatContext());
      }
      sendError(response, 404, `Unknown route ${request.method} ${path}`);
    } catch (error) {
      // A bug in the stand-in should fail the request, not the test process.
      if (!response.headersSent) {
        sendError(response, 500, `Stand-in error: ${String(error)}`, { type: 'server_error' });
      } else response.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    baseUrl: `http://${host}:${port}/v1`,
    requests,
    chatStreams,
    stats,
    get timing() {
      return { ...timing };
    },
    failNext(count, status = 500) {
      for (let index = 0; index < count; index += 1) failures.push(status);
    },
    dropNext(afterTokens, count = 1) {
      for (let index = 0; index < count; index += 1) faults.push({ kind: 'drop', afterTokens });
    },
    stallNext(afterTokens, count = 1) {
      for (let index = 0; index < count; index += 1) faults.push({ kind: 'stall', afterTokens });
    },
    configure(changes) {
      timing = checkTiming({ ...timing, ...definedOnly(changes) });
    },
    holdTokens: () => gate.hold(),
    waitForClientClose(stream) {
      const closed = stream
        ? stream.closedByClient
        : chatStreams.some((record) => record.closedByClient);
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => closeWaiters.add({ stream, resolve }));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing = true;
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** OpenAI's error shapes for the statuses tests inject; `retry-after: 0` keeps retries fast. */
function sendFailure(response: Parameters<typeof sendJson>[0], status: number) {
  const rateLimited = status === 429;
  sendError(
    response,
    status,
    rateLimited
      ? 'Rate limit reached for stand-in (injected failure).'
      : 'Stand-in failure on request',
    {
      type: rateLimited ? 'requests' : 'server_error',
      code: rateLimited ? 'rate_limit_exceeded' : null,
      headers: { 'retry-after': '0' },
    },
  );
}

function checkTiming(timing: ChatTiming): ChatTiming {
  for (const [name, value] of Object.entries(timing)) {
    const whole = name === 'tokenCount' ? Number.isInteger(value) : Number.isFinite(value);
    if (!whole || value < 0) {
      throw new RangeError(`Stand-in ${name} must be a number >= 0, got ${value}`);
    }
  }
  return timing;
}

/** Keeps only the timing fields actually given, so `undefined` never overrides a default. */
function definedOnly(changes: Partial<ChatTiming>): Partial<ChatTiming> {
  const { timeToFirstTokenMs, interTokenDelayMs, tokenCount } = changes;
  return Object.fromEntries(
    Object.entries({ timeToFirstTokenMs, interTokenDelayMs, tokenCount }).filter(
      ([, value]) => value !== undefined,
    ),
  );
}

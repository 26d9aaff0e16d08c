/**
 * `POST /v1/chat/completions` for the stand-in, in OpenAI's wire format: a JSON completion, or
 * with `stream: true` server-sent events of `chat.completion.chunk` ending in `data: [DONE]`.
 *
 * Tokens are paced with timers (time to first token, then a delay between tokens), never busy
 * loops, so a benchmark can hold a hundred slow streams open at almost no cost. A reply whose
 * client goes away stops its timers.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type ChatRequest, parseChatRequest } from './chat-request.ts';
import type { HoldGate } from './hold-gate.ts';
import { sendError, sendJson } from './http-json.ts';
import { standInReply } from './stand-in-reply.ts';

/** How the stand-in paces and sizes its replies. */
export interface ChatTiming {
  /** Milliseconds from the request to the first content token. */
  timeToFirstTokenMs: number;
  /** Milliseconds between two content tokens. */
  interTokenDelayMs: number;
  /** Tokens in a full reply, before any `max_tokens` cut. */
  tokenCount: number;
}

/** A failure queued for one chat request: `drop` destroys the socket, `stall` goes silent. */
export interface ChatFault {
  kind: 'drop' | 'stall';
  afterTokens: number;
}

/** What happened to one streaming chat request. */
export interface ChatStreamRecord {
  /** Content tokens written so far. */
  tokensSent: number;
  /** The finish chunk and `[DONE]` were written. */
  finished: boolean;
  /** The client went away before the stream finished. */
  closedByClient: boolean;
}

/** Counters over every chat request since the stand-in started. */
export interface ChatStats {
  chatRequests: number;
  streamsStarted: number;
  streamsFinished: number;
  streamsClosedByClient: number;
  streamsDropped: number;
  streamsStalled: number;
  /** Streams open right now, and the most open at once. */
  activeStreams: number;
  peakActiveStreams: number;
  tokensSent: number;
}

/** The stand-in's shared state a chat request reads and updates. */
export interface ChatContext {
  timing: Readonly<ChatTiming>;
  gate: HoldGate;
  stats: ChatStats;
  streams: ChatStreamRecord[];
  /** Takes the next queued fault, if any; only valid requests take one. */
  takeFault(): ChatFault | undefined;
  onClientClose(record: ChatStreamRecord): void;
  /** True once the stand-in is closing, so its own disconnects are not blamed on clients. */
  isClosing(): boolean;
}

/**
 * Answers one chat completion request (already read and parsed) on `response`.
 *
 * @example
 * handleChatCompletion(response, await readJson(request), context);
 */
export function handleChatCompletion(
  response: ServerResponse,
  body: unknown,
  context: ChatContext,
): void {
  context.stats.chatRequests += 1;
  const parsed = parseChatRequest(body);
  if ('error' in parsed) {
    const { message, param, code } = parsed.error;
    sendError(response, 400, message, { param, code });
    return;
  }
  const request = parsed.request;
  const fullReply = standInReply(context.timing.tokenCount);
  const limit = request.maxTokens ?? Number.POSITIVE_INFINITY;
  const plan: GenerationPlan = {
    ...context.timing,
    tokens: fullReply.slice(0, limit),
    finishReason: fullReply.length > limit ? 'length' : 'stop',
    fault: context.takeFault(),
    gate: context.gate,
  };
  if (request.stream) streamReply(response, request, plan, context);
  else completeReply(response, request, plan);
}

interface GenerationPlan extends ChatTiming {
  tokens: string[];
  finishReason: 'stop' | 'length';
  fault: ChatFault | undefined;
  gate: HoldGate;
}

interface TokenSink {
  token(token: string, index: number): void;
  finish(): void;
  fault(kind: ChatFault['kind']): void;
}

/**
 * Feeds the plan's tokens to `sink` on timers; returns a function that stops it. A fault past
 * the end of the reply happens before the finish chunk, so a queued fault always fires.
 */
function generate(plan: GenerationPlan, sink: TokenSink): () => void {
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let firstTokenAt = 0;
  const faultAt = plan.fault ? Math.min(plan.fault.afterTokens, plan.tokens.length) : -1;
  const pump = () => {
    timer = undefined;
    while (!stopped) {
      if (sent === 0 && plan.gate.held) return plan.gate.whenReleased(pump);
      if (plan.fault && sent === faultAt) return sink.fault(plan.fault.kind);
      if (sent === plan.tokens.length) return sink.finish();
      if (sent === 0) firstTokenAt = performance.now();
      sink.token(plan.tokens[sent] ?? '', sent);
      sent += 1;
      if (plan.interTokenDelayMs > 0 && sent < plan.tokens.length) {
        // Token n is due at a fixed time after the first, so timer lateness under load does
        // not pile up over a long reply (100 tokens would otherwise run ~100 ms late).
        const due = firstTokenAt + sent * plan.interTokenDelayMs;
        timer = setTimeout(pump, Math.max(0, due - performance.now()));
        return;
      }
    }
  };
  timer = setTimeout(pump, plan.timeToFirstTokenMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
    plan.gate.forget(pump);
  };
}

function streamReply(
  response: ServerResponse,
  request: ChatRequest,
  plan: GenerationPlan,
  context: ChatContext,
) {
  const { stats } = context;
  const record: ChatStreamRecord = { tokensSent: 0, finished: false, closedByClient: false };
  context.streams.push(record);
  stats.streamsStarted += 1;
  stats.activeStreams += 1;
  stats.peakActiveStreams = Math.max(stats.peakActiveStreams, stats.activeStreams);
  let dropped = false;

  const header = {
    id: completionId(),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    system_fingerprint: null,
  };
  // With include_usage, OpenAI puts `usage: null` on every chunk but the last.
  const pendingUsage = request.includeUsage ? { usage: null } : {};
  const write = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
  const writeChunk = (delta: object, finishReason: string | null) =>
    write({
      ...header,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...pendingUsage,
    });

  // Headers go out at once, as OpenAI's do; the role chunk waits for the first token.
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-request-id': `req_${randomUUID().replaceAll('-', '')}`,
  });
  response.flushHeaders();

  const stop = generate(plan, {
    token(token, index) {
      if (index === 0) writeChunk({ role: 'assistant', content: '' }, null);
      writeChunk({ content: token }, null);
      record.tokensSent += 1;
      stats.tokensSent += 1;
    },
    finish() {
      record.finished = true;
      stats.streamsFinished += 1;
      writeChunk({}, plan.finishReason);
      if (request.includeUsage) {
        write({ ...header, choices: [], usage: usage(request, plan.tokens.length) });
      }
      response.end('data: [DONE]\n\n');
    },
    fault(kind) {
      if (kind === 'stall') {
        stats.streamsStalled += 1;
        return;
      }
      dropped = true;
      stats.streamsDropped += 1;
      // Writes are corked until the next tick, so destroying now would lose the tokens already
      // "sent". An SSE comment (ignored by clients) flushes behind them; then the socket goes.
      response.write(': dropping\n\n', () => response.destroy());
    },
  });

  response.on('close', () => {
    stop();
    stats.activeStreams -= 1;
    if (record.finished || dropped || context.isClosing()) return;
    record.closedByClient = true;
    stats.streamsClosedByClient += 1;
    context.onClientClose(record);
  });
}

/** A non-streamed reply answers once the whole reply would have been generated. */
function completeReply(response: ServerResponse, request: ChatRequest, plan: GenerationPlan) {
  const tokens: string[] = [];
  const stop = generate(plan, {
    token(token) {
      tokens.push(token);
    },
    finish() {
      sendJson(response, 200, {
        id: completionId(),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: tokens.join(''), refusal: null },
            logprobs: null,
            finish_reason: plan.finishReason,
          },
        ],
        usage: usage(request, tokens.length),
        system_fingerprint: null,
      });
    },
    fault(kind) {
      if (kind === 'drop') response.destroy();
    },
  });
  response.on('close', stop);
}

function usage(request: ChatRequest, completionTokens: number) {
  return {
    prompt_tokens: request.promptTokens,
    completion_tokens: completionTokens,
    total_tokens: request.promptTokens + completionTokens,
  };
}

function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

import type { AnswerEvent } from '../answer/answer-events.ts';

/** Response headers of every event stream. */
export const sseHeaders: Record<string, string> = {
  'Content-Type': 'text/event-stream',
  // no-transform: proxies must not compress or rewrite (buffering would delay every token).
  'Cache-Control': 'no-cache, no-transform',
  // nginx buffers proxied responses unless told not to.
  'X-Accel-Buffering': 'no',
};

const encoder = new TextEncoder();
const keepAliveFrame = encoder.encode(': keep-alive\n\n');

/**
 * One SSE frame. The data is JSON, which never contains a raw line break, so it is always a
 * single `data:` line; an event name with CR or LF would end the frame early and is refused.
 *
 * @example
 * encodeSseFrame('token', { text: 'Hi' }); // 'event: token\ndata: {"text":"Hi"}\n\n'
 */
export function encodeSseFrame(event: string, data: unknown): string {
  if (/[\r\n]/.test(event)) throw new Error(`SSE event names cannot contain line breaks`);
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * An unnamed SSE frame, as OpenAI's chunks and the AI SDK's parts are sent.
 *
 * @example
 * encodeDataFrame({ type: 'text-delta', delta: 'Hi' }); // 'data: {"type":"text-delta","delta":"Hi"}\n\n'
 */
export function encodeDataFrame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** The last frame of an OpenAI or AI SDK stream that ended as it should. */
export const doneFrame = 'data: [DONE]\n\n';

/** The `/v1/answer` encoding: each answer event as one named SSE frame. */
export function encodeAnswerEvent(event: AnswerEvent): string {
  return encodeSseFrame(event.event, event.data);
}

export interface SseStreamOptions<Event> {
  /**
   * One event → its SSE text: one frame, several, or '' to send nothing. Each response
   * format (ours, OpenAI's chunks, the AI SDK's parts) is an encoder of the same events.
   */
  encode: (event: Event) => string;
  keepAliveMs: number;
  /**
   * The stream errors, and `onCancel` runs, when the consumer has not taken a written event for
   * this long (it stopped reading but kept the connection). Default: no limit.
   */
  stallTimeoutMs?: number;
  onCancel?: (reason: unknown) => void;
  onEnd?: () => void;
}

/**
 * Typed events → SSE bytes, as a pull-based stream: the next event is produced only when the
 * consumer has taken the previous one (backpressure), each event is one encoded chunk (one
 * write), and a comment frame goes out whenever the stream has been silent for
 * `keepAliveMs`, so proxies and load balancers keep an idle connection open while the model
 * thinks. Cancelling the stream (the client went away) calls `onCancel` and ends the events.
 *
 * @example
 * const body = toSseStream(answerEvents(…), { encode: encodeAnswerEvent, keepAliveMs: 15_000 });
 * return new Response(body, { headers: sseHeaders });
 */
export function toSseStream<Event>(
  events: AsyncIterable<Event>,
  options: SseStreamOptions<Event>,
): ReadableStream<Uint8Array> {
  const iterator = events[Symbol.asyncIterator]();
  let lastWrite = Date.now();
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  /** When the oldest event the consumer has not taken was written; undefined while it reads. */
  let untakenSince: number | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    options.onEnd?.();
  };
  /** Stops the events and the work behind them (the model request), then fails the response. */
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown) => {
    options.onCancel?.(error);
    end();
    controller.error(error);
    void iterator.return?.(undefined)?.catch(() => {});
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      // One timer per stream, checked at half the shorter period, instead of timers per event.
      const { keepAliveMs, stallTimeoutMs = Number.POSITIVE_INFINITY } = options;
      keepAlive = setInterval(
        () => {
          if (ended) return;
          const now = Date.now();
          if (untakenSince !== undefined && now - untakenSince >= stallTimeoutMs) {
            fail(controller, new StreamStalledError(stallTimeoutMs));
            return;
          }
          if (now - lastWrite < keepAliveMs) return;
          lastWrite = now;
          controller.enqueue(keepAliveFrame);
        },
        Math.max(Math.min(keepAliveMs, stallTimeoutMs) / 2, 50),
      );
    },
    async pull(controller) {
      // The consumer wants more: it is reading.
      untakenSince = undefined;
      // A pull that enqueues nothing would not be called again: loop past silent events.
      for (;;) {
        let text: string;
        try {
          const result = await iterator.next();
          if (result.done) {
            end();
            controller.close();
            return;
          }
          text = options.encode(result.value);
        } catch (error) {
          // The events failed, or an encoder did: stop them as if the client had gone.
          fail(controller, error);
          return;
        }
        if (text === '') continue;
        controller.enqueue(encoder.encode(text));
        // Until the next pull, the consumer has not taken this.
        lastWrite = Date.now();
        untakenSince = lastWrite;
        return;
      }
    },
    async cancel(reason) {
      options.onCancel?.(reason);
      end();
      await iterator.return?.(undefined);
    },
  });
}

/** The client kept its connection but stopped reading the stream. */
export class StreamStalledError extends Error {
  override name = 'StreamStalledError';

  constructor(timeoutMs: number) {
    super(`The client took nothing from the stream for ${timeoutMs} ms`);
  }
}

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
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    options.onEnd?.();
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      // One timer per stream, checked at half the period, instead of a timer per event.
      keepAlive = setInterval(
        () => {
          if (ended || Date.now() - lastWrite < options.keepAliveMs) return;
          lastWrite = Date.now();
          controller.enqueue(keepAliveFrame);
        },
        Math.max(options.keepAliveMs / 2, 50),
      );
    },
    async pull(controller) {
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
          // The events failed, or an encoder did: stop the work behind them too (the model
          // request), as if the client had gone, then fail the response.
          options.onCancel?.(error);
          end();
          controller.error(error);
          void iterator.return?.(undefined)?.catch(() => {});
          return;
        }
        if (text === '') continue;
        lastWrite = Date.now();
        controller.enqueue(encoder.encode(text));
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

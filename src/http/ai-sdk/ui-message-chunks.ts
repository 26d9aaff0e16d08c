import type { AnswerEvent, AnswerSource } from '../../answer/answer-events.ts';
import { doneFrame, encodeDataFrame, sseHeaders } from '../sse-stream.ts';

/** The headers of an AI SDK UI message stream (protocol v1): ours, plus its version. */
export const uiMessageStreamHeaders: Record<string, string> = {
  ...sseHeaders,
  'x-vercel-ai-ui-message-stream': 'v1',
};

/** The finish reasons the AI SDK knows. */
const uiFinishReasons = new Set(['stop', 'length', 'content-filter', 'tool-calls', 'error']);

/**
 * Answer events → the AI SDK's UI message stream parts (protocol v1), as `useChat` reads
 * them: `start` (with our meta as message metadata) at once, a `source-url` (for http(s)
 * sources) or `source-document` part per source, `text-start`, a `text-delta` per token,
 * `text-end`, then `finish` with the timings and usage as message metadata, and `data:
 * [DONE]`. A failure after the headers is an `error` part (its text safe to show), then
 * `[DONE]`, as the AI SDK's own server helpers end an errored stream.
 *
 * Each source part's `providerMetadata.streamrag` holds what the chat page shows: the
 * citation number, source, snippet and score.
 *
 * @example
 * stream(uiMessageChunkEncoder(`msg-${requestId}`), uiMessageStreamHeaders);
 */
export function uiMessageChunkEncoder(messageId: string): (event: AnswerEvent) => string {
  const textId = `${messageId}-text`;
  let textStarted = false;
  return (event) => {
    switch (event.event) {
      case 'meta':
        return encodeDataFrame({ type: 'start', messageId, messageMetadata: event.data });
      case 'sources':
        return event.data
          .map((source, index) => encodeDataFrame(sourcePart(source, index + 1)))
          .join('');
      case 'token': {
        const start = textStarted ? '' : encodeDataFrame({ type: 'text-start', id: textId });
        textStarted = true;
        return start + encodeDataFrame({ type: 'text-delta', id: textId, delta: event.data.text });
      }
      case 'done': {
        const { finishReason, usage, timings } = event.data;
        const reason = finishReason.replaceAll('_', '-');
        return (
          (textStarted ? encodeDataFrame({ type: 'text-end', id: textId }) : '') +
          encodeDataFrame({
            type: 'finish',
            finishReason: uiFinishReasons.has(reason) ? reason : 'other',
            messageMetadata: usage === undefined ? { timings } : { timings, usage },
          }) +
          doneFrame
        );
      }
      case 'error':
        return encodeDataFrame({ type: 'error', errorText: event.data.message }) + doneFrame;
    }
  };
}

function sourcePart(source: AnswerSource, citation: number) {
  const providerMetadata = {
    streamrag: {
      citation,
      source: source.source,
      snippet: source.snippet,
      score: source.score,
      documentId: source.documentId,
      ordinal: source.ordinal,
    },
  };
  const title = source.title ?? source.source;
  if (/^https?:\/\//i.test(source.source)) {
    return { type: 'source-url', sourceId: source.id, url: source.source, title, providerMetadata };
  }
  return {
    type: 'source-document',
    sourceId: source.id,
    mediaType: mediaTypeOf(source.source),
    title,
    filename: source.source,
    providerMetadata,
  };
}

function mediaTypeOf(source: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(source)?.[1]?.toLowerCase();
  if (extension === 'md' || extension === 'markdown') return 'text/markdown';
  if (extension === 'html' || extension === 'htm') return 'text/html';
  return 'text/plain';
}

import type {
  AnswerDone,
  AnswerError,
  AnswerEvent,
  AnswerSource,
} from '../../answer/answer-events.ts';
import type { CollectedAnswer } from '../answer/collect-answer.ts';
import { errorBody } from '../http-error.ts';
import { doneFrame, encodeDataFrame } from '../sse-stream.ts';

/** What every chunk and body of one completion repeats. */
export interface CompletionIdentity {
  /** `chatcmpl-<random uuid>` */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model the client asked for, echoed as OpenAI does. */
  model: string;
}

export interface CompletionOptions {
  /** `stream_options.include_usage`: `usage: null` on every chunk, then a usage chunk. */
  includeUsage: boolean;
  /** Append the cited sources to the text, for chat UIs that show only the text. */
  appendSources: boolean;
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * Answer events → OpenAI `chat.completion.chunk` SSE frames, exactly as OpenAI streams them:
 * a role chunk at once (our `meta`: first byte before any I/O), one `delta.content` chunk per
 * token, `finish_reason` in its own chunk with an empty delta, a usage chunk (`choices: []`)
 * when asked, then `data: [DONE]`. A failure after the headers is OpenAI's in-stream
 * `{ error }` frame, with no `[DONE]`, so clients raise it instead of taking a cut answer.
 *
 * Sources travel in a chunk with an empty delta and an extra `streamrag.sources` field, and,
 * unless turned off, as a "Sources:" list of the cited passages appended to the text; the finish
 * chunk carries `streamrag.timings`. The extra fields are namespaced because bare `sources` and
 * `timings` mean other things to some clients (Open WebUI reads both).
 *
 * @example
 * stream(chatCompletionChunkEncoder({ id, created, model }, { includeUsage: true, appendSources: true }));
 */
export function chatCompletionChunkEncoder(
  identity: CompletionIdentity,
  options: CompletionOptions,
): (event: AnswerEvent) => string {
  let sources: AnswerSource[] = [];
  let answer = '';
  let tokenCount = 0;
  const base = { ...identity, object: 'chat.completion.chunk' };
  const usageNull = options.includeUsage ? { usage: null } : {};
  const chunk = (delta: object, extra: object = {}, finishReason: string | null = null) =>
    encodeDataFrame({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usageNull,
      ...extra,
    });

  return (event) => {
    switch (event.event) {
      case 'meta':
        return chunk({ role: 'assistant', content: '' });
      case 'sources':
        sources = event.data;
        return chunk({}, { streamrag: { sources } });
      case 'token':
        tokenCount += 1;
        if (options.appendSources) answer += event.data.text;
        return chunk({ content: event.data.text });
      case 'done': {
        const list = options.appendSources ? sourceListText(sources, answer) : '';
        return (
          (list === '' ? '' : chunk({ content: list })) +
          chunk(
            {},
            { streamrag: { timings: event.data.timings } },
            openAIFinishReason(event.data.finishReason),
          ) +
          (options.includeUsage
            ? encodeDataFrame({ ...base, choices: [], usage: openAIUsage(event.data, tokenCount) })
            : '') +
          doneFrame
        );
      }
      case 'error':
        return encodeDataFrame(streamErrorBody(event.data));
    }
  };
}

/** The non-streaming `chat.completion` body. */
export function chatCompletionBody(
  identity: CompletionIdentity,
  answer: CollectedAnswer,
  options: Pick<CompletionOptions, 'appendSources'>,
) {
  const list = options.appendSources ? sourceListText(answer.sources, answer.answer) : '';
  return {
    ...identity,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: answer.answer + list, refusal: null },
        logprobs: null,
        finish_reason: openAIFinishReason(answer.done.finishReason),
      },
    ],
    usage: openAIUsage(answer.done, answer.tokenCount),
    streamrag: { sources: answer.sources, timings: answer.done.timings },
  };
}

/** The start of the appended source list; {@link withoutSourceList} finds it by this. */
const sourceListHeading = '\n\nSources:\n';

/**
 * "\n\nSources:\n- [1] Title — source" for each source the answer cites as [n] (in number
 * order), or '' when it cites none.
 */
export function sourceListText(sources: readonly AnswerSource[], answer: string): string {
  const cited = new Set<number>();
  for (const match of answer.matchAll(/\[(\d{1,3})\]/g)) {
    const number = Number(match[1]);
    if (number >= 1 && number <= sources.length) cited.add(number);
  }
  if (cited.size === 0) return '';
  const lines = [...cited]
    .sort((a, b) => a - b)
    .map((number) => {
      const source = sources[number - 1] as AnswerSource;
      const title = source.title ?? source.source;
      return title === source.source
        ? `- [${number}] ${title}`
        : `- [${number}] ${title} — ${source.source}`;
    });
  return `${sourceListHeading}${lines.join('\n')}`;
}

/**
 * An earlier answer as a chat client sends it back, without the source list we appended: its
 * numbers point at an earlier retrieval, and a model shown it learns to write its own list.
 *
 * @example
 * withoutSourceList('VACUUM reclaims space [1].\n\nSources:\n- [1] VACUUM'); // 'VACUUM reclaims space [1].'
 */
export function withoutSourceList(text: string): string {
  const start = text.lastIndexOf(sourceListHeading);
  if (start === -1) return text;
  const lines = text
    .slice(start + sourceListHeading.length)
    .trimEnd()
    .split('\n');
  return lines.every((line) => /^- \[\d{1,3}\] /.test(line)) ? text.slice(0, start) : text;
}

const openAIFinishReasons = new Set(['stop', 'length', 'content_filter', 'tool_calls']);

function openAIFinishReason(reason: string): string {
  return openAIFinishReasons.has(reason) ? reason : 'stop';
}

/**
 * The model's own counts when it reported them; otherwise (the extractive generator, or a
 * model server that does not count) no prompt tokens and one completion token per chunk.
 */
function openAIUsage(done: AnswerDone, tokenCount: number): OpenAIUsage {
  if (done.usage !== undefined) {
    return {
      prompt_tokens: done.usage.promptTokens,
      completion_tokens: done.usage.completionTokens,
      total_tokens: done.usage.totalTokens,
    };
  }
  return { prompt_tokens: 0, completion_tokens: tokenCount, total_tokens: tokenCount };
}

/** Every in-stream failure is the server's (`server_error`); the code says which. */
function streamErrorBody(error: AnswerError) {
  return errorBody(500, error.code, error.message);
}

import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import type { AnswerUsage } from './answer-events.ts';
import {
  GenerationError,
  type GenerationOptions,
  type Generator,
  type GeneratorOutput,
} from './generator.ts';
import { withIdleTimeout } from './idle-timeout.ts';
import { buildMessages } from './prompt.ts';

/**
 * Answers with a LangChain chat model (`ChatOpenAI` against OpenAI, Ollama, vLLM…) through
 * `.stream()`, so each model chunk becomes a token event as it arrives.
 *
 * The request's signal is passed to the model call, so a client that goes away closes the
 * upstream connection. An idle watchdog ends the answer when the model sends nothing for
 * `idleTimeoutMs` (before the first token or between two), aborting the upstream request.
 *
 * @example
 * const generator = createChatModelGenerator({ model: chatOpenAI, name: 'openai:gpt-4o-mini', idleTimeoutMs: 30_000 });
 */
export function createChatModelGenerator(settings: {
  model: BaseChatModel;
  /**
   * The model with a request's own settings (max tokens, temperature). Without it such
   * settings are ignored.
   */
  modelWith?: (options: GenerationOptions) => BaseChatModel;
  name: string;
  idleTimeoutMs: number;
}): Generator {
  const { name, idleTimeoutMs } = settings;
  return {
    name,
    async *generate(input): AsyncGenerator<GeneratorOutput> {
      const upstream = new AbortController();
      const forwardAbort = () => upstream.abort(input.signal.reason);
      input.signal.addEventListener('abort', forwardAbort, { once: true });
      let finishReason = 'stop';
      let usage: AnswerUsage | undefined;
      try {
        // LangChain's stream() resolves only once the first chunk has arrived, so the call
        // itself goes inside the watched iteration: the watchdog covers the time to first token.
        const messages = buildMessages(input.question, input.sources, input.history);
        const options = input.options ?? {};
        const model =
          settings.modelWith !== undefined && Object.keys(options).length > 0
            ? settings.modelWith(options)
            : settings.model;
        async function* chunks() {
          yield* await model.stream(messages, { signal: upstream.signal });
        }
        const watched = withIdleTimeout(chunks(), idleTimeoutMs, () => {
          const error = new GenerationError(
            'upstream_timeout',
            `The language model sent nothing for ${idleTimeoutMs} ms`,
          );
          upstream.abort(error);
          return error;
        });
        for await (const chunk of watched as AsyncIterable<AIMessageChunk>) {
          const text = typeof chunk.content === 'string' ? chunk.content : chunk.text;
          if (text !== '') yield { type: 'token', text };
          const reason = chunk.response_metadata?.finish_reason;
          if (typeof reason === 'string') finishReason = reason;
          if (chunk.usage_metadata !== undefined) {
            usage = {
              promptTokens: chunk.usage_metadata.input_tokens,
              completionTokens: chunk.usage_metadata.output_tokens,
              totalTokens: chunk.usage_metadata.total_tokens,
            };
          }
        }
      } catch (error) {
        if (input.signal.aborted) throw input.signal.reason;
        throw toGenerationError(error);
      } finally {
        input.signal.removeEventListener('abort', forwardAbort);
        // Whatever ended the loop early (an error, the consumer stopping), stop the upstream.
        upstream.abort();
      }
      yield usage === undefined
        ? { type: 'finish', finishReason }
        : { type: 'finish', finishReason, usage };
    },
  };
}

/** A message safe to show a client: the upstream status or kind of failure, not its body. */
function toGenerationError(error: unknown): GenerationError {
  if (error instanceof GenerationError) return error;
  // The OpenAI SDK's own timeout (the wait for response headers) is the same kind of failure.
  if ((error as Error | null)?.name === 'APIConnectionTimeoutError') {
    return new GenerationError('upstream_timeout', 'The language model did not answer in time', {
      cause: error,
    });
  }
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') {
    const meaning =
      status === 429
        ? 'is rate limiting requests'
        : status === 401 || status === 403
          ? 'refused the credentials (check OPENAI_API_KEY)'
          : status === 404
            ? 'does not know the model (check CHAT_MODEL)'
            : 'failed';
    return new GenerationError(
      'generation_failed',
      `The language model ${meaning} (HTTP ${status})`,
      { cause: error },
    );
  }
  return new GenerationError(
    'generation_failed',
    'The connection to the language model failed or was cut off',
    { cause: error },
  );
}

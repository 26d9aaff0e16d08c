import { ChatOpenAI } from '@langchain/openai';
import type { Config } from '../core/config.ts';
import { createChatModelGenerator } from './chat-model-generator.ts';
import { createExtractiveGenerator } from './extractive-generator.ts';
import type { Generator } from './generator.ts';

/**
 * `CHAT_MODEL` set → any OpenAI-compatible chat endpoint through `ChatOpenAI`;
 * unset → the local extractive generator (no model, no network).
 *
 * @example
 * const generator = createGenerator(parseConfig({ CHAT_MODEL: 'gpt-4o-mini' }));
 */
export function createGenerator(config: Config): Generator {
  if (config.chatModel === undefined) return createExtractiveGenerator();
  const fields = {
    model: config.chatModel,
    apiKey: config.openaiApiKey ?? 'not-needed',
    configuration: { baseURL: config.openaiBaseUrl },
    // Retries happen only before the first token (a stream is never replayed); LangChain's
    // default of 6 means ~76 s before an unreachable model is reported.
    maxRetries: config.llmMaxRetries,
    timeout: config.llmIdleTimeoutMs,
    // Ask for the usage chunk at the end of the stream (stream_options.include_usage).
    streamUsage: true,
  };
  return createChatModelGenerator({
    model: new ChatOpenAI(fields),
    // A request's own settings get their own instance (about 25 µs to make), so the shared one
    // is never changed under other requests.
    modelWith: (options) => new ChatOpenAI({ ...fields, ...options }),
    name: `openai:${config.chatModel}`,
    idleTimeoutMs: config.llmIdleTimeoutMs,
  });
}

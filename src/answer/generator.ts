import type { Hit } from '../core/types.ts';
import type { AnswerUsage } from './answer-events.ts';

/** One earlier turn of the conversation. */
export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface GenerateInput {
  question: string;
  /** The retrieved passages; source n (1-based) is cited as [n]. */
  sources: readonly Hit[];
  history: readonly ChatTurn[];
  /** Aborted when the client goes away: the generator must stop its upstream work. */
  signal: AbortSignal;
  /** Per-request settings a client may ask for; unset ones keep the server's. */
  options?: GenerationOptions;
}

export interface GenerationOptions {
  /** At most this many tokens (the extractive generator: words); the finish reason is `length`. */
  maxTokens?: number;
  /** Sampling temperature, 0-2 (a model's; the extractive generator has none). */
  temperature?: number;
}

export type GeneratorOutput =
  | { type: 'token'; text: string }
  | { type: 'finish'; finishReason: string; usage?: AnswerUsage };

/**
 * Writes the answer as a stream of tokens. Two implementations: a LangChain chat model
 * (`chat-model-generator.ts`) and the local extractive generator (no model at all).
 */
export interface Generator {
  /** Shown to clients in the `meta` event, e.g. `openai:gpt-4o-mini` or `extractive`. */
  readonly name: string;
  generate(input: GenerateInput): AsyncIterable<GeneratorOutput>;
}

/**
 * A failure of the generator, with a message that is safe to show a client (no URLs, keys or
 * stack traces); the cause keeps the details for the log.
 */
export class GenerationError extends Error {
  override name = 'GenerationError';
  readonly code: 'generation_failed' | 'upstream_timeout';

  constructor(
    code: 'generation_failed' | 'upstream_timeout',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

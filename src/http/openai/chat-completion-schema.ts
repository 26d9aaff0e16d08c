import { z } from 'zod';
import { maxTurnLength, nulMessage, retrievalFields, withoutNul } from '../request-schemas.ts';

/**
 * `POST /v1/chat/completions` body: OpenAI's, read leniently. `max_tokens` and `temperature`
 * reach the model; fields we do not use (`top_p`, `tools`, `user`…) are accepted and ignored,
 * because every OpenAI client sends some of them; fields we cannot honour (`n` > 1, image
 * parts) are refused.
 * Our own retrieval options (`collection`, `k`, `filter`, `search`) ride along as extra
 * fields, as the `openai` SDK's `extra_body`/extra params allow.
 */

const text = z
  .string({ error: 'must be a string' })
  .max(maxTurnLength, `must be at most ${maxTurnLength} characters`)
  .refine(withoutNul, nulMessage);

const contentPart = z.looseObject(
  {
    type: z.literal('text', {
      error: 'must be "text": only text content is supported (no images, audio or files)',
    }),
    text,
  },
  { error: 'must be a content part { type: "text", text }' },
);

const messageContent = z.union(
  [text, z.array(contentPart, { error: 'must be an array of parts' })],
  {
    error: 'must be a string or an array of text parts',
  },
);

const message = z.looseObject(
  {
    role: z.enum(['system', 'developer', 'user', 'assistant'], {
      error:
        'must be "system", "developer", "user" or "assistant" (tool messages are not supported)',
    }),
    // An assistant message that only called tools has no content.
    content: messageContent.nullable().optional(),
  },
  { error: 'must be a message object { role, content }' },
);

const maxTokens = z
  .int({ error: 'must be a whole number' })
  .min(1, 'must be at least 1')
  .max(1_000_000, 'must be at most 1000000')
  .meta({ description: 'At most this many tokens; the finish reason is then `length`.' });

export const chatCompletionRequestSchema = z
  .looseObject(
    {
      model: z
        .string({
          error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
        })
        .min(1, 'must not be empty')
        .meta({
          description: 'Any name: every model name is answered the same way (see /v1/models).',
        }),
      messages: z
        .array(message, { error: 'must be an array of messages' })
        .min(1, 'must have at least one message'),
      stream: z.boolean({ error: 'must be true or false' }).nullable().optional(),
      stream_options: z
        .looseObject(
          { include_usage: z.boolean({ error: 'must be true or false' }).nullable().optional() },
          { error: 'must be an object' },
        )
        .nullable()
        .optional(),
      n: z
        .literal(1, { error: 'must be 1: one answer per request is supported' })
        .nullable()
        .optional(),
      max_tokens: maxTokens.nullable().optional(),
      max_completion_tokens: maxTokens.nullable().optional(),
      temperature: z
        .number({ error: 'must be a number' })
        .min(0, 'must be between 0 and 2')
        .max(2, 'must be between 0 and 2')
        .nullable()
        .optional(),
      ...retrievalFields,
      /** Ours: append the cited sources to the text (default true), for UIs that show only text. */
      append_sources: z
        .boolean({ error: 'must be true or false' })
        .meta({
          description:
            'streamrag: append a "Sources:" list of the cited passages to the text (default true).',
        })
        .optional(),
    },
    { error: 'must be a JSON object' },
  )
  .meta({
    id: 'ChatCompletionRequest',
    description:
      "OpenAI's chat completion request. The last message (the user's) is the question; earlier user and assistant messages are the history; system messages are left out. `max_tokens` (or `max_completion_tokens`) and `temperature` go to the model; other fields streamrag does not use (top_p, tools, user…) are accepted and ignored.",
  });

export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

/** A message's text: a string, or its text parts joined. */
export function messageText(content: z.output<typeof messageContent> | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text).join('');
}

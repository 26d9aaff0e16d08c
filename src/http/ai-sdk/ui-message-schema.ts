import { z } from 'zod';
import { maxTurnLength, nulMessage, retrievalFields, withoutNul } from '../request-schemas.ts';

/**
 * The body the AI SDK's `useChat` (its `DefaultChatTransport`) posts:
 * `{ id, messages: UIMessage[], trigger, messageId, …body }`. Only the text parts of each
 * message are read; other parts (sources, files, tool calls, data parts, step markers) are
 * passed over, because an assistant message coming back from the page carries our own
 * source parts. Our retrieval options ride along through `useChat`'s `body` option.
 */

const part = z.looseObject(
  {
    type: z.string({ error: 'must be a string' }),
    text: z
      .string({ error: 'must be a string' })
      .max(maxTurnLength, `must be at most ${maxTurnLength} characters`)
      .refine(withoutNul, nulMessage)
      .optional(),
  },
  { error: 'must be a message part { type, … }' },
);

const uiMessage = z.looseObject(
  {
    id: z.string({ error: 'must be a string' }).optional(),
    role: z.enum(['system', 'user', 'assistant'], {
      error: 'must be "system", "user" or "assistant"',
    }),
    parts: z.array(part, { error: 'must be an array of message parts' }),
  },
  { error: 'must be a UI message { id, role, parts }' },
);

export const uiChatRequestSchema = z
  .looseObject(
    {
      id: z.string({ error: 'must be a string' }).optional(),
      messages: z
        .array(uiMessage, { error: 'must be an array of UI messages' })
        .min(1, 'must have at least one message'),
      trigger: z
        .enum(['submit-message', 'regenerate-message'], {
          error: 'must be "submit-message" or "regenerate-message"',
        })
        .optional(),
      messageId: z.string({ error: 'must be a string' }).nullable().optional(),
      ...retrievalFields,
    },
    { error: 'must be a JSON object' },
  )
  .meta({
    id: 'UIChatRequest',
    description:
      "The body the AI SDK's useChat sends. The text parts of the last (user) message are the question; earlier messages are the history.",
  });

export type UIChatRequest = z.output<typeof uiChatRequestSchema>;

/** A UI message's text: its text parts, joined. */
export function uiMessageText(message: UIChatRequest['messages'][number]): string {
  return message.parts
    .filter((part) => part.type === 'text')
    .map((part) => part.text ?? '')
    .join('');
}

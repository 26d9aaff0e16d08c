import { uiMessageChunkEncoder, uiMessageStreamHeaders } from '../ai-sdk/ui-message-chunks.ts';
import {
  type UIChatRequest,
  uiChatRequestSchema,
  uiMessageText,
} from '../ai-sdk/ui-message-schema.ts';
import { type AnswerDialect, answerEndpoint } from '../answer/answer-endpoint.ts';
import { conversationToInput } from '../answer/conversation.ts';
import type { AppDependencies } from '../app-dependencies.ts';
import { parseOrThrow } from '../request-schemas.ts';

/**
 * `POST /api/chat`: the AI SDK's UI message stream, at the path `useChat` posts to by
 * default, so an AI SDK front end served with (or proxied to) this server works unchanged.
 */
export function uiChatHandler(dependencies: AppDependencies) {
  return answerEndpoint(dependencies, uiChatDialect);
}

const uiChatDialect: AnswerDialect<UIChatRequest> = {
  read(raw, config) {
    const request = parseOrThrow(uiChatRequestSchema, raw);
    const messages = request.messages.map((message) => ({
      role: message.role,
      text: uiMessageText(message),
    }));
    return { request, input: conversationToInput(messages, request, config, 'messages') };
  },
  respond({ stream }) {
    // Not the request id: a client may send the same X-Request-Id with every request, and
    // useChat replaces a message that has an earlier message's id (meta carries the request id).
    return stream(uiMessageChunkEncoder(`msg-${crypto.randomUUID()}`), uiMessageStreamHeaders);
  },
};

import type { Context } from 'hono';
import { type AnswerDialect, answerEndpoint } from '../answer/answer-endpoint.ts';
import { clientClosedResponse, collectAnswer } from '../answer/collect-answer.ts';
import { conversationToInput } from '../answer/conversation.ts';
import type { AppDependencies, AppEnvironment } from '../app-dependencies.ts';
import {
  type CompletionIdentity,
  chatCompletionBody,
  chatCompletionChunkEncoder,
  withoutSourceList,
} from '../openai/chat-completion-chunks.ts';
import {
  type ChatCompletionRequest,
  chatCompletionRequestSchema,
  messageText,
} from '../openai/chat-completion-schema.ts';
import { parseOrThrow } from '../request-schemas.ts';
import { answerServerTiming } from '../server-timing.ts';

/** The one model this server lists; any `model` a client sends is answered the same way. */
export const modelId = 'streamrag';

/**
 * `POST /v1/chat/completions`: retrieval-augmented answers in OpenAI's wire format, streamed
 * (`stream: true`) or as one body, so OpenAI clients work by changing their base URL.
 */
export function chatCompletionsHandler(dependencies: AppDependencies) {
  return answerEndpoint(dependencies, chatCompletionsDialect);
}

const chatCompletionsDialect: AnswerDialect<ChatCompletionRequest> = {
  read(raw, config) {
    const request = parseOrThrow(chatCompletionRequestSchema, raw);
    const messages = request.messages.map((message) => {
      const text = messageText(message.content);
      return {
        role: message.role,
        text: message.role === 'assistant' ? withoutSourceList(text) : text,
      };
    });
    const input = conversationToInput(messages, request, config, 'messages');
    const maxTokens = request.max_completion_tokens ?? request.max_tokens;
    const generation = {
      ...(maxTokens == null ? {} : { maxTokens }),
      ...(request.temperature == null ? {} : { temperature: request.temperature }),
    };
    return {
      request,
      input: Object.keys(generation).length === 0 ? input : { ...input, generation },
    };
  },

  async respond({ context: c, request, events, stream }) {
    const identity: CompletionIdentity = {
      // Not the request id: a client may send the same X-Request-Id with every request, and a
      // completion id must be unique.
      id: `chatcmpl-${crypto.randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
    };
    const appendSources = request.append_sources ?? true;
    if (request.stream === true) {
      const includeUsage = request.stream_options?.include_usage === true;
      return stream(chatCompletionChunkEncoder(identity, { includeUsage, appendSources }));
    }
    const collected = await collectAnswer(events);
    if (collected === undefined) return clientClosedResponse();
    c.header('Server-Timing', answerServerTiming(collected.done.timings));
    return c.json(chatCompletionBody(identity, collected, { appendSources }));
  },
};

/**
 * `GET /v1/models`: the model list OpenAI clients and chat UIs read to fill their pickers, and
 * `GET /v1/models/:model`, which describes any name, since any name is answered.
 */
export function modelsHandlers(startedAt: number) {
  const model = (id: string) => ({
    id,
    object: 'model',
    created: startedAt,
    owned_by: 'streamrag',
  });
  return {
    list: (c: Context<AppEnvironment>) => c.json({ object: 'list', data: [model(modelId)] }),
    retrieve: (c: Context<AppEnvironment>) => c.json(model(c.req.param('model') ?? modelId)),
  };
}

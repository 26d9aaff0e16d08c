import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { chatIcon, chatPage, chatScript, chatStyle } from '../../ui/chat-assets.generated.ts';
import { uiChatRequestSchema } from '../ai-sdk/ui-message-schema.ts';
import { chatCompletionRequestSchema } from '../openai/chat-completion-schema.ts';
import { answerRequestSchema, searchQuerySchema } from '../request-schemas.ts';
import {
  answerBodySchema,
  errorBodySchema,
  modelListSchema,
  modelSchema,
  searchResponseSchema,
  statusSchema,
} from './response-schemas.ts';

/**
 * Every route of the API, described for `GET /openapi.json` from the same zod schemas that
 * validate the requests. A test fails if the app serves a route that is not listed here, or
 * lists one it does not serve.
 */

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorBodySchema } },
});

const jsonBody = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema } },
});

const answeringErrors = {
  400: error('The body is not valid; the message names the field.'),
  413: error('The body is larger than MAX_REQUEST_BYTES.'),
  415: error('The body is not JSON, or not UTF-8.'),
  503: error('The server is shutting down.'),
};

const eventStream = (description: string, example: string) => ({
  'text/event-stream': { schema: z.string().meta({ description, example }) },
});

export const apiRoutes = [
  createRoute({
    method: 'post',
    path: '/v1/answer',
    tags: ['Answers'],
    summary: 'Answer a question from the documents, streamed',
    description:
      'Server-Sent Events in this order: `meta` (at once, before any I/O), `sources` (after retrieval), one `token` per model chunk, then `done` with the stage timings — or `error` in its place if something fails after the headers. With `Accept: application/json` (and not text/event-stream) the whole answer comes as one body.',
    request: { body: jsonBody(answerRequestSchema) },
    responses: {
      200: {
        description: 'The answer as events, or as one JSON body.',
        content: {
          ...eventStream(
            'event: meta | sources | token | done | error, data: JSON',
            'event: token\ndata: {"text":"VACUUM reclaims"}\n\n',
          ),
          'application/json': { schema: answerBodySchema },
        },
      },
      ...answeringErrors,
      502: error('JSON mode: the model failed.'),
      504: error('JSON mode: the model timed out.'),
    },
  }),
  createRoute({
    method: 'post',
    path: '/v1/chat/completions',
    tags: ['OpenAI-compatible'],
    summary: 'Retrieval-augmented chat completion in OpenAI’s wire format',
    description:
      'The official `openai` SDK, LangChain `ChatOpenAI` and OpenAI-speaking chat UIs work by changing their base URL. `stream: true` gives `chat.completion.chunk` events ending with `data: [DONE]`; the sources arrive in a chunk with an extra `sources` field and, unless `append_sources` is false, as a "Sources:" list appended to the text.',
    request: { body: jsonBody(chatCompletionRequestSchema) },
    responses: {
      200: {
        description: 'A `chat.completion` body, or a stream of `chat.completion.chunk`s.',
        content: {
          'application/json': {
            schema: z.object({}).loose().meta({ description: 'OpenAI chat.completion' }),
          },
          ...eventStream(
            'data: chat.completion.chunk JSON … data: [DONE]',
            'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"VACUUM"},"finish_reason":null}]}\n\n',
          ),
        },
      },
      ...answeringErrors,
      502: error('Non-streaming: the model failed.'),
      504: error('Non-streaming: the model timed out.'),
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/models',
    tags: ['OpenAI-compatible'],
    summary: 'The model list OpenAI clients read',
    responses: {
      200: {
        description: 'One model, `streamrag`.',
        content: { 'application/json': { schema: modelListSchema } },
      },
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/models/{model}',
    tags: ['OpenAI-compatible'],
    summary: 'One model, as OpenAI clients retrieve it',
    description:
      'Any name is answered (every model name gets the same retrieval-augmented answers).',
    request: { params: z.object({ model: z.string().meta({ description: 'Any model name.' }) }) },
    responses: {
      200: {
        description: 'The model object.',
        content: { 'application/json': { schema: modelSchema } },
      },
    },
  }),
  createRoute({
    method: 'post',
    path: '/api/chat',
    tags: ['AI SDK'],
    summary: 'The Vercel AI SDK UI message stream (protocol v1), for useChat',
    description:
      'Accepts the body `useChat` sends and answers with `x-vercel-ai-ui-message-stream: v1`: `start`, `source-document`/`source-url` parts, `text-start`, `text-delta`…, `text-end`, `finish` (timings as message metadata) or `error`, then `data: [DONE]`.',
    request: { body: jsonBody(uiChatRequestSchema) },
    responses: {
      200: {
        description: 'UI message stream parts.',
        content: eventStream(
          'data: UI message chunk JSON … data: [DONE]',
          'data: {"type":"text-delta","id":"msg-1-text","delta":"VACUUM"}\n\n',
        ),
      },
      ...answeringErrors,
    },
  }),
  createRoute({
    method: 'get',
    path: '/v1/search',
    tags: ['Search'],
    summary: 'Retrieve passages without generating an answer',
    description:
      'Cacheable: a strong ETag from the collection’s change version and the query, computed before any search, so `If-None-Match` revalidation of an unchanged collection answers 304 after one indexed lookup.',
    request: { query: searchQuerySchema as unknown as z.ZodObject },
    responses: {
      200: {
        description: 'The hits, best first.',
        content: { 'application/json': { schema: searchResponseSchema } },
      },
      304: { description: 'Unchanged since the ETag sent in If-None-Match.' },
      400: error('A query parameter is not valid.'),
    },
  }),
  createRoute({
    method: 'get',
    path: '/healthz',
    tags: ['Operations'],
    summary: 'The process is up',
    responses: {
      200: { description: 'Up.', content: { 'application/json': { schema: statusSchema } } },
    },
  }),
  createRoute({
    method: 'get',
    path: '/readyz',
    tags: ['Operations'],
    summary: 'The database answers and is migrated, and the server is not draining',
    responses: {
      200: { description: 'Ready.', content: { 'application/json': { schema: statusSchema } } },
      503: {
        description: 'Draining, or the database is unreachable.',
        content: { 'application/json': { schema: z.union([statusSchema, errorBodySchema]) } },
      },
    },
  }),
  createRoute({
    method: 'get',
    path: '/openapi.json',
    tags: ['Documentation'],
    summary: 'This OpenAPI 3.1 document',
    responses: {
      200: {
        description: 'The document.',
        content: { 'application/json': { schema: z.object({}).loose() } },
      },
    },
  }),
  createRoute({
    method: 'get',
    path: '/docs',
    tags: ['Documentation'],
    summary: 'This API as a readable page',
    responses: { 200: { description: 'HTML.', content: { 'text/html': { schema: z.string() } } } },
  }),
  createRoute({
    method: 'get',
    path: chatPage.path,
    tags: ['Chat page'],
    summary: 'The chat page: ask, watch the answer stream in, see sources and timings',
    responses: {
      200: {
        description: 'HTML (revalidated: no-cache, ETag).',
        content: { 'text/html': { schema: z.string() } },
      },
      304: { description: 'Unchanged.' },
    },
  }),
  ...[chatScript, chatStyle, chatIcon].map((asset) =>
    createRoute({
      method: 'get',
      path: asset.path,
      tags: ['Chat page'],
      summary: `The chat page's ${asset.contentType.split(';')[0]} (content-hashed, immutable)`,
      responses: {
        200: { description: 'The file.', content: { [asset.contentType]: { schema: z.string() } } },
        304: { description: 'Unchanged.' },
      },
    }),
  ),
];

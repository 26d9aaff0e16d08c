import { z } from 'zod';
import type {
  AnswerBody,
  AnswerMeta,
  AnswerSource,
  AnswerTimings,
} from '../../answer/answer-events.ts';
import type { Hit } from '../../core/types.ts';
import type { ErrorBody } from '../http-error.ts';

/**
 * The response bodies, for the OpenAPI document only (responses are built from the typed
 * events, not parsed). The type checks at the end fail the build if a schema and its type
 * drift apart.
 */

export const errorBodySchema = z
  .object({
    error: z.object({
      message: z.string().meta({ description: 'What is wrong, safe to show.' }),
      type: z.enum(['invalid_request_error', 'server_error']),
      param: z.string().nullable().meta({ description: 'The request field at fault, if any.' }),
      code: z.string().meta({ description: 'e.g. invalid_request, not_found, shutting_down' }),
    }),
  })
  .meta({ id: 'Error', description: "Every error, in OpenAI's error shape." });

export const hitSchema = z
  .object({
    id: z.string(),
    content: z.string(),
    documentId: z.string(),
    title: z.string().nullable(),
    source: z.string(),
    ordinal: z.int().meta({ description: "The passage's position in its document." }),
    score: z.number().meta({
      description: 'vector: cosine similarity; text: ts_rank_cd; hybrid: reciprocal-rank fusion.',
    }),
  })
  .meta({ id: 'Hit' });

export const searchResponseSchema = z.object({ hits: z.array(hitSchema) });

export const sourceSchema = z
  .object({
    id: z.string(),
    documentId: z.string(),
    title: z.string().nullable(),
    source: z.string(),
    ordinal: z.int(),
    score: z.number(),
    snippet: z.string().meta({ description: 'The start of the passage; the model sees it all.' }),
  })
  .meta({ id: 'Source', description: 'A retrieved passage; source n is cited as [n].' });

export const timingsSchema = z
  .object({
    embedMs: z.number(),
    retrieveMs: z.number(),
    firstTokenMs: z.number().nullable(),
    totalMs: z.number(),
  })
  .meta({ id: 'Timings', description: 'Stage timings in ms, from the request’s arrival.' });

const usageSchema = z.object({
  promptTokens: z.int(),
  completionTokens: z.int(),
  totalTokens: z.int(),
});

export const answerBodySchema = z
  .object({
    answer: z.string(),
    sources: z.array(sourceSchema),
    finishReason: z.string(),
    usage: usageSchema.optional(),
    timings: timingsSchema,
  })
  .meta({ id: 'AnswerBody' });

export const answerMetaSchema = z.object({
  requestId: z.string(),
  generator: z.string(),
  embedder: z.string(),
  search: z.enum(['hybrid', 'vector', 'text']),
});

export const modelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.int(),
    owned_by: z.string(),
  })
  .meta({ id: 'Model' });

export const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) });

export const statusSchema = z.object({ status: z.string(), engine: z.string().optional() });

// Drift checks: each schema's type and the type the code uses must be assignable both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: [
  Same<z.infer<typeof errorBodySchema>, ErrorBody>,
  Same<z.infer<typeof hitSchema>, Hit>,
  Same<z.infer<typeof sourceSchema>, AnswerSource>,
  Same<z.infer<typeof timingsSchema>, AnswerTimings>,
  Same<z.infer<typeof answerBodySchema>, AnswerBody>,
  Same<z.infer<typeof answerMetaSchema>, AnswerMeta>,
] = [true, true, true, true, true, true];
void schemaMatchesTypes;

/**
 * The answer event contract (DESIGN.md §4): what `POST /v1/answer` streams as Server-Sent
 * Events, in this order — `meta`, `sources`, `token`…, then `done` (or `error`). The typed
 * client (`src/client/`) parses exactly these; the JSON mode folds them into one body.
 */
import type { SearchMode } from '../core/types.ts';

export interface AnswerMeta {
  requestId: string;
  /** e.g. `openai:gpt-4o-mini` or `extractive` (no model: sentences quoted from the sources). */
  generator: string;
  /** The embedder the database is bound to, e.g. `local-hash-v1`. */
  embedder: string;
  search: SearchMode;
}

/** A retrieved passage as the client sees it: its position in the list is its citation [n]. */
export interface AnswerSource {
  id: string;
  documentId: string;
  title: string | null;
  source: string;
  ordinal: number;
  score: number;
  /** The start of the passage, for display; the model sees all of it. */
  snippet: string;
}

export interface AnswerTimings {
  /** Embedding the question (0 for text search). */
  embedMs: number;
  /** The database search. */
  retrieveMs: number;
  /** From the request's arrival to the first token (null when the answer had no token). */
  firstTokenMs: number | null;
  /** From the request's arrival to the end of the answer. */
  totalMs: number;
}

export interface AnswerUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface AnswerDone {
  /** `stop`, `length` (the model hit its token limit), … as the model reports it. */
  finishReason: string;
  usage?: AnswerUsage;
  timings: AnswerTimings;
}

/** Sent instead of `done` when something fails after the headers; the message is safe to show. */
export interface AnswerError {
  code: AnswerErrorCode;
  message: string;
}

export type AnswerErrorCode =
  | 'retrieval_failed'
  | 'generation_failed'
  | 'upstream_timeout'
  | 'shutting_down'
  | 'internal_error';

export type AnswerEvent =
  | { event: 'meta'; data: AnswerMeta }
  | { event: 'sources'; data: AnswerSource[] }
  | { event: 'token'; data: { text: string } }
  | { event: 'done'; data: AnswerDone }
  | { event: 'error'; data: AnswerError };

export type AnswerEventName = AnswerEvent['event'];

export const answerEventNames: readonly AnswerEventName[] = [
  'meta',
  'sources',
  'token',
  'done',
  'error',
];

/** `Accept: application/json`: the whole answer in one body. */
export interface AnswerBody {
  answer: string;
  sources: AnswerSource[];
  finishReason: string;
  usage?: AnswerUsage;
  timings: AnswerTimings;
}

/** The request body of `POST /v1/answer`. */
export interface AnswerRequest {
  question: string;
  collection?: string;
  k?: number;
  filter?: Record<string, string | number | boolean | null>;
  history?: { role: 'user' | 'assistant'; content: string }[];
  search?: SearchMode;
}

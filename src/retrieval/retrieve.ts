import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { Hit, MetadataFilter, SearchMode, SearchQuery } from '../core/types.ts';
import type { Store } from '../store/store.ts';

export interface RetrieveRequest {
  question: string;
  mode: SearchMode;
  k: number;
  collection?: string;
  filter?: MetadataFilter;
  /** Cancels the database search when the request that wanted it goes away. */
  signal?: AbortSignal;
}

export interface RetrieveResult {
  hits: Hit[];
  timings: { embedMs: number; retrieveMs: number };
}

/**
 * Embeds the question (unless the search is text-only) and runs the search, timing both
 * stages so each request can report where its time went.
 *
 * @example
 * const { hits, timings } = await retrieve({ store, embeddings }, { question, mode: 'hybrid', k: 8 });
 */
export async function retrieve(
  dependencies: { store: Store; embeddings: EmbeddingsInterface },
  request: RetrieveRequest,
): Promise<RetrieveResult> {
  const started = performance.now();
  const query = await toSearchQuery(dependencies.embeddings, request);
  const embedded = performance.now();
  request.signal?.throwIfAborted();
  const hits = await dependencies.store.search(
    query,
    request.signal === undefined ? {} : { signal: request.signal },
  );
  const finished = performance.now();
  return {
    hits,
    timings: {
      // Nothing is embedded for a text search: report 0, not the cost of an empty await.
      embedMs: request.mode === 'text' ? 0 : round(embedded - started),
      retrieveMs: round(finished - embedded),
    },
  };
}

/** The store query for a request: the question embedded unless the search is text-only. */
export async function toSearchQuery(
  embeddings: EmbeddingsInterface,
  request: RetrieveRequest,
): Promise<SearchQuery> {
  const embedding =
    request.mode === 'text' ? undefined : await embeddings.embedQuery(request.question);
  return {
    text: request.question,
    mode: request.mode,
    k: request.k,
    ...(embedding === undefined ? {} : { embedding }),
    ...(request.collection === undefined ? {} : { collection: request.collection }),
    ...(request.filter === undefined ? {} : { filter: request.filter }),
  };
}

const round = (milliseconds: number) => Math.round(milliseconds * 100) / 100;

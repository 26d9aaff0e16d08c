import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { Generator } from '../answer/generator.ts';
import type { Config } from '../core/config.ts';
import type { Store } from '../store/store.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { ServiceVariables } from './request-services.ts';
import type { TimingVariables } from './server-timing.ts';

/** What a request does its I/O with: the database, the embedder and the answer generator. */
export interface Services {
  store: Store;
  embeddings: EmbeddingsInterface;
  generator: Generator;
}

/**
 * Services opened for each request and closed once its response has been sent. Workers need
 * this: anything that does I/O (a socket, an HTTP client's queue, a promise another request's
 * I/O settles) belongs to the request that made it, and touching it from another fails with
 * "Cannot perform I/O on behalf of a different request".
 */
export interface ServicesPerRequest {
  perRequest(): { services: Services; close(): Promise<void> };
}

/** Everything the app needs, as plain values: each runtime's entry point builds them. */
export interface AppDependencies {
  config: Pick<
    Config,
    | 'answerK'
    | 'maxRequestBytes'
    | 'sseKeepAliveMs'
    | 'sseStallTimeoutMs'
    | 'searchCacheSeconds'
    | 'hnswEfSearch'
    | 'corsOrigins'
  >;
  /**
   * Shared by every request (Node: one connection pool, one model client), or opened per
   * request (Workers). Handlers read them from `c.var.services`.
   */
  services: Services | ServicesPerRequest;
  lifecycle: Lifecycle;
  /** Failures in full, for operators (clients get a sanitised message). Default: console.error. */
  logError?: (message: string, error: unknown) => void;
}

export type AppEnvironment = {
  Variables: TimingVariables & ServiceVariables & { requestId: string };
};

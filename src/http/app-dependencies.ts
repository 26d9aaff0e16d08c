import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { Generator } from '../answer/generator.ts';
import type { Config } from '../core/config.ts';
import type { Store } from '../store/store.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { TimingVariables } from './server-timing.ts';

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
  store: Store;
  embeddings: EmbeddingsInterface;
  generator: Generator;
  lifecycle: Lifecycle;
  /** Failures in full, for operators (clients get a sanitised message). Default: console.error. */
  logError?: (message: string, error: unknown) => void;
}

export type AppEnvironment = {
  Variables: TimingVariables & { requestId: string };
};

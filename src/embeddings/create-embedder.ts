import type { Embeddings } from '@langchain/core/embeddings';
import { OpenAIEmbeddings } from '@langchain/openai';
import type { Config } from '../core/config.ts';
import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { LocalHashEmbeddings } from './local-hash-embeddings.ts';

/** A LangChain `Embeddings` plus the identity recorded in (and checked against) the database. */
export interface Embedder {
  embeddings: Embeddings;
  identity: EmbedderIdentity;
}

/**
 * `EMBEDDING_MODEL` set → any OpenAI-compatible endpoint through `OpenAIEmbeddings`;
 * unset → the local hash embedder (no network).
 *
 * Without `EMBEDDING_DIMENSIONS` the remote model is asked once for a probe vector, since the
 * dimension must be known before the database schema is created or checked.
 */
export async function createEmbedder(config: Config): Promise<Embedder> {
  if (config.embeddingModel === undefined) {
    const embeddings = new LocalHashEmbeddings({ dimensions: config.embeddingDimensions ?? 384 });
    return { embeddings, identity: embeddings.identity };
  }
  const embeddings = openAIEmbeddings(config, config.embeddingModel);
  let dimensions = config.embeddingDimensions;
  if (dimensions === undefined) {
    try {
      dimensions = (await embeddings.embedQuery('dimension probe')).length;
    } catch (error) {
      throw new StreamragError(
        'embedding_failed',
        `Could not reach the embedding model "${config.embeddingModel}" at ${config.embeddingsBaseUrl ?? config.openaiBaseUrl ?? 'the OpenAI API'} to learn its dimension (set EMBEDDING_DIMENSIONS to skip this probe): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
  return { embeddings, identity: { name: `openai:${config.embeddingModel}`, dimensions } };
}

/**
 * Another client for an embedder `createEmbedder` made (same model and dimension), without a
 * probe: Workers make one per request, since clients cannot be shared between requests there.
 */
export function createEmbeddings(config: Config, identity: EmbedderIdentity): Embeddings {
  if (config.embeddingModel === undefined) {
    return new LocalHashEmbeddings({ dimensions: identity.dimensions });
  }
  return openAIEmbeddings(config, config.embeddingModel);
}

function openAIEmbeddings(config: Config, model: string): OpenAIEmbeddings {
  return new OpenAIEmbeddings({
    model,
    apiKey: config.embeddingsApiKey ?? config.openaiApiKey ?? 'not-needed',
    ...(config.embeddingDimensions === undefined ? {} : { dimensions: config.embeddingDimensions }),
    batchSize: config.embeddingBatchSize,
    // LangChain's default of 6 retries means ~76 s before an unreachable server is reported.
    maxRetries: 2,
    timeout: 60_000,
    configuration: { baseURL: config.embeddingsBaseUrl ?? config.openaiBaseUrl },
  });
}

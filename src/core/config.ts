import { z } from 'zod';
import { StreamragError } from './errors.ts';

/**
 * All configuration, parsed and validated once from a plain environment object
 * (`process.env` on Node, the `env` binding on Workers). A bad value stops start-up
 * with a message naming the variable.
 */
export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  pgPoolMax: number;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  embeddingModel: string | undefined;
  embeddingDimensions: number | undefined;
  embeddingsBaseUrl: string | undefined;
  embeddingsApiKey: string | undefined;
  embeddingBatchSize: number;
  chunkSize: number;
  chunkOverlap: number;
  ingestMaxFileBytes: number;
  hnswEfSearch: number;
  indexBuildMemory: string;
  ingestDeferIndexes: 'auto' | 'always' | 'never';
  host: string;
  port: number;
  chatModel: string | undefined;
  /** Retries of a failed model request before its first token (never after: tokens were sent). */
  llmMaxRetries: number;
  /** No chunk from the model for this long (before or between tokens) ends the answer. */
  llmIdleTimeoutMs: number;
  /** Passages retrieved for an answer when the request does not say. */
  answerK: number;
  maxRequestBytes: number;
  /** A comment line is sent on an SSE stream silent for this long, so proxies keep it open. */
  sseKeepAliveMs: number;
  /**
   * A client that has taken nothing of a waiting stream for this long is disconnected, so a
   * reader that stopped reading (but keeps the connection) cannot hold a model request open.
   */
  sseStallTimeoutMs: number;
  /** On SIGTERM, open streams get this long to finish before they are ended. */
  shutdownGraceMs: number;
  /** `max-age` of GET /v1/search responses (they are revalidated by ETag either way). */
  searchCacheSeconds: number;
  /**
   * Origins whose pages may call the API from a browser (CORS), e.g. an AI SDK front end on
   * http://localhost:3000; `['*']` for any; empty (the default) sends no CORS headers.
   */
  corsOrigins: string[];
}

export type Environment = Record<string, string | undefined>;

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const integer = (min: number, max: number) =>
  z.coerce
    .number()
    .refine(Number.isInteger, 'must be a whole number')
    .refine((value) => value >= min && value <= max, `must be between ${min} and ${max}`);

const url = optionalText.refine(
  (value) => value === undefined || URL.canParse(value),
  'must be a URL such as http://127.0.0.1:11434/v1',
);

const schema = z
  .object({
    DATABASE_URL: optionalText.refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      'must be a postgres:// or postgresql:// URL',
    ),
    DATA_DIR: optionalText.default('./.data'),
    // Measured on 2 cores (docs/benchmarks.md, pool size): 8 connections reach 90-96 % of the
    // best search throughput; more add little and cost the server memory and CPU.
    PG_POOL_MAX: integer(1, 1000).default(8),
    OPENAI_API_KEY: optionalText,
    OPENAI_BASE_URL: url,
    EMBEDDING_MODEL: optionalText,
    EMBEDDING_DIMENSIONS: integer(1, 2000).optional(),
    EMBEDDINGS_BASE_URL: url,
    EMBEDDINGS_API_KEY: optionalText,
    EMBEDDING_BATCH_SIZE: integer(1, 2048).default(256),
    CHUNK_SIZE: integer(100, 20_000).default(1000),
    CHUNK_OVERLAP: integer(0, 10_000).default(150),
    INGEST_MAX_FILE_BYTES: integer(1, 1_000_000_000).default(10_000_000),
    HNSW_EF_SEARCH: integer(1, 1000).default(100),
    INDEX_BUILD_MEMORY: z
      .string()
      .trim()
      .regex(/^\d+(kB|MB|GB)$/, 'must be a size such as 512MB or 1GB')
      .refine(
        (size) =>
          Number.parseInt(size, 10) * { kB: 1, MB: 1024, GB: 1024 ** 2 }[size.slice(-2) as 'kB'] >=
          1024,
        'must be at least 1MB',
      )
      .default('512MB'),
    INGEST_DEFER_INDEXES: z.enum(['auto', 'always', 'never']).default('auto'),
    HOST: optionalText.default('127.0.0.1'),
    PORT: integer(0, 65_535).default(8787),
    CHAT_MODEL: optionalText,
    LLM_MAX_RETRIES: integer(0, 10).default(1),
    LLM_IDLE_TIMEOUT_MS: integer(100, 600_000).default(30_000),
    ANSWER_K: integer(1, 50).default(6),
    MAX_REQUEST_BYTES: integer(1024, 100_000_000).default(1_000_000),
    SSE_KEEPALIVE_MS: integer(100, 600_000).default(15_000),
    SSE_STALL_TIMEOUT_MS: integer(100, 3_600_000).default(60_000),
    SHUTDOWN_GRACE_MS: integer(0, 600_000).default(10_000),
    SEARCH_CACHE_SECONDS: integer(0, 31_536_000).default(0),
    CORS_ORIGINS: optionalText
      .transform((value) =>
        value === undefined ? [] : value.split(',').map((origin) => origin.trim()),
      )
      .refine(
        (origins) =>
          origins.every((origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin)),
        'must be * or comma-separated origins such as http://localhost:3000 (no path)',
      ),
  })
  .refine((env) => env.CHUNK_OVERLAP < env.CHUNK_SIZE, {
    path: ['CHUNK_OVERLAP'],
    message: 'must be smaller than CHUNK_SIZE',
  });

/** Every environment variable the configuration reads. */
export const configVariableNames: readonly string[] = Object.keys(schema.shape);

/**
 * @example
 * const config = parseConfig(process.env);
 * config.chunkSize; // 1000 unless CHUNK_SIZE is set
 */
export function parseConfig(environment: Environment): Config {
  const result = schema.safeParse(environment);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`,
    );
    throw new StreamragError('invalid_config', `Invalid configuration: ${problems.join('; ')}`);
  }
  const env = result.data;
  return {
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    pgPoolMax: env.PG_POOL_MAX,
    openaiApiKey: env.OPENAI_API_KEY,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    embeddingModel: env.EMBEDDING_MODEL,
    embeddingDimensions: env.EMBEDDING_DIMENSIONS,
    embeddingsBaseUrl: env.EMBEDDINGS_BASE_URL,
    embeddingsApiKey: env.EMBEDDINGS_API_KEY,
    embeddingBatchSize: env.EMBEDDING_BATCH_SIZE,
    chunkSize: env.CHUNK_SIZE,
    chunkOverlap: env.CHUNK_OVERLAP,
    ingestMaxFileBytes: env.INGEST_MAX_FILE_BYTES,
    hnswEfSearch: env.HNSW_EF_SEARCH,
    indexBuildMemory: env.INDEX_BUILD_MEMORY,
    ingestDeferIndexes: env.INGEST_DEFER_INDEXES,
    host: env.HOST,
    port: env.PORT,
    chatModel: env.CHAT_MODEL,
    llmMaxRetries: env.LLM_MAX_RETRIES,
    llmIdleTimeoutMs: env.LLM_IDLE_TIMEOUT_MS,
    answerK: env.ANSWER_K,
    maxRequestBytes: env.MAX_REQUEST_BYTES,
    sseKeepAliveMs: env.SSE_KEEPALIVE_MS,
    sseStallTimeoutMs: env.SSE_STALL_TIMEOUT_MS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    searchCacheSeconds: env.SEARCH_CACHE_SECONDS,
    corsOrigins: env.CORS_ORIGINS,
  };
}

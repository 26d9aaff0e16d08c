import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { errorMessage } from '../core/errors.ts';
import type { ChunkInput, DocumentInput } from '../core/types.ts';
import { restoreFailedWarning } from '../store/sql-store.ts';
import type { Store } from '../store/store.ts';
import { sha256Hex } from './content-hash.ts';
import { createSplitter, type SplitOptions, type TextFormat } from './split.ts';

/** One document to ingest: from the file loader, or from an API request. */
export interface IngestDocument {
  source: string;
  title: string;
  text: string;
  format: TextFormat;
  metadata?: Record<string, unknown>;
}

export type IngestInput =
  | { kind: 'document'; path: string; document: IngestDocument }
  | { kind: 'skipped' | 'failed'; path: string; reason: string };

export interface IngestSummary {
  added: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
  chunks: number;
  seconds: number;
}

export type IngestEvent =
  | { kind: 'document'; path: string; status: 'added' | 'updated' | 'unchanged'; chunks: number }
  | { kind: 'skipped'; path: string; reason: string }
  | { kind: 'failed'; path: string; reason: string }
  /** Something went wrong that cost speed, not data (e.g. bulk-load mode was unavailable). */
  | { kind: 'warning'; code: 'defer_failed' | 'restore_failed'; message: string };

export interface IngestOptions extends SplitOptions {
  collection: string;
  /** Chunks embedded per call to the embedder (and written per round of transactions). */
  batchSize: number;
  /** Documents written at once (each in its own transaction). */
  writeConcurrency: number;
  /**
   * Bulk-load mode (drop the chunk indexes, rebuild them at the end): `auto` switches to it at
   * once on an empty table, else once this run has written more than max(256, a quarter of the
   * existing) chunks — the point where one rebuild beats inserting into the HNSW graph row by
   * row. Default `never`.
   */
  deferIndexes?: 'auto' | 'always' | 'never';
  /**
   * Stops taking new documents when aborted; what was already read is still embedded and
   * written, and deferred indexes are rebuilt, so an interrupted run leaves a consistent store.
   */
  signal?: AbortSignal;
  onEvent?: (event: IngestEvent, summary: IngestSummary) => void;
}

interface PreparedDocument {
  path: string;
  document: DocumentInput;
  chunks: string[];
  embeddingInputs: string[];
}

/** Bump when splitting or hashing changes, so every document is re-split on the next run. */
const pipelineVersion = 1;

/**
 * Ingests loaded documents: split, hash (an unchanged document is skipped before it is
 * embedded), embed in batches, write each document with its chunks in one transaction.
 * Embedding of the next batch overlaps the writes of the previous one. A document that fails
 * is reported through `onEvent` and counted; it never stops the others.
 *
 * @example
 * const summary = await ingest(loadPaths(['docs/'], { maxFileBytes }), { store, embeddings }, options);
 */
export async function ingest(
  inputs: AsyncIterable<IngestInput> | Iterable<IngestInput>,
  dependencies: { store: Store; embeddings: EmbeddingsInterface },
  options: IngestOptions,
): Promise<IngestSummary> {
  const { store, embeddings } = dependencies;
  const started = performance.now();
  const split = createSplitter(options);
  const summary: IngestSummary = {
    added: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    chunks: 0,
    seconds: 0,
  };
  const report = (event: IngestEvent) => {
    if (event.kind === 'document') {
      summary[event.status] += 1;
      if (event.status !== 'unchanged') summary.chunks += event.chunks;
    } else if (event.kind !== 'warning') {
      summary[event.kind] += 1;
    }
    summary.seconds = (performance.now() - started) / 1000;
    options.onEvent?.(event, summary);
  };

  let batch: PreparedDocument[] = [];
  let batchChunks = 0;
  let writing: Promise<void> = Promise.resolve();
  let queuedChunks = 0;
  let indexesDeferred = false;
  let deferAttempted = false;
  const deferThreshold = await deferIndexesThreshold();
  // One query up front instead of a lookup per document, which queued behind the writes. A
  // document written meanwhile by someone else is still caught by writeDocument's hash check.
  const storedHashes = await store.documentHashes(options.collection);

  async function deferIndexesThreshold(): Promise<number> {
    const mode = options.deferIndexes ?? 'never';
    if (mode === 'never') return Number.POSITIVE_INFINITY;
    if (mode === 'always') return 0;
    const { chunks } = await store.stats();
    // An empty table has no index worth keeping live: defer from the first chunk.
    return chunks === 0 ? 0 : Math.max(256, chunks / 4);
  }

  async function writeBatch(documents: PreparedDocument[], vectors: number[][]) {
    let offset = 0;
    const work = documents.map((prepared) => {
      const start = offset;
      offset += prepared.chunks.length;
      return async () => {
        const chunks: ChunkInput[] = prepared.chunks.map((content, index) => ({
          content,
          embedding: vectors[start + index] as number[],
        }));
        try {
          const result = await store.writeDocument(prepared.document, chunks);
          report({
            kind: 'document',
            path: prepared.path,
            status: result.status,
            chunks: chunks.length,
          });
        } catch (error) {
          report({ kind: 'failed', path: prepared.path, reason: errorMessage(error) });
        }
      };
    });
    await runWithConcurrency(work, options.writeConcurrency);
  }

  async function flush() {
    const documents = batch;
    batch = [];
    batchChunks = 0;
    if (documents.length === 0) return;
    let vectors: number[][];
    try {
      vectors = await embeddings.embedDocuments(documents.flatMap((doc) => doc.embeddingInputs));
    } catch (error) {
      await writing;
      for (const prepared of documents) {
        report({
          kind: 'failed',
          path: prepared.path,
          reason: `embedding failed: ${errorMessage(error)}`,
        });
      }
      return;
    }
    // At most one batch is being written while the next one is prepared and embedded.
    await writing;
    queuedChunks += vectors.length;
    if (!indexesDeferred && !deferAttempted && queuedChunks >= deferThreshold) {
      deferAttempted = true;
      try {
        await store.deferIndexes();
        indexesDeferred = true;
      } catch (error) {
        report({
          kind: 'warning',
          code: 'defer_failed',
          message: `bulk-load mode unavailable, writing with the indexes in place: ${errorMessage(error)}`,
        });
      }
    }
    writing = writeBatch(documents, vectors);
  }

  try {
    for await (const input of inputs) {
      if (options.signal?.aborted) break;
      if (input.kind !== 'document') {
        report(input);
        continue;
      }
      try {
        const prepared = await prepare(input.path, input.document);
        if (prepared === undefined) {
          report({ kind: 'document', path: input.path, status: 'unchanged', chunks: 0 });
          continue;
        }
        batch.push(prepared);
        batchChunks += prepared.chunks.length;
        if (batchChunks >= options.batchSize) await flush();
      } catch (error) {
        report({ kind: 'failed', path: input.path, reason: errorMessage(error) });
      }
    }
    await flush();
  } finally {
    await writing;
    if (indexesDeferred) {
      try {
        await store.restoreIndexes();
      } catch (error) {
        report({ kind: 'warning', code: 'restore_failed', message: restoreFailedWarning(error) });
      }
    }
  }
  summary.seconds = Math.round(performance.now() - started) / 1000;
  return summary;

  async function prepare(
    path: string,
    loaded: IngestDocument,
  ): Promise<PreparedDocument | undefined> {
    const metadata: Record<string, unknown> = { format: loaded.format, ...loaded.metadata };
    const contentHash = await sha256Hex(
      JSON.stringify([
        pipelineVersion,
        options.chunkSize,
        options.chunkOverlap,
        loaded.title,
        metadata,
        loaded.text,
      ]),
    );
    if (storedHashes.get(loaded.source) === contentHash) return undefined;
    const chunks = await split(loaded.text, loaded.format);
    if (chunks.length === 0) throw new Error('no text left after splitting');
    return {
      path,
      document: {
        collection: options.collection,
        source: loaded.source,
        title: loaded.title,
        metadata,
        contentHash,
      },
      chunks,
      // The title gives each chunk its topic, which short passages often lack.
      embeddingInputs: chunks.map((chunk) => `${loaded.title}\n\n${chunk}`),
    };
  }
}

async function runWithConcurrency(tasks: (() => Promise<void>)[], concurrency: number) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  });
  await Promise.all(lanes);
}

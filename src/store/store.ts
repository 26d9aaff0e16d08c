import type { Config } from '../core/config.ts';
import type {
  ChunkInput,
  DocumentInput,
  EmbedderIdentity,
  Hit,
  SearchQuery,
  StoredDocument,
  WriteStatus,
} from '../core/types.ts';

/**
 * The storage port. Two adapters implement it with the same SQL: PostgreSQL through
 * postgres.js, and PGlite (embedded, run in a worker thread on Node).
 */
export interface Store {
  readonly engine: 'postgres' | 'pglite';
  /** The embedder the database was created with. */
  readonly identity: EmbedderIdentity;
  findDocument(collection: string, source: string): Promise<StoredDocument | undefined>;
  /** source → content hash of every document in a collection (one query, for ingestion). */
  documentHashes(collection: string): Promise<Map<string, string>>;
  getDocument(id: string): Promise<StoredDocument | undefined>;
  /**
   * Writes a document and all its chunks in one transaction. An existing document with the
   * same content hash is left untouched (`unchanged`); a changed one has its chunks replaced
   * atomically, so a concurrent reader sees the old version or the new one, never a mix.
   */
  writeDocument(document: DocumentInput, chunks: ChunkInput[]): Promise<WriteResult>;
  /** Deletes a document and (by cascade) its chunks; false if there was no such document. */
  deleteDocument(id: string): Promise<boolean>;
  /**
   * A value that changes whenever a document of the collection (of any collection when
   * `undefined`) is written or deleted, and differs between databases: the basis of search
   * responses' ETags.
   */
  collectionVersion(collection: string | undefined): Promise<string>;
  /** `options.signal` abandons the query (the request that wanted it has gone away). */
  search(query: SearchQuery, options?: SearchOptions): Promise<Hit[]>;
  /** The query plan of `search`, as EXPLAIN prints it (for operators and tests). */
  explainSearch(query: SearchQuery): Promise<string>;
  stats(): Promise<StoreStats>;
  /** Names of the indexes on the chunks table (a bulk load in progress shows some missing). */
  chunkIndexes(): Promise<string[]>;
  /** Refreshes planner statistics (after bulk writes; PGlite has no autovacuum to do it). */
  analyze(): Promise<void>;
  /**
   * Bulk-load mode: drops the chunk indexes (HNSW and full-text), remembering their
   * definitions in the database, so a large load is not slowed by incremental index inserts.
   * Searches still answer (by sequential scan) until `restoreIndexes`.
   */
  deferIndexes(): Promise<void>;
  /**
   * Rebuilds deferred indexes in one pass (far faster than inserting row by row). Also run on
   * open, so indexes deferred by a process that died are rebuilt.
   */
  restoreIndexes(): Promise<void>;
  close(): Promise<void>;
}

export interface SearchOptions {
  signal?: AbortSignal;
}

export interface WriteResult {
  id: string;
  status: WriteStatus;
}

export interface StoreStats {
  documents: number;
  chunks: number;
}

/**
 * The store options a configuration asks for.
 *
 * @example
 * const store = await openStore(config, identity); // uses storeOptions(config)
 */
export function storeOptions(
  config: Pick<Config, 'hnswEfSearch' | 'indexBuildMemory'>,
): StoreOptions {
  return {
    efSearch: config.hnswEfSearch,
    insertBatchRows: 500,
    indexBuildMemory: config.indexBuildMemory,
  };
}

export interface StoreOptions {
  /** hnsw.ef_search for vector queries; the iterative scan goes past it when k needs more. */
  efSearch: number;
  /** Most chunk rows sent in one INSERT statement (1 = one row per statement). */
  insertBatchRows: number;
  /** maintenance_work_mem while (re)building indexes: an HNSW graph built in memory is fast. */
  indexBuildMemory: string;
}

/** A store opened for one request, closed once that request's response has been sent. */
export interface ScopedStore {
  store: Store;
  close(): Promise<void>;
}

/**
 * Stores for runtimes where a connection belongs to the request that opened it (Cloudflare
 * Workers: I/O objects cannot cross requests), so each request opens its own.
 */
export interface StoresPerRequest {
  readonly engine: Store['engine'];
  perRequest(): ScopedStore;
}

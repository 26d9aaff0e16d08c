import pgvector from 'pgvector';
import { StreamragError } from '../core/errors.ts';
import type {
  ChunkInput,
  DocumentInput,
  EmbedderIdentity,
  Hit,
  SearchQuery,
  StoredDocument,
} from '../core/types.ts';
import { abandonable } from './abandonable.ts';
import { hybridSearchSql, textSearchSql, vectorSearchSql } from './search-sql.ts';
import type { AdvisoryLock, SqlExecutor } from './sql-executor.ts';
import type { SearchOptions, Store, StoreOptions, StoreStats, WriteResult } from './store.ts';

/**
 * The store's logic over any `SqlExecutor`: the postgres.js adapter uses it directly, the
 * PGlite adapter runs it inside a worker thread.
 */
export function createSqlStore(
  executor: SqlExecutor,
  settings: {
    engine: Store['engine'];
    identity: EmbedderIdentity;
    options: StoreOptions;
    close: () => Promise<void>;
    /**
     * Where the search settings (`sessionSettings`) come from: `session` when every connection
     * already has them (startup parameters, or `ALTER ROLE … SET`); `transaction` to apply them
     * with `SET LOCAL` around each search, for transaction-mode poolers such as Hyperdrive that
     * reset a connection between transactions. Default `session`.
     */
    settingsScope?: SettingsScope;
  },
): Store {
  const { identity, options } = settings;
  const setLocalScript = Object.entries(sessionSettings(options))
    .map(([name, value]) => `SET LOCAL ${name} = '${value}'`)
    .join('; ');

  async function findDocument(collection: string, source: string) {
    const [row] = await executor.query<DocumentRow>(
      `${documentSelect} WHERE collection = $1 AND source = $2`,
      [collection, source],
    );
    return row === undefined ? undefined : toStoredDocument(row);
  }

  async function documentHashes(collection: string) {
    const rows = await executor.query<{ source: string; content_hash: string }>(
      'SELECT source, content_hash FROM documents WHERE collection = $1',
      [collection],
    );
    return new Map(rows.map((row) => [row.source, row.content_hash]));
  }

  async function getDocument(id: string) {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const [row] = await executor.query<DocumentRow>(`${documentSelect} WHERE id = $1::bigint`, [
      id,
    ]);
    return row === undefined ? undefined : toStoredDocument(row);
  }

  async function writeDocument(document: DocumentInput, chunks: ChunkInput[]) {
    for (const chunk of chunks) {
      if (chunk.embedding.length !== identity.dimensions) {
        throw new StreamragError(
          'embedding_failed',
          `An embedding has ${chunk.embedding.length} dimensions; this database stores ${identity.dimensions}`,
        );
      }
    }
    return executor.transaction(async (transaction): Promise<WriteResult> => {
      const [row] = await transaction.query<{ id: string; inserted: boolean }>(
        `INSERT INTO documents (collection, source, title, metadata, content_hash, chunk_count)
         VALUES ($1, $2, $3, $4::text::jsonb, $5, $6)
         ON CONFLICT (collection, source) DO UPDATE
           SET title = EXCLUDED.title, metadata = EXCLUDED.metadata,
               content_hash = EXCLUDED.content_hash, chunk_count = EXCLUDED.chunk_count,
               updated_at = now()
           WHERE documents.content_hash IS DISTINCT FROM EXCLUDED.content_hash
         RETURNING id::text AS id, (xmax = 0) AS inserted`,
        [
          document.collection,
          document.source,
          document.title,
          JSON.stringify(document.metadata),
          document.contentHash,
          chunks.length,
        ],
      );
      if (row === undefined) {
        // Same content hash: a concurrent writer (or an earlier run) stored it already.
        const [existing] = await transaction.query<{ id: string }>(
          'SELECT id::text AS id FROM documents WHERE collection = $1 AND source = $2',
          [document.collection, document.source],
        );
        return { id: existing?.id ?? '', status: 'unchanged' };
      }
      if (!row.inserted) {
        await transaction.query('DELETE FROM chunks WHERE document_id = $1::bigint', [row.id]);
      }
      for (let start = 0; start < chunks.length; start += options.insertBatchRows) {
        const batch = chunks.slice(start, start + options.insertBatchRows);
        await transaction.query(
          `INSERT INTO chunks (document_id, ordinal, content, embedding)
           SELECT $1::bigint, item.ordinal, item.content, item.embedding::vector
           FROM unnest($2::int[], $3::text[], $4::text[]) AS item (ordinal, content, embedding)`,
          [
            row.id,
            batch.map((_, index) => start + index),
            batch.map((chunk) => chunk.content),
            batch.map((chunk) => pgvector.toSql(chunk.embedding) as string),
          ],
        );
      }
      await transaction.query(bumpCollectionVersionSql, [document.collection]);
      return { id: row.id, status: row.inserted ? 'added' : 'updated' };
    });
  }

  async function deleteDocument(id: string) {
    if (!/^\d{1,18}$/.test(id)) return false;
    const rows = await executor.query(
      `WITH deleted AS (DELETE FROM documents WHERE id = $1::bigint RETURNING collection)
       INSERT INTO collection_versions (collection, version)
       SELECT collection, nextval('streamrag_change_seq') FROM deleted
       ON CONFLICT (collection) DO UPDATE SET version = nextval('streamrag_change_seq')
       RETURNING collection`,
      [id],
    );
    return rows.length > 0;
  }

  async function collectionVersion(collection: string | undefined): Promise<string> {
    const [row] = await executor.query<{ version: string }>(
      `SELECT (SELECT value FROM streamrag_settings WHERE key = 'database_id')
              || ':' || coalesce(sum(version), 0)::text AS version
       FROM collection_versions
       WHERE $1::text IS NULL OR collection = $1::text`,
      [collection ?? null],
    );
    if (row?.version == null) throw new StreamragError('database_error', 'No database id');
    return row.version;
  }

  /** The statement for a query; `undefined` when nothing can match. */
  function searchStatement(
    query: SearchQuery,
  ): { text: string; parameters: unknown[] } | undefined {
    const collection = query.collection ?? null;
    const filter =
      query.filter === undefined || Object.keys(query.filter).length === 0
        ? null
        : JSON.stringify(query.filter);
    if (query.mode === 'text') {
      return { text: textSearchSql, parameters: [query.text, collection, filter, query.k] };
    }
    if (query.embedding === undefined) {
      throw new StreamragError('invalid_request', `${query.mode} search needs a query embedding`);
    }
    // A question of stop words only embeds to the zero vector, whose cosine distance is NaN.
    if (query.embedding.every((value) => value === 0)) {
      return query.mode === 'vector'
        ? undefined
        : { text: textSearchSql, parameters: [query.text, collection, filter, query.k] };
    }
    const embedding = pgvector.toSql(query.embedding) as string;
    if (query.mode === 'vector') {
      return { text: vectorSearchSql, parameters: [embedding, collection, filter, query.k] };
    }
    const candidates = Math.max(query.k * 4, 40);
    return {
      text: hybridSearchSql,
      parameters: [embedding, query.text, collection, filter, query.k, candidates],
    };
  }

  async function search(query: SearchQuery, searchOptions: SearchOptions = {}): Promise<Hit[]> {
    const statement = searchStatement(query);
    if (statement === undefined) return [];
    if (settings.settingsScope !== 'transaction') {
      return executor.query<Hit>(statement.text, statement.parameters, searchOptions);
    }
    searchOptions.signal?.throwIfAborted();
    return abandonable(
      searchOptions.signal,
      executor.transaction(async (transaction) => {
        // Not awaited one by one: the SETs and the search go out in one flight (and a failed
        // SET, which fails the search too, leaves no rejection unhandled).
        const [, hits] = await Promise.all([
          transaction.script(setLocalScript),
          transaction.query<Hit>(statement.text, statement.parameters),
        ]);
        return hits;
      }),
    );
  }

  async function explainSearch(query: SearchQuery): Promise<string> {
    const statement = searchStatement(query);
    if (statement === undefined) return 'No query: the question has no searchable words';
    const rows = await executor.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${statement.text}`,
      statement.parameters,
    );
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }

  async function stats(): Promise<StoreStats> {
    const [row] = await executor.query<{ documents: number; chunks: number }>(
      `SELECT (SELECT count(*) FROM documents)::int AS documents,
              (SELECT count(*) FROM chunks)::int AS chunks`,
    );
    return { documents: row?.documents ?? 0, chunks: row?.chunks ?? 0 };
  }

  async function analyze(): Promise<void> {
    await executor.script('ANALYZE documents, chunks');
  }

  async function chunkIndexes(): Promise<string[]> {
    const rows = await executor.query<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'chunks' ORDER BY indexname`,
    );
    return rows.map((row) => row.name);
  }

  // Held from deferIndexes to restoreIndexes: tells other processes a bulk load is live.
  let bulkLoad: AdvisoryLock | undefined;

  async function deferIndexes(): Promise<void> {
    bulkLoad ??= await executor.tryAdvisoryLock(bulkLoadLockKey);
    if (bulkLoad === undefined) {
      throw new StreamragError(
        'database_locked',
        'another bulk load is running on this database; writing with the indexes in place',
      );
    }
    try {
      await dropChunkIndexes();
    } catch (error) {
      await releaseBulkLoad();
      throw error;
    }
  }

  async function releaseBulkLoad(): Promise<void> {
    const lock = bulkLoad;
    bulkLoad = undefined;
    await lock?.release();
  }

  async function dropChunkIndexes(): Promise<void> {
    await executor.transaction(async (transaction) => {
      const indexes = await transaction.query<{ name: string; definition: string }>(
        `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
         WHERE tablename = 'chunks' AND indexname = ANY($1::text[])`,
        [deferrableIndexes],
      );
      if (indexes.length === 0) return;
      const definitions = indexes.map((index) => index.definition);
      await transaction.query(
        `INSERT INTO streamrag_settings (key, value) VALUES ('deferred_indexes', $1)
         ON CONFLICT (key) DO UPDATE SET value = (
           SELECT jsonb_agg(DISTINCT definition)::text
           FROM jsonb_array_elements_text(streamrag_settings.value::jsonb || EXCLUDED.value::jsonb)
             AS definition
         )`,
        [JSON.stringify(definitions)],
      );
      for (const index of indexes) {
        // The name comes from the catalogue and is one of deferrableIndexes.
        await transaction.script(`DROP INDEX IF EXISTS ${quoteIdentifier(index.name)}`);
      }
    });
  }

  async function restoreIndexes(): Promise<void> {
    // Without the lock, another process's bulk load is live: it rebuilds them when it ends.
    bulkLoad ??= await executor.tryAdvisoryLock(bulkLoadLockKey);
    if (bulkLoad === undefined) return;
    try {
      await rebuildChunkIndexes();
    } finally {
      await releaseBulkLoad();
    }
  }

  async function rebuildChunkIndexes(): Promise<void> {
    await executor.transaction(async (transaction) => {
      const [row] = await transaction.query<{ value: string }>(
        `SELECT value FROM streamrag_settings WHERE key = 'deferred_indexes' FOR UPDATE`,
      );
      if (row === undefined) return;
      await transaction.query(`SELECT set_config('maintenance_work_mem', $1, true)`, [
        options.indexBuildMemory,
      ]);
      for (const definition of JSON.parse(row.value) as string[]) {
        // Definitions were read from pg_indexes by deferIndexes: our own schema's DDL.
        await transaction.script(
          definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '),
        );
      }
      await transaction.query(`DELETE FROM streamrag_settings WHERE key = 'deferred_indexes'`);
    });
  }

  return {
    engine: settings.engine,
    identity,
    findDocument,
    documentHashes,
    getDocument,
    writeDocument,
    deleteDocument,
    collectionVersion,
    search,
    explainSearch,
    stats,
    chunkIndexes,
    analyze,
    deferIndexes,
    restoreIndexes,
    close: settings.close,
  };
}

export function restoreFailedWarning(error: unknown): string {
  return (
    `warning: could not rebuild the search indexes left out by an unfinished bulk load ` +
    `(${error instanceof Error ? error.message : String(error)}). Searches still answer, by ` +
    'scanning every chunk, until a restart rebuilds them; check INDEX_BUILD_MEMORY (and, for ' +
    "PostgreSQL's parallel builds, the size of /dev/shm)."
  );
}

/** Session settings for every connection (see search-sql.ts). */
export function sessionSettings(options: StoreOptions): Record<string, string> {
  const settings: Record<string, string> = {
    // postgres.js prepares statements; after five runs PostgreSQL would switch to a generic
    // plan, which cannot see that a filter parameter is NULL and scans every chunk instead of
    // the HNSW index (measured: 3 ms → 60 ms at 40k chunks). Plan with the actual values.
    plan_cache_mode: 'force_custom_plan',
    'hnsw.ef_search': String(options.efSearch),
    'hnsw.iterative_scan': 'relaxed_order',
  };
  // Written into SET, ALTER ROLE and current_setting() text (SET takes no parameters): only
  // names and values made of word characters and dots ever get there.
  for (const [name, value] of Object.entries(settings)) {
    if (!/^[a-z_][\w.]*$/i.test(name) || !/^[\w.]+$/.test(value)) {
      throw new Error(`Refusing the setting ${JSON.stringify(name)} = ${JSON.stringify(value)}`);
    }
  }
  return settings;
}

/**
 * Where a store's connections get `sessionSettings`: `session` when they already have them
 * (startup parameters, role defaults), `transaction` when each search sets them itself.
 */
export type SettingsScope = 'session' | 'transaction';

/**
 * $1 collection. The last statement of a document write: the row lock it takes is held only
 * while the transaction commits, so concurrent writers to one collection barely wait.
 */
const bumpCollectionVersionSql = `INSERT INTO collection_versions (collection, version)
  VALUES ($1, nextval('streamrag_change_seq'))
  ON CONFLICT (collection) DO UPDATE SET version = nextval('streamrag_change_seq')`;

// An arbitrary constant (next to migrate.ts's): held for the whole of a bulk load.
const bulkLoadLockKey = 7_372_712;

/** Indexes that bulk loads may drop and rebuild; the documents table keeps its own. */
const deferrableIndexes = ['chunks_embedding_idx', 'chunks_search_vector_idx'];

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const documentSelect = `SELECT id::text AS id, collection, source, title, metadata,
  content_hash, chunk_count, created_at, updated_at FROM documents`;

interface DocumentRow {
  id: string;
  collection: string;
  source: string;
  title: string | null;
  metadata: Record<string, unknown>;
  content_hash: string;
  chunk_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

function toStoredDocument(row: DocumentRow): StoredDocument {
  return {
    id: row.id,
    collection: row.collection,
    source: row.source,
    title: row.title,
    metadata: row.metadata,
    contentHash: row.content_hash,
    chunkCount: row.chunk_count,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

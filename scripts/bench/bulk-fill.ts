import type { SqlExecutor } from '../../src/store/sql-executor.ts';
import type { SearchRow } from './manual-corpus.ts';

export interface EmbeddedRow extends SearchRow {
  /** The embedding in pgvector's text form. */
  vector: string;
}

export interface FillTimings {
  rows: number;
  documents: number;
  insertSeconds: number;
  indexSeconds: number;
}

const benchCollection = 'bench';

/**
 * Loads rows into a migrated, empty database with plain SQL, the way a bulk load should be done:
 * drop the HNSW index, insert in large statements, rebuild the index once (with a generous
 * maintenance_work_mem so the graph is built in memory), then ANALYZE. Only the embedding index
 * is rebuilt; its definition is read back from the catalog, so it stays the migration's.
 * Works on both engines through `SqlExecutor`.
 */
export async function bulkFill(
  executor: SqlExecutor,
  rows: readonly EmbeddedRow[],
  settings: { batchRows: number; maintenanceWorkMem: string },
): Promise<FillTimings> {
  const insertStarted = performance.now();
  const indexDefinition = await dropEmbeddingIndex(executor);

  const documents = new Map<string, { title: string; chunks: number }>();
  for (const row of rows) {
    const document = documents.get(row.documentKey) ?? { title: row.title, chunks: 0 };
    document.chunks += 1;
    documents.set(row.documentKey, document);
  }
  const keys = [...documents.keys()];
  const inserted = await executor.query<{ id: string; source: string }>(
    `INSERT INTO documents (collection, source, title, metadata, content_hash, chunk_count)
     SELECT $1::text, item.source, item.title, '{"format": "markdown"}'::jsonb, item.source, item.chunks
     FROM unnest($2::text[], $3::text[], $4::int[]) AS item (source, title, chunks)
     RETURNING id::text AS id, source`,
    [
      benchCollection,
      keys,
      keys.map((key) => documents.get(key)?.title ?? ''),
      keys.map((key) => documents.get(key)?.chunks ?? 0),
    ],
  );
  const documentIds = new Map(inserted.map((row) => [row.source, row.id]));

  for (let start = 0; start < rows.length; start += settings.batchRows) {
    const batch = rows.slice(start, start + settings.batchRows);
    await executor.query(
      `INSERT INTO chunks (document_id, ordinal, content, embedding)
       SELECT item.document_id, item.ordinal, item.content, item.embedding::vector
       FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[])
         AS item (document_id, ordinal, content, embedding)`,
      [
        batch.map((row) => documentIds.get(row.documentKey)),
        batch.map((row) => row.ordinal),
        batch.map((row) => row.content),
        batch.map((row) => row.vector),
      ],
    );
  }
  const insertSeconds = (performance.now() - insertStarted) / 1000;

  const indexSeconds = await buildIndex(executor, indexDefinition, settings.maintenanceWorkMem);
  await executor.script('VACUUM ANALYZE documents, chunks');
  return { rows: rows.length, documents: keys.length, insertSeconds, indexSeconds };
}

/** Drops the HNSW index and returns its definition (from the catalog) for `buildIndex`. */
async function dropEmbeddingIndex(executor: SqlExecutor): Promise<string> {
  const [index] = await executor.query<{ definition: string }>(
    `SELECT indexdef AS definition FROM pg_indexes
     WHERE tablename = 'chunks' AND indexname = 'chunks_embedding_idx'`,
  );
  if (index === undefined)
    throw new Error('chunks_embedding_idx not found: was the schema migrated?');
  await executor.script('DROP INDEX chunks_embedding_idx');
  return index.definition;
}

/** Builds an index from its definition; returns the seconds it took. */
async function buildIndex(
  executor: SqlExecutor,
  definition: string,
  maintenanceWorkMem: string,
): Promise<number> {
  const started = performance.now();
  await executor.query('SELECT set_config($1, $2, false)', [
    'maintenance_work_mem',
    maintenanceWorkMem,
  ]);
  await executor.script(definition);
  await executor.script('RESET maintenance_work_mem');
  return (performance.now() - started) / 1000;
}

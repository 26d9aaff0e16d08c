import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgvector from 'pgvector';
import postgres from 'postgres';
import { type Config, parseConfig } from '../../src/core/config.ts';
import type { EmbedderIdentity } from '../../src/core/types.ts';
import { hashEmbed, LocalHashEmbeddings } from '../../src/embeddings/local-hash-embeddings.ts';
import { openStore } from '../../src/store/open-store.ts';
import { postgresExecutor } from '../../src/store/postgres-store.ts';
import type { StoreOptions } from '../../src/store/store.ts';
import { bulkFill, type EmbeddedRow, type FillTimings } from './bulk-fill.ts';
import { openInThreadPglite } from './in-thread-pglite.ts';
import { benchmarkQuestions, loadManual, type ManualCorpus, searchRows } from './manual-corpus.ts';
import { type PostgresServer, startPostgresServer } from './postgres-server.ts';
import { formatCount, formatSeconds, markdownTable } from './statistics.ts';

export interface BenchSettings {
  /** Chunks ingested per ingestion run. */
  ingestChunks: number;
  /** Rows in the PostgreSQL search database. */
  searchRows: number;
  /** Rows in the PGlite search database (0: no PGlite search database). */
  pgliteRows: number;
  queries: number;
  /** Runs of each ingestion configuration. */
  repeat: number;
  poolSizes: number[];
  poolClients: number;
  poolSeconds: number;
  /** Concurrent searches in a burst. */
  burst: number;
  corpusDirectory: string;
  databaseUrl: string | undefined;
}

export interface BenchQuery {
  text: string;
  embedding: number[];
}

export interface DataSetReport extends FillTimings {
  engine: 'postgres' | 'pglite';
}

/**
 * What the benchmarks share, built on first use: the PostgreSQL server, the manual, the query
 * set, and the large search databases (filled once, used by search, pool and event-loop).
 */
export interface BenchContext {
  readonly settings: BenchSettings;
  /** The defaults every entry point gets (chunk size, pool size, ef_search…). */
  readonly defaults: Config;
  /** The store options `openStore` derives from the defaults. */
  readonly storeOptions: StoreOptions;
  readonly embeddings: LocalHashEmbeddings;
  readonly identity: EmbedderIdentity;
  postgres(): Promise<PostgresServer>;
  corpus(): Promise<ManualCorpus>;
  queries(): Promise<BenchQuery[]>;
  /** URL of a PostgreSQL database holding `settings.searchRows` chunks. */
  postgresSearchDatabase(): Promise<string>;
  /** URL of a new PostgreSQL database holding the first `rows` search rows. */
  postgresDatabaseWithRows(rows: number, label: string): Promise<string>;
  /** DATA_DIR of a PGlite database holding `settings.pgliteRows` chunks. */
  pgliteSearchDirectory(): Promise<string>;
  temporaryDirectory(): Promise<string>;
  dataSetsSection(): string;
  close(): Promise<void>;
}

function once<T>(create: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= create();
    return value;
  };
}

export function createBenchContext(settings: BenchSettings): BenchContext {
  const defaults = parseConfig({});
  const storeOptions: StoreOptions = {
    efSearch: defaults.hnswEfSearch,
    insertBatchRows: 500,
    indexBuildMemory: defaults.indexBuildMemory,
  };
  const embeddings = new LocalHashEmbeddings({ dimensions: 384 });
  const identity = embeddings.identity;
  const directories: string[] = [];
  const dataSets: DataSetReport[] = [];
  let server: PostgresServer | undefined;

  const postgresServer = once(async () => {
    server = await startPostgresServer(settings.databaseUrl);
    return server;
  });

  const corpus = once(async () => {
    console.error(`bench: loading and splitting ${settings.corpusDirectory}…`);
    return loadManual(settings.corpusDirectory, {
      chunkSize: defaults.chunkSize,
      chunkOverlap: defaults.chunkOverlap,
      maxFileBytes: defaults.ingestMaxFileBytes,
    });
  });

  const queries = once(async () => {
    const texts = benchmarkQuestions(await corpus(), settings.queries);
    return Promise.all(
      texts.map(async (text) => ({ text, embedding: await embeddings.embedQuery(text) })),
    );
  });

  const embeddedRows = once(async (): Promise<EmbeddedRow[]> => {
    const count = Math.max(settings.searchRows, settings.pgliteRows);
    console.error(`bench: embedding ${count} search rows…`);
    // The same input the pipeline embeds: the title gives each chunk its topic.
    return searchRows(await corpus(), count).map((row) => ({
      ...row,
      vector: pgvector.toSql(
        hashEmbed(`${row.title}\n\n${row.content}`, identity.dimensions),
      ) as string,
    }));
  });

  const temporaryDirectory = async () => {
    const directory = await mkdtemp(join(tmpdir(), 'streamrag-bench-'));
    directories.push(directory);
    return directory;
  };

  const postgresDatabaseWithRows = async (count: number, label: string) => {
    const rows = (await embeddedRows()).slice(0, count);
    const url = await (await postgresServer()).createDatabase(label);
    // openStore creates the schema exactly as the application does.
    await (await openStore(parseConfig({ DATABASE_URL: url }), identity)).close();
    console.error(`bench: filling PostgreSQL with ${rows.length} rows…`);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const timings = await bulkFill(postgresExecutor(sql), rows, {
        batchRows: 5000,
        maintenanceWorkMem: '1GB',
      });
      dataSets.push({ engine: 'postgres', ...timings });
    } finally {
      await sql.end();
    }
    return url;
  };

  const postgresSearchDatabase = once(() =>
    postgresDatabaseWithRows(settings.searchRows, 'search'),
  );

  const pgliteSearchDirectory = once(async () => {
    const rows = (await embeddedRows()).slice(0, settings.pgliteRows);
    const dataDir = await temporaryDirectory();
    console.error(`bench: filling PGlite with ${rows.length} rows…`);
    const pglite = await openInThreadPglite(dataDir, identity, storeOptions);
    try {
      const timings = await bulkFill(pglite.executor, rows, {
        batchRows: 2000,
        maintenanceWorkMem: '512MB',
      });
      dataSets.push({ engine: 'pglite', ...timings });
    } finally {
      await pglite.close();
    }
    return dataDir;
  });

  return {
    settings,
    defaults,
    storeOptions,
    embeddings,
    identity,
    postgres: postgresServer,
    corpus,
    queries,
    postgresSearchDatabase,
    postgresDatabaseWithRows,
    pgliteSearchDirectory,
    temporaryDirectory,
    dataSetsSection() {
      if (dataSets.length === 0) return '';
      const rows = dataSets.map((dataSet) => [
        dataSet.engine === 'postgres' ? 'PostgreSQL' : 'PGlite (in-thread)',
        formatCount(dataSet.rows),
        formatCount(dataSet.documents),
        formatSeconds(dataSet.insertSeconds),
        formatCount(dataSet.rows / dataSet.insertSeconds),
        formatSeconds(dataSet.indexSeconds),
      ]);
      return [
        '## Search data sets',
        '',
        'Built once per run for the search, pool and event-loop benchmarks: every chunk of the manual ' +
          "(~10,700), then spliced chunks (the first half of one chunk's sentences and the second half of " +
          "another's, pairs drawn at random) until the row count is reached, embedded with the local " +
          'embedder (384 dimensions) from "title + chunk" as the pipeline does. ' +
          'Loaded with plain SQL into the schema the migrations create: HNSW index dropped, ' +
          'multi-row `INSERT … SELECT FROM unnest(…)`, index rebuilt once, `VACUUM ANALYZE`.',
        '',
        markdownTable(
          ['Engine', 'Rows', 'Documents', 'Insert (s)', 'Insert rows/s', 'HNSW build (s)'],
          rows,
        ),
        '',
      ].join('\n');
    },
    async close() {
      try {
        await server?.close();
      } finally {
        await Promise.all(
          directories.map((directory) => rm(directory, { recursive: true, force: true })),
        );
      }
    },
  };
}

import pgvector from 'pgvector';
import postgres from 'postgres';
import { parseConfig } from '../../src/core/config.ts';
import type { Hit } from '../../src/core/types.ts';
import { openStore } from '../../src/store/open-store.ts';
import { postgresExecutor } from '../../src/store/postgres-store.ts';
import { vectorSearchSql } from '../../src/store/search-sql.ts';
import { sessionSettings } from '../../src/store/sql-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { BenchContext, BenchQuery } from './bench-context.ts';
import { openInThreadPglite } from './in-thread-pglite.ts';
import {
  burst,
  exactSearch,
  explainExact,
  k,
  type Recall,
  recallAtK,
  scanOf,
  searchQuery,
  timeEach,
} from './search-measurements.ts';
import {
  formatCount,
  formatMilliseconds,
  formatPercent,
  markdownTable,
  summarize,
} from './statistics.ts';

const warmUpQueries = 20;
/** Hybrid and text search cost hundreds of milliseconds at 50k rows: fewer queries bound the run. */
const slowModeQueries = 100;
/** Exact search on PGlite scans every row in WebAssembly (~0.3 s each). */
const pgliteExactQueries = 60;
/** A database the size of one ingestion run, where the plan cache misleads the planner. */
const smallDatabaseRows = 5000;
const efSearchValues = [40, 100, 200, 400];

interface LatencyRow {
  label: string;
  plan: string;
  latencies: number[];
}

function latencyTable(rows: readonly LatencyRow[]): string {
  return markdownTable(
    ['Search (top-10)', 'Plan', 'Queries', 'p50 (ms)', 'p99 (ms)', 'max (ms)'],
    rows.map((row) => {
      const summary = summarize(row.latencies);
      return [
        row.label,
        row.plan,
        formatCount(summary.count),
        formatMilliseconds(summary.p50),
        formatMilliseconds(summary.p99),
        formatMilliseconds(summary.max),
      ];
    }),
  );
}

function meanRecall(recalls: readonly Recall[], pick: (recall: Recall) => number): number {
  return recalls.reduce((sum, recall) => sum + pick(recall), 0) / recalls.length;
}

function recallTable(rows: readonly { label: string; recalls: Recall[] }[]): string {
  return markdownTable(
    [
      'HNSW against exact',
      'Queries',
      'Mean recall@10 (ids)',
      'Mean recall@10 (ties count)',
      'Worst query',
      'Queries with recall 1',
    ],
    rows.map(({ label, recalls }) => [
      label,
      formatCount(recalls.length),
      meanRecall(recalls, (recall) => recall.byId).toFixed(3),
      meanRecall(recalls, (recall) => recall.withTies).toFixed(3),
      Math.min(...recalls.map((recall) => recall.withTies)).toFixed(2),
      formatPercent(recalls.filter((recall) => recall.withTies === 1).length / recalls.length),
    ]),
  );
}

interface BurstRow {
  label: string;
  connections: string;
  latencies: number[];
  wallMilliseconds: number[];
}

function burstTable(rows: readonly BurstRow[], size: number): string {
  return markdownTable(
    ['Search', 'Connections', 'Bursts', 'p50 (ms)', 'p99 (ms)', 'max (ms)', 'Searches/s'],
    rows.map((row) => {
      const summary = summarize(row.latencies);
      const seconds = row.wallMilliseconds.reduce((sum, value) => sum + value, 0) / 1000;
      return [
        row.label,
        row.connections,
        `${row.wallMilliseconds.length} × ${size}`,
        formatMilliseconds(summary.p50),
        formatMilliseconds(summary.p99),
        formatMilliseconds(summary.max),
        formatCount((row.wallMilliseconds.length * size) / seconds),
      ];
    }),
  );
}

async function runBursts(
  row: BurstRow,
  rounds: number,
  queries: readonly BenchQuery[],
  size: number,
  run: (query: BenchQuery) => Promise<unknown>,
) {
  for (let round = 0; round < rounds; round++) {
    const result = await burst(queries, size, round * size, run);
    row.latencies.push(...result.latencies);
    row.wallMilliseconds.push(result.wallMilliseconds);
  }
}

/**
 * Top-10 latency through HNSW versus an exact scan, recall of HNSW, hybrid and text latency,
 * and a burst of concurrent searches, on the large search data set.
 */
export async function runSearchBenchmark(context: BenchContext): Promise<string> {
  const queries = await context.queries();
  const sections = [
    '## Search: HNSW vs exact scan',
    '',
    `${formatCount(queries.length)} queries: ${Math.min(40, queries.length)} written questions, the rest ` +
      'sentences sampled from the manual, embedded with the local embedder. Sequential latencies are ' +
      'measured one query at a time after a warm-up. HNSW, hybrid and text go through `store.search` ' +
      `(HNSW_EF_SEARCH=${context.defaults.hnswEfSearch}); the exact search is the same SQL with ` +
      '`ORDER BY (embedding <=> $1) + 0`, which the index cannot serve, run on its own connections. ' +
      'Recall compares the HNSW top-10 with the exact top-10 for the same query ("ties count" also ' +
      `accepts a different row at the same distance as the exact 10th). Hybrid and text use the first ${slowModeQueries} queries.`,
    '',
    await postgresSearch(context, queries),
    await planCaching(context, queries),
  ];
  if (context.settings.pgliteRows > 0) sections.push(await pgliteSearch(context, queries));
  return sections.join('\n');
}

async function warmUp(store: Store, queries: readonly BenchQuery[]) {
  for (const query of queries.slice(0, warmUpQueries)) {
    for (const mode of ['vector', 'hybrid', 'text'] as const) {
      await store.search(searchQuery(query, mode));
    }
  }
}

/** All approximate searches, then all exact ones (so the full scans do not evict the index). */
async function compareWithExact(
  queries: readonly BenchQuery[],
  approximate: (query: BenchQuery) => Promise<Hit[]>,
  exact: (query: BenchQuery) => Promise<Hit[]>,
) {
  const approximateHits: Hit[][] = [];
  const hnswLatencies = await timeEach(queries, async (query) => {
    approximateHits.push(await approximate(query));
  });
  const exactHits: Hit[][] = [];
  const exactLatencies = await timeEach(queries, async (query) => {
    const hits = await exact(query);
    if (hits.length !== k) throw new Error(`exact search returned ${hits.length} rows`);
    exactHits.push(hits);
  });
  const recalls = exactHits.map((hits, index) => recallAtK(approximateHits[index] as Hit[], hits));
  return { hnswLatencies, exactLatencies, recalls, exactHits };
}

async function postgresSearch(
  context: BenchContext,
  queries: readonly BenchQuery[],
): Promise<string> {
  const url = await context.postgresSearchDatabase();
  console.error('bench: search on PostgreSQL…');
  const config = parseConfig({ DATABASE_URL: url });
  const size = context.settings.burst;
  const store = await openStore(config, context.identity);
  // A pool of the same size, with the same session settings, for the exact query.
  const exactPool = postgres(url, {
    max: config.pgPoolMax,
    onnotice: () => {},
    connection: sessionSettings(context.storeOptions),
  });
  const exact = postgresExecutor(exactPool);
  const pool = `${config.pgPoolMax} (PG_POOL_MAX default)`;
  const hnswBurst: BurstRow = {
    label: 'Vector, HNSW',
    connections: pool,
    latencies: [],
    wallMilliseconds: [],
  };
  const exactBurst: BurstRow = {
    label: 'Vector, exact scan',
    connections: pool,
    latencies: [],
    wallMilliseconds: [],
  };
  const hybridBurst: BurstRow = {
    label: 'Hybrid',
    connections: pool,
    latencies: [],
    wallMilliseconds: [],
  };
  try {
    const first = queries[0] as BenchQuery;
    const hnswPlan = scanOf(await store.explainSearch(searchQuery(first, 'vector')));
    const exactPlan = scanOf(await explainExact(exact, first));
    await warmUp(store, queries);
    await timeEach(queries.slice(0, warmUpQueries), (query) => exactSearch(exact, query));

    const compared = await compareWithExact(
      queries,
      (query) => store.search(searchQuery(query, 'vector')),
      (query) => exactSearch(exact, query),
    );
    const slowQueries = queries.slice(0, slowModeQueries);
    const hybrid = await timeEach(slowQueries, (query) =>
      store.search(searchQuery(query, 'hybrid')),
    );
    const text = await timeEach(slowQueries, (query) => store.search(searchQuery(query, 'text')));

    await runBursts(hnswBurst, 3, queries, size, (query) =>
      store.search(searchQuery(query, 'vector')),
    );
    await runBursts(exactBurst, 1, queries, size, (query) => exactSearch(exact, query));
    await runBursts(hybridBurst, 1, queries, size, (query) =>
      store.search(searchQuery(query, 'hybrid')),
    );

    const efSweep = await efSearchSweep(context, url, queries, compared.exactHits);
    const rows = formatCount(context.settings.searchRows);
    return [
      `### PostgreSQL, ${rows} chunks`,
      '',
      latencyTable([
        { label: 'Vector, HNSW', plan: hnswPlan, latencies: compared.hnswLatencies },
        { label: 'Vector, exact scan', plan: exactPlan, latencies: compared.exactLatencies },
        { label: 'Hybrid (RRF of HNSW + full text)', plan: '', latencies: hybrid },
        { label: 'Text (full text, GIN)', plan: '', latencies: text },
      ]),
      '',
      recallTable([{ label: `PostgreSQL, ${rows} chunks`, recalls: compared.recalls }]),
      '',
      `Burst: ${size} searches issued at once through the store's connection pool (the exact scan ` +
        'through a pool of the same size); latency from the burst start to each answer.',
      '',
      burstTable([hnswBurst, exactBurst, hybridBurst], size),
      '',
      'Recall and latency against `hnsw.ef_search` (one connection, the same vector SQL, sequential):',
      '',
      efSweep,
      '',
    ].join('\n');
  } finally {
    await exactPool.end();
    await store.close();
  }
}

/** HNSW recall@10 and latency for several ef_search values, against the exact hits already found. */
async function efSearchSweep(
  context: BenchContext,
  url: string,
  queries: readonly BenchQuery[],
  exactHits: readonly Hit[][],
): Promise<string> {
  const rows: string[][] = [];
  for (const efSearch of efSearchValues) {
    const sql = postgres(url, {
      max: 1,
      onnotice: () => {},
      connection: {
        ...sessionSettings({ ...context.storeOptions, efSearch }),
        // Always plan with the actual vector (see the plan-cache section below).
        plan_cache_mode: 'force_custom_plan',
      },
    });
    try {
      const executor = postgresExecutor(sql);
      const run = (query: BenchQuery) =>
        executor.query<Hit>(vectorSearchSql, [pgvector.toSql(query.embedding), null, null, k]);
      await timeEach(queries.slice(0, warmUpQueries), run);
      const recalls: Recall[] = [];
      const latencies: number[] = [];
      for (const [index, query] of queries.entries()) {
        const started = performance.now();
        const hits = await run(query);
        latencies.push(performance.now() - started);
        recalls.push(recallAtK(hits, exactHits[index] as Hit[]));
      }
      const summary = summarize(latencies);
      rows.push([
        String(efSearch) + (efSearch === context.defaults.hnswEfSearch ? ' (default)' : ''),
        meanRecall(recalls, (recall) => recall.withTies).toFixed(3),
        formatPercent(recalls.filter((recall) => recall.withTies === 1).length / recalls.length),
        formatMilliseconds(summary.p50),
        formatMilliseconds(summary.p99),
      ]);
    } finally {
      await sql.end();
    }
  }
  return markdownTable(
    [
      'hnsw.ef_search',
      'Mean recall@10 (ties count)',
      'Queries with recall 1',
      'p50 (ms)',
      'p99 (ms)',
    ],
    rows,
  );
}

/**
 * PostgreSQL plans a prepared statement (postgres.js prepares every query) with the actual
 * parameters five times, then may switch to one generic plan. For the vector query on a small
 * table the generic plan is a full scan plus sort, so from the sixth search on a connection the
 * HNSW index is no longer used. Measured on one connection, as shipped and with
 * plan_cache_mode = force_custom_plan set on the database.
 */
async function planCaching(context: BenchContext, queries: readonly BenchQuery[]): Promise<string> {
  const server = await context.postgres();
  const url = await context.postgresDatabaseWithRows(smallDatabaseRows, 'plan_cache');
  console.error('bench: plan caching on a small database…');
  const subset = queries.slice(0, 50);
  const measure = async () => {
    const store = await openStore(
      parseConfig({ DATABASE_URL: url, PG_POOL_MAX: '1' }),
      context.identity,
    );
    try {
      return await timeEach(subset, (query) => store.search(searchQuery(query, 'vector')));
    } finally {
      await store.close();
    }
  };
  try {
    const shipped = await measure();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    let exactLatencies: number[];
    try {
      const executor = postgresExecutor(sql);
      exactLatencies = await timeEach(subset, (query) => exactSearch(executor, query));
      await executor.script(
        `DO $$ BEGIN
           EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
         END $$`,
      );
    } finally {
      await sql.end();
    }
    const fixed = await measure();
    const split = (label: string, latencies: number[]) => [
      label,
      formatMilliseconds(summarize(latencies.slice(0, 5)).p50),
      formatMilliseconds(summarize(latencies.slice(5)).p50),
      formatMilliseconds(summarize(latencies.slice(5)).p99),
    ];
    return [
      `### PostgreSQL, ${formatCount(smallDatabaseRows)} chunks: the plan cache`,
      '',
      `The first ${subset.length} queries, one after another on a single connection (PG_POOL_MAX=1), ` +
        'through `store.search` (vector). postgres.js prepares every statement; PostgreSQL plans ' +
        'the first five executions with the actual parameters, then may keep a generic plan.',
      '',
      markdownTable(
        [
          'Vector search',
          'p50, executions 1–5 (ms)',
          'p50, executions 6+ (ms)',
          'p99, executions 6+ (ms)',
        ],
        [
          split('As shipped', shipped),
          split('With plan_cache_mode = force_custom_plan', fixed),
          split('Exact scan, for reference', exactLatencies),
        ],
      ),
      '',
    ].join('\n');
  } finally {
    await server.dropDatabase(url);
  }
}

async function pgliteSearch(
  context: BenchContext,
  queries: readonly BenchQuery[],
): Promise<string> {
  const dataDir = await context.pgliteSearchDirectory();
  console.error('bench: search on PGlite…');
  const config = parseConfig({ DATA_DIR: dataDir });
  const size = context.settings.burst;
  const slowQueries = queries.slice(0, slowModeQueries);

  // Through the application's store: PGlite in its worker thread.
  const store = await openStore(config, context.identity);
  let workerRows: LatencyRow[];
  let workerPlan: string;
  const workerBurst: BurstRow = {
    label: 'Vector, HNSW',
    connections: 'one (worker thread)',
    latencies: [],
    wallMilliseconds: [],
  };
  try {
    workerPlan = scanOf(await store.explainSearch(searchQuery(queries[0] as BenchQuery, 'vector')));
    await warmUp(store, queries);
    workerRows = [
      {
        label: 'Vector, HNSW',
        plan: workerPlan,
        latencies: await timeEach(queries, (query) => store.search(searchQuery(query, 'vector'))),
      },
      {
        label: 'Hybrid',
        plan: '',
        latencies: await timeEach(slowQueries, (query) =>
          store.search(searchQuery(query, 'hybrid')),
        ),
      },
      {
        label: 'Text',
        plan: '',
        latencies: await timeEach(slowQueries, (query) => store.search(searchQuery(query, 'text'))),
      },
    ];
    await runBursts(workerBurst, 3, queries, size, (query) =>
      store.search(searchQuery(query, 'vector')),
    );
  } finally {
    await store.close();
  }

  // HNSW against the exact scan, both on the calling thread so neither pays the thread hop.
  const pglite = await openInThreadPglite(dataDir, context.identity, context.storeOptions);
  let compared: Awaited<ReturnType<typeof compareWithExact>>;
  let exactPlan: string;
  try {
    const subset = queries.slice(0, pgliteExactQueries);
    exactPlan = scanOf(await explainExact(pglite.executor, subset[0] as BenchQuery));
    await timeEach(subset.slice(0, 5), (query) => exactSearch(pglite.executor, query));
    compared = await compareWithExact(
      subset,
      (query) => pglite.store.search(searchQuery(query, 'vector')),
      (query) => exactSearch(pglite.executor, query),
    );
  } finally {
    await pglite.close();
  }

  const rows = formatCount(context.settings.pgliteRows);
  return [
    `### PGlite, ${rows} chunks`,
    '',
    "Through the application's store (PGlite in its worker thread):",
    '',
    latencyTable(workerRows),
    '',
    `HNSW against the exact scan, both run on the calling thread (first ${compared.recalls.length} queries):`,
    '',
    latencyTable([
      { label: 'Vector, HNSW (in-thread)', plan: workerPlan, latencies: compared.hnswLatencies },
      {
        label: 'Vector, exact scan (in-thread)',
        plan: exactPlan,
        latencies: compared.exactLatencies,
      },
    ]),
    '',
    recallTable([{ label: `PGlite, ${rows} chunks`, recalls: compared.recalls }]),
    '',
    `Burst of ${size} through the worker store (PGlite runs one query at a time):`,
    '',
    burstTable([workerBurst], size),
    '',
  ].join('\n');
}

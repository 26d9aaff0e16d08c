/**
 * npm run bench [-- ingest search pool event-loop] [options]
 *
 * Reproduces, with numbers, the performance claims of the design (DESIGN.md §7). Without
 * benchmark names, runs them all. Starts and stops its own PostgreSQL (scripts/test-postgres.sh)
 * unless BENCH_DATABASE_URL is set; every benchmark uses new databases of its own. Prints the
 * results as Markdown and writes them to --out as each benchmark finishes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchContext, createBenchContext } from './bench-context.ts';
import { runEventLoopBenchmark } from './event-loop-benchmark.ts';
import { pgliteVersions } from './in-thread-pglite.ts';
import { runIngestBenchmark } from './ingest-benchmark.ts';
import { defaultManualDirectory } from './manual-corpus.ts';
import { runPoolBenchmark } from './pool-benchmark.ts';
import { runSearchBenchmark } from './search-benchmark.ts';

const benchmarks: Record<string, (context: BenchContext) => Promise<string>> = {
  ingest: runIngestBenchmark,
  search: runSearchBenchmark,
  pool: runPoolBenchmark,
  'event-loop': runEventLoopBenchmark,
};

const usage = `usage: npm run bench -- [${Object.keys(benchmarks).join('|')} …] [options]

  --ingest-chunks N   chunks per ingestion run (default 5000)
  --search-rows N     rows in the PostgreSQL search database (default 50000)
  --pglite-rows N     rows in the PGlite search database (default 50000; 0 skips PGlite search)
  --queries N         query set size (default 200)
  --repeat N          runs per ingestion configuration (default 2)
  --pool-sizes LIST   pool sizes to compare (default 1,2,4,8,16,32)
  --pool-seconds N    closed-loop duration per pool size (default 5)
  --out FILE          Markdown results (default .data/bench/results.md)

Environment: BENCH_DATABASE_URL (use this PostgreSQL instead of starting one; new databases are
created and dropped on it), BENCH_CORPUS (default ${defaultManualDirectory}).`;

function positiveInteger(name: string, text: string, allowZero = false): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(
      `--${name} must be a whole number${allowZero ? '' : ' above 0'}, not "${text}"`,
    );
  }
  return value;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'ingest-chunks': { type: 'string', default: '5000' },
      'search-rows': { type: 'string', default: '50000' },
      'pglite-rows': { type: 'string', default: '50000' },
      queries: { type: 'string', default: '200' },
      repeat: { type: 'string', default: '2' },
      'pool-sizes': { type: 'string', default: '1,2,4,8,16,32' },
      'pool-seconds': { type: 'string', default: '5' },
      out: { type: 'string', default: '.data/bench/results.md' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const selected = positionals.length === 0 ? Object.keys(benchmarks) : positionals;
  const unknown = selected.filter((name) => !(name in benchmarks));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}\n\n${usage}`);

  const context = createBenchContext({
    ingestChunks: positiveInteger('ingest-chunks', values['ingest-chunks']),
    searchRows: positiveInteger('search-rows', values['search-rows']),
    pgliteRows: positiveInteger('pglite-rows', values['pglite-rows'], true),
    queries: positiveInteger('queries', values.queries),
    repeat: positiveInteger('repeat', values.repeat),
    poolSizes: values['pool-sizes'].split(',').map((size) => positiveInteger('pool-sizes', size)),
    poolClients: 64,
    poolSeconds: positiveInteger('pool-seconds', values['pool-seconds']),
    burst: 64,
    corpusDirectory: process.env.BENCH_CORPUS || defaultManualDirectory,
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
  });

  const sections: string[] = [];
  const save = async () => {
    const text = [...sections, context.dataSetsSection()].join('\n');
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, text);
  };
  const interrupted = () => {
    console.error('bench: interrupted, cleaning up…');
    void context.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const started = performance.now();
  try {
    sections.push(await environmentSection(context, selected));
    for (const name of selected) {
      const benchmarkStarted = performance.now();
      console.error(`bench: ${name}…`);
      const section = await (benchmarks[name] as (context: BenchContext) => Promise<string>)(
        context,
      );
      const seconds = (performance.now() - benchmarkStarted) / 1000;
      sections.push(section);
      console.error(`bench: ${name} done in ${seconds.toFixed(0)} s`);
      await save();
    }
  } finally {
    await context.close();
  }
  sections.push(`_Total time: ${((performance.now() - started) / 1000).toFixed(0)} s._\n`);
  await save();
  console.log([...sections, context.dataSetsSection()].join('\n'));
  console.error(`bench: results written to ${values.out}`);
  return 0;
}

async function environmentSection(context: BenchContext, selected: string[]): Promise<string> {
  const needsPostgres = selected.some((name) => name !== 'event-loop');
  const postgresVersions = needsPostgres
    ? await (await context.postgres()).versions()
    : { postgres: '(not used)', pgvector: '(not used)' };
  const pglitePackage = JSON.parse(
    await readFile(
      new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url),
      'utf8',
    ),
  ) as { version: string };
  const pglite = await pgliteVersions();
  const server = context.settings.databaseUrl
    ? 'the server at BENCH_DATABASE_URL'
    : 'a throwaway cluster from scripts/test-postgres.sh on the same machine: fsync off, shared_buffers 256MB';
  const argumentsText = process.argv.slice(2).join(' ');
  return [
    '# Benchmark results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Command: \`npm run bench${argumentsText === '' ? '' : ` -- ${argumentsText}`}\``,
    `- Machine: ${availableParallelism()} CPUs (\`nproc\`), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${process.platform} ${process.arch}`,
    `- Node ${process.version}`,
    `- PostgreSQL ${postgresVersions.postgres} with pgvector ${postgresVersions.pgvector}, ${server}`,
    `- PGlite ${pglitePackage.version} (PostgreSQL ${pglite.postgres}, pgvector ${pglite.pgvector})`,
    `- Defaults under test: PG_POOL_MAX=${context.defaults.pgPoolMax}, HNSW_EF_SEARCH=${context.defaults.hnswEfSearch}, ` +
      `EMBEDDING_BATCH_SIZE=${context.defaults.embeddingBatchSize}, CHUNK_SIZE=${context.defaults.chunkSize}, ` +
      'local hash embedder (384 dimensions)',
    `- Corpus: ${context.settings.corpusDirectory}`,
    '',
  ].join('\n');
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
}

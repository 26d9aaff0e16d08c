import { rm } from 'node:fs/promises';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { parseConfig } from '../../src/core/config.ts';
import { loadPaths } from '../../src/ingest/load-files.ts';
import { type IngestOptions, ingest } from '../../src/ingest/pipeline.ts';
import { createSplitter } from '../../src/ingest/split.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store, StoreOptions } from '../../src/store/store.ts';
import type { BenchContext } from './bench-context.ts';
import { chunkCount, type ManualPage, selectPages } from './manual-corpus.ts';
import { formatCount, formatRatio, formatSeconds, markdownTable, median } from './statistics.ts';

type Engine = 'postgres' | 'pglite';
type Mode = 'batched' | 'batched, indexes maintained' | 'one at a time';
type DeferIndexes = NonNullable<IngestOptions['deferIndexes']>;

interface Configuration {
  engine: Engine;
  mode: Mode;
  storeOverrides: Partial<StoreOptions>;
  batchSize: number;
  writeConcurrency: number;
  deferIndexes: DeferIndexes;
}

interface Run {
  configuration: Configuration;
  chunks: number;
  seconds: number;
  /** Time the pipeline waited for the loader (file reads, HTML → Markdown). */
  loaderSeconds: number;
  /** Time in `findDocument`, which the pipeline awaits for each document before splitting it. */
  lookupSeconds: number;
  embedSeconds: number;
  /** Time during which at least one `writeDocument` was in flight. */
  writeSeconds: number;
  /** In `restoreIndexes`: rebuilding the indexes a bulk load dropped. */
  rebuildSeconds: number;
}

const engineNames: Record<Engine, string> = { postgres: 'PostgreSQL', pglite: 'PGlite (worker)' };
const targets: Record<Engine, number> = { postgres: 5000, pglite: 1200 };
const batchedVersusSingleTarget = 5;

function configuration(engine: Engine, mode: Mode, defaultDeferral: DeferIndexes): Configuration {
  if (mode === 'one at a time') {
    return {
      engine,
      mode,
      storeOverrides: { insertBatchRows: 1 },
      batchSize: 1,
      writeConcurrency: 1,
      deferIndexes: 'never',
    };
  }
  return {
    engine,
    mode,
    storeOverrides: { insertBatchRows: 500 },
    batchSize: 256,
    writeConcurrency: 4,
    deferIndexes: mode === 'batched' ? defaultDeferral : 'never',
  };
}

/**
 * Batched versus one-at-a-time ingestion through the whole pipeline (`loadPaths` → `ingest()`
 * with the local embedder → store), on PostgreSQL and on PGlite, each run into a new database.
 */
export async function runIngestBenchmark(context: BenchContext): Promise<string> {
  const { settings, defaults } = context;
  const corpus = await context.corpus();
  const pages = selectPages(corpus, settings.ingestChunks);
  const chunks = chunkCount(pages);
  const alone = await measureStagesAlone(context, pages);

  const deferral = defaults.ingestDeferIndexes;
  const configurations: Configuration[] = (['postgres', 'pglite'] as const).flatMap((engine) =>
    (['batched', 'batched, indexes maintained', 'one at a time'] as const).map((mode) =>
      configuration(engine, mode, deferral),
    ),
  );
  const runs: Run[] = [];
  for (let repetition = 0; repetition < settings.repeat; repetition++) {
    // Alternate the order, so a slow phase of a noisy machine does not always hit the same one.
    const order = repetition % 2 === 0 ? configurations : [...configurations].reverse();
    for (const config of order) {
      // The slow PGlite runs without deferral (~20 s each) are context, not targets: run once.
      if (repetition > 0 && config.engine === 'pglite' && config.mode !== 'batched') continue;
      runs.push(await ingestOnce(context, config, pages, chunks));
    }
  }

  const rate = (run: Run) => run.chunks / run.seconds;
  const runsOf = (config: Configuration) => runs.filter((run) => run.configuration === config);
  const medianRate = (config: Configuration) => median(runsOf(config).map(rate));
  const medianRun = (config: Configuration): Run => {
    const sorted = runsOf(config).sort((left, right) => rate(left) - rate(right));
    return sorted[Math.floor((sorted.length - 1) / 2)] as Run;
  };
  const find = (engine: Engine, mode: Mode) =>
    configurations.find(
      (config) => config.engine === engine && config.mode === mode,
    ) as Configuration;

  const settingsText = (config: Configuration) =>
    config.mode === 'one at a time'
      ? 'embedding batch 1, 1 row per INSERT, 1 write at a time'
      : `embedding batch 256, 500 rows per INSERT, 4 concurrent writes, deferIndexes '${config.deferIndexes}'`;
  const throughputRows = configurations.map((config) => {
    const value = medianRate(config);
    const target = config.mode === 'batched' ? targets[config.engine] : undefined;
    return [
      engineNames[config.engine],
      config.mode,
      settingsText(config),
      runsOf(config)
        .map((run) => formatCount(rate(run)))
        .join(', '),
      formatCount(value),
      target === undefined ? '' : `≥ ${formatCount(target)}`,
      target === undefined ? '' : value >= target ? 'met' : 'not met',
    ];
  });
  const speedupRows = (['postgres', 'pglite'] as const).flatMap((engine) => {
    const single = medianRate(find(engine, 'one at a time'));
    const hasTarget = engine === 'postgres';
    return (['batched', 'batched, indexes maintained'] as const).map((mode) => {
      const speedup = medianRate(find(engine, mode)) / single;
      return [
        engineNames[engine],
        `${mode} ÷ one at a time`,
        formatRatio(speedup),
        hasTarget ? `≥ ${batchedVersusSingleTarget}×` : '',
        hasTarget ? (speedup >= batchedVersusSingleTarget ? 'met' : 'not met') : '',
      ];
    });
  });
  const breakdownRows = configurations
    .map(medianRun)
    .map((run) => [
      engineNames[run.configuration.engine],
      run.configuration.mode,
      formatSeconds(run.seconds),
      formatSeconds(run.loaderSeconds),
      formatSeconds(run.lookupSeconds),
      formatSeconds(run.embedSeconds),
      formatSeconds(run.writeSeconds),
      run.rebuildSeconds > 0 ? formatSeconds(run.rebuildSeconds) : '',
    ]);

  const characters = pages.reduce(
    (sum, page) => sum + page.chunks.reduce((total, chunk) => total + chunk.length, 0),
    0,
  );
  const aloneTotal = alone.loadSeconds + alone.splitSeconds + alone.embedSeconds;
  return [
    '## Ingestion: batched vs one at a time',
    '',
    `${formatCount(pages.length)} pages of the manual (spread over the whole manual), ` +
      `${formatCount(chunks)} chunks (chunk size ${defaults.chunkSize}, overlap ${defaults.chunkOverlap}, ` +
      `${Math.round(characters / chunks)} characters on average). Each run: a new database, then ` +
      '`ingest(loadPaths(pages))` with the local embedder, timed from the first file read to the ' +
      `last commit (including any index rebuild). ${settings.repeat} run(s) per configuration ` +
      '(the two slow PGlite configurations without deferral: one), in alternating order; the ' +
      "median is compared (with two runs, the slower one). The schema is the application's: every row also " +
      'feeds the HNSW index, the GIN index and the generated `tsvector` column, unless the indexes ' +
      `are deferred. "batched" is the configuration \`npm run ingest\` uses by default ` +
      `(INGEST_DEFER_INDEXES=${deferral}: the pipeline drops the chunk indexes once a run's writes ` +
      'pass a threshold relative to the table, and rebuilds them at the end); "indexes maintained" ' +
      'is the same without deferral.',
    '',
    markdownTable(
      ['Engine', 'Mode', 'Settings', 'Runs (chunks/s)', 'Median chunks/s', 'Target', ''],
      throughputRows,
    ),
    '',
    markdownTable(['Engine', 'Comparison', 'Speed-up', 'Target', ''], speedupRows),
    '',
    '### Where the time goes',
    '',
    'Measured inside the median run by wrapping the loader, the embedder and the store. The stages ' +
      'overlap (the next batch is loaded and embedded while the previous one is written), so the ' +
      'columns do not add up to the wall time. "Writes in flight" is the time during which at least ' +
      'one `writeDocument` was running; "Lookups" is `findDocument`, awaited once per document before ' +
      'it is split; "Index rebuild" is `restoreIndexes` at the end of a deferred run.',
    '',
    markdownTable(
      [
        'Engine',
        'Mode',
        'Wall (s)',
        'Loader (s)',
        'Lookups (s)',
        'Embedding (s)',
        'Writes in flight (s)',
        'Index rebuild (s)',
      ],
      breakdownRows,
    ),
    '',
    'Stage costs measured alone on the same pages (one thread, warm page cache, no database):',
    '',
    markdownTable(
      ['Stage', 'Seconds', 'Chunks/s'],
      [
        ['Load: read + HTML → Markdown', alone.loadSeconds, alone.loadSeconds],
        ['Split', alone.splitSeconds, alone.splitSeconds],
        ['Embed (local hash embedder)', alone.embedSeconds, alone.embedSeconds],
        ['All three, one after another', aloneTotal, aloneTotal],
      ].map(([stage, seconds]) => [
        stage as string,
        formatSeconds(seconds as number),
        formatCount(chunks / (seconds as number)),
      ]),
    ),
    '',
  ].join('\n');
}

async function measureStagesAlone(context: BenchContext, pages: readonly ManualPage[]) {
  const split = createSplitter(context.defaults);
  const paths = pages.map((page) => page.path);
  const texts: { text: string; format: 'markdown' | 'text'; title: string }[] = [];
  let started = performance.now();
  for await (const result of loadPaths(paths, {
    maxFileBytes: context.defaults.ingestMaxFileBytes,
  })) {
    if (result.kind === 'document') texts.push(result.document);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const inputs: string[] = [];
  for (const document of texts) {
    for (const chunk of await split(document.text, document.format)) {
      inputs.push(`${document.title}\n\n${chunk}`);
    }
  }
  const splitSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  for (let start = 0; start < inputs.length; start += 256) {
    await context.embeddings.embedDocuments(inputs.slice(start, start + 256));
  }
  const embedSeconds = (performance.now() - started) / 1000;
  return { loadSeconds, splitSeconds, embedSeconds };
}

async function ingestOnce(
  context: BenchContext,
  config: Configuration,
  pages: readonly ManualPage[],
  expectedChunks: number,
): Promise<Run> {
  const label = `${config.engine} ${config.mode}`;
  console.error(`bench: ingest ${label}…`);
  const { defaults, identity } = context;
  const server = config.engine === 'postgres' ? await context.postgres() : undefined;
  const url = server === undefined ? undefined : await server.createDatabase('ingest');
  const dataDir = url === undefined ? await context.temporaryDirectory() : undefined;
  try {
    const storeConfig = parseConfig(
      url === undefined ? { DATA_DIR: dataDir } : { DATABASE_URL: url },
    );
    const store = await openStore(storeConfig, identity, config.storeOverrides);
    const timed = instrument(store, context.embeddings);
    let summary: Awaited<ReturnType<typeof ingest>>;
    let seconds: number;
    let storedChunks: number;
    try {
      const started = performance.now();
      summary = await ingest(
        timed.loader(
          loadPaths(
            pages.map((page) => page.path),
            { maxFileBytes: defaults.ingestMaxFileBytes },
          ),
        ),
        { store: timed.store, embeddings: timed.embeddings },
        {
          collection: 'bench',
          chunkSize: defaults.chunkSize,
          chunkOverlap: defaults.chunkOverlap,
          batchSize: config.batchSize,
          writeConcurrency: config.writeConcurrency,
          deferIndexes: config.deferIndexes,
        },
      );
      seconds = (performance.now() - started) / 1000;
      storedChunks = (await store.stats()).chunks;
    } finally {
      await store.close();
    }
    if (
      summary.failed > 0 ||
      summary.chunks !== expectedChunks ||
      storedChunks !== expectedChunks
    ) {
      throw new Error(
        `ingest ${label}: expected ${expectedChunks} chunks, got ${summary.chunks} reported, ` +
          `${storedChunks} stored, ${summary.failed} failed documents`,
      );
    }
    return { configuration: config, chunks: summary.chunks, seconds, ...timed.seconds() };
  } finally {
    if (url !== undefined) await server?.dropDatabase(url);
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

/** Wraps the loader, embedder and store to time each stage inside a pipeline run. */
function instrument(store: Store, embeddings: EmbeddingsInterface) {
  let loaderMilliseconds = 0;
  let lookupMilliseconds = 0;
  let embedMilliseconds = 0;
  let writeMilliseconds = 0;
  let rebuildMilliseconds = 0;
  let writesInFlight = 0;
  let writingSince = 0;

  async function* loader<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    const iterator = source[Symbol.asyncIterator]();
    while (true) {
      const started = performance.now();
      const next = await iterator.next();
      loaderMilliseconds += performance.now() - started;
      if (next.done) return;
      yield next.value;
    }
  }

  const timedStore: Store = {
    ...store,
    async findDocument(collection, source) {
      const started = performance.now();
      try {
        return await store.findDocument(collection, source);
      } finally {
        lookupMilliseconds += performance.now() - started;
      }
    },
    async writeDocument(document, chunks) {
      if (writesInFlight++ === 0) writingSince = performance.now();
      try {
        return await store.writeDocument(document, chunks);
      } finally {
        if (--writesInFlight === 0) writeMilliseconds += performance.now() - writingSince;
      }
    },
    async restoreIndexes() {
      const started = performance.now();
      try {
        await store.restoreIndexes();
      } finally {
        rebuildMilliseconds += performance.now() - started;
      }
    },
  };

  const timedEmbeddings: EmbeddingsInterface = {
    async embedDocuments(documents) {
      const started = performance.now();
      try {
        return await embeddings.embedDocuments(documents);
      } finally {
        embedMilliseconds += performance.now() - started;
      }
    },
    embedQuery: (document) => embeddings.embedQuery(document),
  };

  return {
    loader,
    store: timedStore,
    embeddings: timedEmbeddings,
    seconds: () => ({
      loaderSeconds: loaderMilliseconds / 1000,
      lookupSeconds: lookupMilliseconds / 1000,
      embedSeconds: embedMilliseconds / 1000,
      writeSeconds: writeMilliseconds / 1000,
      rebuildSeconds: rebuildMilliseconds / 1000,
    }),
  };
}

/**
 * npm run ingest -- [--collection NAME] [--json] <files or directories…>
 *
 * Loads .md, .txt and .html files, splits, embeds and stores them. Unchanged files are
 * skipped; changed ones replaced. Exit code 1 if any file failed.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { openNodeDependencies } from '../src/entry/node-dependencies.ts';
import { countFiles, loadPaths } from '../src/ingest/load-files.ts';
import { type IngestEvent, type IngestSummary, ingest } from '../src/ingest/pipeline.ts';
import { runCli, UsageError } from './lib/run-cli.ts';

const usage = `usage: npm run ingest -- [options] <files or directories…>

  --collection NAME   collection to ingest into (default "default")
  --json              print the summary as one JSON object on the last line
  --quiet             no progress bar

Supported files: .md .markdown .txt .html .htm (others are skipped and counted).`;

await runCli(usage, async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      collection: { type: 'string', default: 'default' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) throw new UsageError('Give at least one file or directory.');
  if (values.collection.trim() === '') throw new UsageError('--collection must not be empty');

  // Ctrl-C finishes what is in flight and closes the database cleanly; a second one exits at once.
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    console.error('interrupted: finishing the documents in flight (Ctrl-C again to exit at once)');
    interrupt.abort();
    process.once('SIGINT', () => process.exit(130));
  });

  const { config, store, embedder } = await openNodeDependencies();
  const showBar = process.stderr.isTTY && !values.json && !values.quiet;
  const bars = showBar
    ? new cliProgress.MultiBar(
        {
          format:
            '{bar} {value}/{total} files | {chunks} chunks | {documentsPerSecond} docs/s | {chunksPerSecond} chunks/s',
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = bars?.create(showBar ? await countFiles(positionals) : 0, 0, progressPayload());
  const log = (line: string) => (bars ? bars.log(`${line}\n`) : console.error(line));

  let indexesMissing = false;
  const onEvent = (event: IngestEvent, summary: IngestSummary) => {
    if (event.kind === 'warning') {
      log(event.message.startsWith('warning:') ? event.message : `warning: ${event.message}`);
      if (event.code === 'restore_failed') indexesMissing = true;
      return;
    }
    if (event.kind === 'failed') log(`failed   ${event.path}: ${event.reason}`);
    bar?.increment(1, progressPayload(summary));
  };

  let summary: IngestSummary;
  try {
    summary = await ingest(
      loadPaths(positionals, { maxFileBytes: config.ingestMaxFileBytes }),
      { store, embeddings: embedder.embeddings },
      {
        collection: values.collection,
        chunkSize: config.chunkSize,
        chunkOverlap: config.chunkOverlap,
        batchSize: config.embeddingBatchSize,
        writeConcurrency: Math.max(1, Math.min(config.pgPoolMax, 4)),
        deferIndexes: config.ingestDeferIndexes,
        signal: interrupt.signal,
        onEvent,
      },
    );
    // Fresh planner statistics after a bulk load (PGlite has no autovacuum to do it).
    if (summary.added + summary.updated > 0) await store.analyze();
  } finally {
    bars?.stop();
    await store.close();
  }

  const rate = summary.seconds > 0 ? Math.round(summary.chunks / summary.seconds) : 0;
  const line = `added ${summary.added}, updated ${summary.updated}, unchanged ${summary.unchanged}, skipped ${summary.skipped}, failed ${summary.failed}; ${summary.chunks} chunks in ${summary.seconds.toFixed(2)} s (${rate} chunks/s) on ${store.engine}`;
  if (values.json) {
    console.error(line);
    console.log(JSON.stringify(summary));
  } else {
    console.log(line);
  }
  if (interrupt.signal.aborted) return 130;
  return summary.failed > 0 || indexesMissing ? 1 : 0;
});

function progressPayload(summary?: IngestSummary) {
  const seconds = summary?.seconds ?? 0;
  const documents = summary ? summary.added + summary.updated + summary.unchanged : 0;
  return {
    chunks: summary?.chunks ?? 0,
    documentsPerSecond: seconds > 0 ? Math.round(documents / seconds) : 0,
    chunksPerSecond: seconds > 0 ? Math.round((summary?.chunks ?? 0) / seconds) : 0,
  };
}

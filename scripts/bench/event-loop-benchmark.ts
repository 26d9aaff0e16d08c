import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/core/config.ts';
import type { SearchMode } from '../../src/core/types.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { BenchContext, BenchQuery } from './bench-context.ts';
import { openInThreadPglite } from './in-thread-pglite.ts';
import { burst, searchQuery } from './search-measurements.ts';
import { formatCount, formatMilliseconds, markdownTable, summarize } from './statistics.ts';

/** Hybrid search costs ~0.2 s on PGlite at 50k rows, so it gets one smaller burst. */
const workloads: { mode: SearchMode; bursts: number; size: (burst: number) => number }[] = [
  { mode: 'vector', bursts: 5, size: (burst) => burst },
  { mode: 'hybrid', bursts: 1, size: (burst) => Math.min(burst, 16) },
];

interface DelayResult {
  label: string;
  mode: string;
  searches: number;
  seconds: number;
  latencies: number[];
  delay: { samples: number; p50: number; p99: number; max: number };
}

/** Runs `work` while sampling the main thread's event-loop delay every millisecond. */
async function withDelayMonitor(work: () => Promise<void>) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    // The monitor's first tick only starts its clock; a stall before it would go unrecorded.
    await sleep(5);
    await work();
    // A loop blocked until the end of `work` has its late timer still pending: let it fire and
    // record the stall, or a loop that never turned would report no delay at all.
    await sleep(5);
  } finally {
    histogram.disable();
  }
  return {
    samples: histogram.count,
    p50: histogram.percentile(50) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
  };
}

async function measure(
  label: string,
  store: Store,
  queries: readonly BenchQuery[],
  burstSize: number,
): Promise<DelayResult[]> {
  for (const query of queries.slice(0, 10)) {
    for (const { mode } of workloads) await store.search(searchQuery(query, mode));
  }
  const results: DelayResult[] = [];
  for (const workload of workloads) {
    console.error(`bench: event loop, ${label}, ${workload.mode}…`);
    const size = workload.size(burstSize);
    const latencies: number[] = [];
    let milliseconds = 0;
    const delay = await withDelayMonitor(async () => {
      for (let round = 0; round < workload.bursts; round++) {
        const result = await burst(queries, size, round * size, (query) =>
          store.search(searchQuery(query, workload.mode)),
        );
        latencies.push(...result.latencies);
        milliseconds += result.wallMilliseconds;
      }
    });
    results.push({
      label,
      mode: `${workload.mode}, ${workload.bursts} × ${size}`,
      searches: workload.bursts * size,
      seconds: milliseconds / 1000,
      latencies,
      delay,
    });
  }
  return results;
}

/**
 * The main thread's event-loop delay while bursts of concurrent searches run against PGlite:
 * the application's worker-thread store against PGlite on the main thread. A server's
 * timers, sockets and SSE writes wait for exactly this delay.
 */
export async function runEventLoopBenchmark(context: BenchContext): Promise<string> {
  if (context.settings.pgliteRows === 0) {
    throw new Error('the event-loop benchmark needs a PGlite database: give --pglite-rows above 0');
  }
  const dataDir = await context.pgliteSearchDirectory();
  const queries = await context.queries();
  const size = context.settings.burst;
  const config = parseConfig({ DATA_DIR: dataDir });
  const results: DelayResult[] = [];

  const idle = await withDelayMonitor(() => sleep(1000));
  results.push({
    label: 'Idle (no searches), 1 s',
    mode: '',
    searches: 0,
    seconds: 1,
    latencies: [],
    delay: idle,
  });

  const store = await openStore(config, context.identity);
  try {
    results.push(...(await measure('Worker thread (openStore)', store, queries, size)));
  } finally {
    await store.close();
  }

  const pglite = await openInThreadPglite(dataDir, context.identity, context.storeOptions);
  try {
    results.push(...(await measure('Main thread (PGlite in-thread)', pglite.store, queries, size)));
  } finally {
    await pglite.close();
  }

  return [
    '## Event loop: PGlite in a worker thread vs on the main thread',
    '',
    'Bursts of concurrent `store.search` calls (k=10; vector: 5 bursts of ' +
      `${size}, hybrid: one burst of ${Math.min(size, 16)}) against the ` +
      `${formatCount(context.settings.pgliteRows)}-chunk PGlite database, while ` +
      '`perf_hooks.monitorEventLoopDelay({ resolution: 1 })` samples the main thread. ' +
      'Search latency runs from the burst start to each answer. "Loop turns sampled" counts the ' +
      'timer ticks the monitor got to record: a blocked loop gets few, each as long as the stall.',
    '',
    markdownTable(
      [
        'PGlite runs on',
        'Search, bursts × size',
        'Searches',
        'Searches/s',
        'Search p50 (ms)',
        'Search p99 (ms)',
        'Event-loop delay p50 (ms)',
        'p99 (ms)',
        'max (ms)',
        'Loop turns sampled',
      ],
      results.map((result) => {
        const latency = summarize(result.latencies);
        return [
          result.label,
          result.mode,
          formatCount(result.searches),
          result.searches === 0 ? '' : formatCount(result.searches / result.seconds),
          result.searches === 0 ? '' : formatMilliseconds(latency.p50),
          result.searches === 0 ? '' : formatMilliseconds(latency.p99),
          formatMilliseconds(result.delay.p50),
          formatMilliseconds(result.delay.p99),
          formatMilliseconds(result.delay.max),
          formatCount(result.delay.samples),
        ];
      }),
    ),
    '',
  ].join('\n');
}

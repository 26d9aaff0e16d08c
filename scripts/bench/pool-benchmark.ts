import { parseConfig } from '../../src/core/config.ts';
import type { SearchMode } from '../../src/core/types.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/store.ts';
import type { BenchContext, BenchQuery } from './bench-context.ts';
import { searchQuery } from './search-measurements.ts';
import {
  cpuBusyFraction,
  formatCount,
  formatMilliseconds,
  formatPercent,
  markdownTable,
  readCpuTimes,
  summarize,
} from './statistics.ts';

interface PoolResult {
  poolSize: number;
  mode: SearchMode;
  searches: number;
  seconds: number;
  latencies: number[];
  machineBusy: number;
  nodeBusy: number;
}

/**
 * Closed loop: `clients` concurrent callers, each sending its next search as soon as the
 * previous one answers, for `seconds`. Returns every latency.
 */
async function closedLoop(
  store: Store,
  queries: readonly BenchQuery[],
  mode: SearchMode,
  clients: number,
  seconds: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const query = queries[next++ % queries.length] as BenchQuery;
        const issued = performance.now();
        await store.search(searchQuery(query, mode));
        latencies.push(performance.now() - issued);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** Throughput and tail latency of concurrent `store.search` calls for each PostgreSQL pool size. */
export async function runPoolBenchmark(context: BenchContext): Promise<string> {
  const { settings } = context;
  const url = await context.postgresSearchDatabase();
  const queries = await context.queries();
  // Vector only: hybrid search is CPU-bound in its full-text half (see the search section), so
  // its throughput is flat across pool sizes and a sweep would take minutes.
  const modes: SearchMode[] = ['vector'];
  const results: PoolResult[] = [];
  for (const mode of modes) {
    for (const poolSize of settings.poolSizes) {
      console.error(`bench: pool ${poolSize}, ${mode}…`);
      const store = await openStore(
        parseConfig({ DATABASE_URL: url, PG_POOL_MAX: String(poolSize) }),
        context.identity,
      );
      try {
        // Opens every connection and warms the caches before the clock starts.
        await closedLoop(store, queries, mode, settings.poolClients, 0.5);
        const machineBefore = await readCpuTimes();
        const nodeBefore = process.cpuUsage();
        const run = await closedLoop(
          store,
          queries,
          mode,
          settings.poolClients,
          settings.poolSeconds,
        );
        const nodeUsage = process.cpuUsage(nodeBefore);
        results.push({
          poolSize,
          mode,
          searches: run.latencies.length,
          seconds: run.seconds,
          latencies: run.latencies,
          machineBusy: cpuBusyFraction(machineBefore, await readCpuTimes()),
          nodeBusy: (nodeUsage.user + nodeUsage.system) / 1e6 / run.seconds,
        });
      } finally {
        await store.close();
      }
    }
  }

  const tables = modes.map((mode) => {
    const rows = results.filter((result) => result.mode === mode);
    const best = Math.max(...rows.map((result) => result.searches / result.seconds));
    return [
      `### ${mode === 'vector' ? 'Vector (HNSW)' : 'Hybrid'} search, k=10`,
      '',
      markdownTable(
        [
          'PG_POOL_MAX',
          'Searches/s',
          'vs best',
          'p50 (ms)',
          'p99 (ms)',
          'Machine CPU busy',
          'Node process CPU (cores)',
        ],
        rows.map((result) => {
          const summary = summarize(result.latencies);
          const throughput = result.searches / result.seconds;
          return [
            String(result.poolSize) +
              (result.poolSize === context.defaults.pgPoolMax ? ' (default)' : ''),
            formatCount(throughput),
            formatPercent(throughput / best),
            formatMilliseconds(summary.p50),
            formatMilliseconds(summary.p99),
            formatPercent(result.machineBusy),
            result.nodeBusy.toFixed(2),
          ];
        }),
      ),
      '',
    ].join('\n');
  });

  return [
    '## Connection pool size vs throughput (PostgreSQL)',
    '',
    `${settings.poolClients} concurrent clients in a closed loop (each sends its next search as soon ` +
      `as the previous one answers) for ${settings.poolSeconds} s per pool size, through \`store.search\` ` +
      `on the ${formatCount(settings.searchRows)}-chunk database, after a 0.5 s warm-up. The client ` +
      '(Node) and the server share the machine, as they do when both run on one small host. ' +
      '"Machine CPU busy" is from /proc/stat over the run; "Node process CPU" is the client\'s share in cores.',
    '',
    ...tables,
  ].join('\n');
}

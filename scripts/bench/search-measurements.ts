import pgvector from 'pgvector';
import type { Hit, SearchMode, SearchQuery } from '../../src/core/types.ts';
import { vectorSearchSql } from '../../src/store/search-sql.ts';
import type { SqlExecutor } from '../../src/store/sql-executor.ts';
import type { BenchQuery } from './bench-context.ts';

export const k = 10;

/**
 * The application's vector query with the ORDER BY turned into an expression the HNSW index
 * cannot serve, so PostgreSQL must compute every distance: the exact top-k. (Not `SET
 * enable_indexscan = off`: postgres.js caches prepared plans, and a plan made under the SET
 * outlives it.) Derived from `vectorSearchSql`, so the two differ only in that ORDER BY.
 */
const exactVectorSearchSql = vectorSearchSql.replace(
  /ORDER BY c\.embedding <=> \$1::vector(?=\s+LIMIT)/,
  'ORDER BY (c.embedding <=> $1::vector) + 0',
);
if (exactVectorSearchSql === vectorSearchSql) {
  throw new Error(
    'search-sql.ts changed: cannot derive the exact vector query from vectorSearchSql',
  );
}

export function searchQuery(query: BenchQuery, mode: SearchMode): SearchQuery {
  return { text: query.text, embedding: query.embedding, mode, k };
}

export function exactSearch(executor: SqlExecutor, query: BenchQuery): Promise<Hit[]> {
  return executor.query<Hit>(exactVectorSearchSql, [
    pgvector.toSql(query.embedding),
    null,
    null,
    k,
  ]);
}

export async function explainExact(executor: SqlExecutor, query: BenchQuery): Promise<string> {
  const rows = await executor.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${exactVectorSearchSql}`, [
    pgvector.toSql(query.embedding),
    null,
    null,
    k,
  ]);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/** The scan that feeds the vector candidates, as EXPLAIN names it. */
export function scanOf(plan: string): string {
  const match = /Index Scan using \w+|Parallel Seq Scan on \w+|Seq Scan on chunks/.exec(plan);
  return match?.[0] ?? 'unrecognised plan';
}

/** Latency of each query, run one after another. */
export async function timeEach<T>(
  items: readonly T[],
  run: (item: T) => Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  for (const item of items) {
    const started = performance.now();
    await run(item);
    latencies.push(performance.now() - started);
  }
  return latencies;
}

/**
 * `size` searches issued at the same moment; each latency runs from that moment to the
 * search's answer, which is what a client in the burst waits.
 */
export async function burst(
  queries: readonly BenchQuery[],
  size: number,
  offset: number,
  run: (query: BenchQuery) => Promise<unknown>,
): Promise<{ latencies: number[]; wallMilliseconds: number }> {
  const batch = Array.from(
    { length: size },
    (_, index) => queries[(offset + index) % queries.length] as BenchQuery,
  );
  const started = performance.now();
  const latencies = await Promise.all(
    batch.map(async (query) => {
      await run(query);
      return performance.now() - started;
    }),
  );
  return { latencies, wallMilliseconds: performance.now() - started };
}

export interface Recall {
  /** Share of the exact top-k ids that the approximate search returned. */
  byId: number;
  /**
   * Counts an approximate hit as correct when its distance is within the exact k-th distance:
   * a different row at a tied distance is as good an answer.
   */
  withTies: number;
}

export function recallAtK(approximate: readonly Hit[], exact: readonly Hit[]): Recall {
  const exactIds = new Set(exact.map((hit) => hit.id));
  const byId = approximate.filter((hit) => exactIds.has(hit.id)).length;
  const kthScore = exact.at(-1)?.score ?? Number.POSITIVE_INFINITY;
  const withTies = approximate.filter((hit) => hit.score >= kthScore - 1e-9).length;
  const expected = Math.max(1, exact.length);
  return { byId: byId / expected, withTies: Math.min(withTies, expected) / expected };
}

import type { Context } from 'hono';
import { retrieve } from '../../retrieval/retrieve.ts';
import { searchSqlText } from '../../store/search-sql.ts';
import type { AppDependencies, AppEnvironment } from '../app-dependencies.ts';
import { ifNoneMatchMatches, strongEtag } from '../etag.ts';
import { parseOrThrow, searchQuerySchema } from '../request-schemas.ts';
import { formatServerTiming } from '../server-timing.ts';

const defaultSearchK = 10;

/**
 * `GET /v1/search?q=&k=&collection=&search=` (or `mode=`): retrieval only, `{ hits }`.
 *
 * Cacheable: the strong ETag is computed from the collection's change version and the query,
 * *before* any embedding or search, so a revalidation (`If-None-Match`) of an unchanged
 * collection costs one indexed lookup and answers `304`.
 */
export function searchHandler(dependencies: AppDependencies) {
  // The search SQL (several kB) is part of every tag: hashed once, not per request. A promise
  // shared by requests is safe here (unlike on Workers' I/O): it is Web Crypto work, settled
  // without any request's I/O.
  const searchSqlDigest = strongEtag([searchSqlText]);
  return async (c: Context<AppEnvironment>) => {
    const query = parseOrThrow(searchQuerySchema, c.req.query());
    const mode = query.search ?? query.mode ?? 'hybrid';
    const k = query.k ?? defaultSearchK;
    const signal = c.req.raw.signal;
    const { store, embeddings } = c.var.services;
    const version = await store.collectionVersion(query.collection);
    const etag = await strongEtag([
      await searchSqlDigest,
      version,
      store.identity.name,
      String(dependencies.config.hnswEfSearch),
      mode,
      String(k),
      query.collection ?? '',
      JSON.stringify(query.filter ?? null),
      query.q,
    ]);
    // Set on 200 and 304 only: an error response must not be cached or revalidated.
    const cacheHeaders = {
      ETag: etag,
      'Cache-Control': `private, max-age=${dependencies.config.searchCacheSeconds}, must-revalidate`,
    };
    if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) {
      return c.body(null, 304, cacheHeaders);
    }
    const { hits, timings } = await retrieve(
      { store, embeddings },
      {
        question: query.q,
        mode,
        k,
        signal,
        ...(query.collection === undefined ? {} : { collection: query.collection }),
        ...(query.filter === undefined ? {} : { filter: query.filter }),
      },
    );
    c.header(
      'Server-Timing',
      formatServerTiming({
        embed: timings.embedMs,
        retrieve: timings.retrieveMs,
        total: performance.now() - c.get('startedAt'),
      }),
    );
    return c.json({ hits }, 200, cacheHeaders);
  };
}

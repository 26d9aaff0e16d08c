import postgres from 'postgres';
import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { abandonable } from './abandonable.ts';
import { type Migration, migrate } from './migrate.ts';
import type { SqlExecutor } from './sql-executor.ts';
import { createSqlStore, restoreFailedWarning, sessionSettings } from './sql-store.ts';
import type { Store, StoreOptions } from './store.ts';

/**
 * PostgreSQL (with pgvector) through a postgres.js connection pool. Migrations run on open.
 *
 * @example
 * const store = await openPostgresStore({ url, poolMax: 4, identity, migrations, options });
 */
export async function openPostgresStore(settings: {
  url: string;
  poolMax: number;
  identity: EmbedderIdentity;
  migrations: readonly Migration[];
  options: StoreOptions;
}): Promise<Store> {
  let lockSql: postgres.Sql | undefined;
  const sql = postgres(settings.url, {
    max: settings.poolMax,
    onnotice: () => {},
    // Startup parameters apply to every pooled connection without an extra round trip.
    connection: sessionSettings(settings.options),
  });
  try {
    const executor = postgresExecutor(sql, () => {
      // Advisory locks live on a connection of their own, outside the pool: holding one must
      // never take a slot that the work done under it needs (PG_POOL_MAX=1 would deadlock).
      lockSql ??= postgres(settings.url, { max: 1, onnotice: () => {} });
      return lockSql;
    });
    const identity = await migrate(executor, settings.migrations, settings.identity);
    const store = createSqlStore(executor, {
      engine: 'postgres',
      identity,
      options: settings.options,
      close: async () => {
        await Promise.all([sql.end({ timeout: 5 }), lockSql?.end({ timeout: 5 })]);
      },
    });
    // Indexes deferred by a bulk load that died are rebuilt before serving. A failed rebuild
    // must not lock users out: searches still answer, by sequential scan.
    await store
      .restoreIndexes()
      .catch((error: unknown) => console.warn(restoreFailedWarning(error)));
    return store;
  } catch (error) {
    await Promise.all([sql.end({ timeout: 1 }), lockSql?.end({ timeout: 1 })]);
    if (error instanceof StreamragError) throw error;
    throw new StreamragError(
      'database_error',
      `Could not open the PostgreSQL database at DATABASE_URL (${describeUrl(settings.url)}): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** host:port/database of a connection URL, never its password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'unparseable URL';
  }
}

export function postgresExecutor(
  sql: postgres.Sql | postgres.TransactionSql,
  lockConnection: () => postgres.Sql = () => {
    throw new Error('Advisory locks need a lock connection');
  },
): SqlExecutor {
  return {
    async query<Row>(
      text: string,
      parameters: readonly unknown[] = [],
      options: { signal?: AbortSignal } = {},
    ) {
      options.signal?.throwIfAborted();
      const pending = sql.unsafe(text, parameters as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
      // Abandoned, not cancelled: PostgreSQL's CancelRequest targets a connection, not a
      // statement, so on a pooled connection it can land on the next request's query.
      return abandonable(options.signal, pending as unknown as Promise<Row[]>);
    },
    async script(text) {
      await sql.unsafe(text).simple();
    },
    async transaction(work) {
      if (!('begin' in sql)) throw new Error('Nested transactions are not supported');
      return (await sql.begin((transaction) => work(postgresExecutor(transaction)))) as Awaited<
        ReturnType<typeof work>
      >;
    },
    async tryAdvisoryLock(key) {
      // Reserved, so no other query of ours runs on (or unlocks) the locking session.
      const connection = await lockConnection().reserve();
      try {
        const [row] = await connection`SELECT pg_try_advisory_lock(${key}::bigint) AS locked`;
        if (row?.locked !== true) {
          connection.release();
          return undefined;
        }
      } catch (error) {
        connection.release();
        throw error;
      }
      return {
        async release() {
          try {
            await connection`SELECT pg_advisory_unlock(${key}::bigint)`;
          } finally {
            connection.release();
          }
        },
      };
    },
  };
}

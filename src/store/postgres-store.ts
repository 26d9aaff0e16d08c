import postgres from 'postgres';
import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
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
  const sql = postgres(settings.url, {
    max: settings.poolMax,
    onnotice: () => {},
    // Startup parameters apply to every pooled connection without an extra round trip.
    connection: sessionSettings(settings.options),
  });
  try {
    const executor = postgresExecutor(sql);
    const identity = await migrate(executor, settings.migrations, settings.identity);
    const store = createSqlStore(executor, {
      engine: 'postgres',
      identity,
      options: settings.options,
      close: () => sql.end({ timeout: 5 }),
    });
    // Indexes deferred by a bulk load that died are rebuilt before serving. A failed rebuild
    // must not lock users out: searches still answer, by sequential scan.
    await store
      .restoreIndexes()
      .catch((error: unknown) => console.warn(restoreFailedWarning(error)));
    return store;
  } catch (error) {
    await sql.end({ timeout: 1 });
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

export function postgresExecutor(sql: postgres.Sql | postgres.TransactionSql): SqlExecutor {
  return {
    async query<Row>(text: string, parameters: readonly unknown[] = []) {
      const rows = await sql.unsafe(text, parameters as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
      return rows as unknown as Row[];
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
      if (!('reserve' in sql)) throw new Error('Advisory locks need the pool, not a transaction');
      // A pooled connection would hand the lock to whoever borrows it next: reserve one.
      const connection = await sql.reserve();
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

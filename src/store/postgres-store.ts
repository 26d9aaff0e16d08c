import postgres from 'postgres';
import type { EmbedderIdentity } from '../core/types.ts';
import { type Migration, migrate } from './migrate.ts';
import type { SqlExecutor } from './sql-executor.ts';
import { createSqlStore, sessionSettings } from './sql-store.ts';
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
    // Indexes deferred by a bulk load that never finished are rebuilt before serving.
    await store.restoreIndexes();
    return store;
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
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
  };
}

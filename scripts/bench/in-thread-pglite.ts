import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { EmbedderIdentity } from '../../src/core/types.ts';
import { migrate } from '../../src/store/migrate.ts';
import { readMigrations } from '../../src/store/open-store.ts';
import { pgliteExecutor } from '../../src/store/pglite-executor.ts';
import type { SqlExecutor } from '../../src/store/sql-executor.ts';
import { createSqlStore, sessionSettings } from '../../src/store/sql-store.ts';
import type { Store, StoreOptions } from '../../src/store/store.ts';

export interface InThreadPglite {
  database: PGlite;
  executor: SqlExecutor;
  store: Store;
  close(): Promise<void>;
}

/**
 * PGlite on the calling thread: what `pglite-worker.ts` does, without the worker. Used to fill
 * databases with plain SQL, and as the baseline that shows what the worker thread buys.
 * `dataDir` is the same directory `openStore` is given (the database lives in `<dataDir>/pglite`);
 * never open it while a worker store has it open.
 */
export async function openInThreadPglite(
  dataDir: string,
  identity: EmbedderIdentity,
  options: StoreOptions,
): Promise<InThreadPglite> {
  const database = await PGlite.create(join(resolve(dataDir), 'pglite'), {
    extensions: { vector },
  });
  const executor = pgliteExecutor(database);
  try {
    const bound = await migrate(executor, await readMigrations(), identity);
    for (const [name, value] of Object.entries(sessionSettings(options))) {
      await executor.query('SELECT set_config($1, $2, false)', [name, value]);
    }
    const close = () => database.close();
    const store = createSqlStore(executor, { engine: 'pglite', identity: bound, options, close });
    return { database, executor, store, close };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** The PGlite and pgvector versions inside the WebAssembly build. */
export async function pgliteVersions(): Promise<{ postgres: string; pgvector: string }> {
  const database = await PGlite.create('memory://', { extensions: { vector } });
  try {
    await database.exec('CREATE EXTENSION IF NOT EXISTS vector');
    const server = await database.query<{ server_version: string }>('SHOW server_version');
    const extension = await database.query<{ extversion: string }>(
      `SELECT extversion FROM pg_extension WHERE extname = 'vector'`,
    );
    return {
      postgres: server.rows[0]?.server_version ?? '?',
      pgvector: extension.rows[0]?.extversion ?? '?',
    };
  } finally {
    await database.close();
  }
}

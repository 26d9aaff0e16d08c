/**
 * Worker-thread host for the embedded database. PGlite runs queries on the calling thread
 * and blocks it for the whole query, so it lives here, off the server's event loop; the main
 * thread talks to it through `pglite-store.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { type Migration, migrate } from './migrate.ts';
import { pgliteExecutor } from './pglite-executor.ts';
import { createSqlStore, restoreFailedWarning, sessionSettings } from './sql-store.ts';
import type { Store, StoreOptions } from './store.ts';

export interface PgliteWorkerData {
  dataDir: string;
  identity: EmbedderIdentity;
  migrations: Migration[];
  options: StoreOptions;
}

export type WorkerRequest = { id: number; method: keyof Store; parameters: unknown[] };

export type WorkerResponse =
  | { kind: 'opened'; identity: EmbedderIdentity }
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number | undefined; error: SerializedError };

export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
}

const port = parentPort;
if (port === null) throw new Error('pglite-worker.ts must run in a worker thread');
const settings = workerData as PgliteWorkerData;

function serialize(error: unknown): SerializedError {
  if (error instanceof StreamragError) {
    return { name: error.name, code: error.code, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'DatabaseError', code: 'database_error', message };
}

async function open(): Promise<Store> {
  const database = await PGlite.create(settings.dataDir, {
    extensions: { vector },
  });
  const executor = pgliteExecutor(database);
  try {
    const identity = await migrate(executor, settings.migrations, settings.identity);
    for (const [name, value] of Object.entries(sessionSettings(settings.options))) {
      await executor.query('SELECT set_config($1, $2, false)', [name, value]);
    }
    const store = createSqlStore(executor, {
      engine: 'pglite',
      identity,
      options: settings.options,
      close: () => database.close(),
    });
    // Indexes deferred by a bulk load that died are rebuilt before serving. A failed rebuild
    // must not lock users out: searches still answer, by sequential scan.
    await store
      .restoreIndexes()
      .catch((error: unknown) => console.warn(restoreFailedWarning(error)));
    return store;
  } catch (error) {
    await database.close();
    throw error;
  }
}

try {
  const store = await open();
  port.on('message', async (request: WorkerRequest) => {
    try {
      const method = store[request.method] as (...parameters: unknown[]) => Promise<unknown>;
      const value = await method(...request.parameters);
      port.postMessage({ kind: 'result', id: request.id, value } satisfies WorkerResponse);
      if (request.method === 'close') port.close();
    } catch (error) {
      port.postMessage({
        kind: 'error',
        id: request.id,
        error: serialize(error),
      } satisfies WorkerResponse);
    }
  });
  port.postMessage({ kind: 'opened', identity: store.identity } satisfies WorkerResponse);
} catch (error) {
  port.postMessage({
    kind: 'error',
    id: undefined,
    error: serialize(error),
  } satisfies WorkerResponse);
  port.close();
}

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { abandonable } from './abandonable.ts';
import type { Migration } from './migrate.ts';
import type { PgliteWorkerData, SerializedError, WorkerResponse } from './pglite-worker.ts';
import type { Store, StoreOptions } from './store.ts';

/**
 * The embedded database: PGlite (PostgreSQL in WebAssembly, with pgvector) persisted in
 * `<dataDir>/pglite`, running in a worker thread so queries never block the event loop.
 * `dataDir` "memory://" keeps everything in memory (tests).
 *
 * PGlite allows one process per data directory; a lock file refuses a second one with a
 * clear message instead of corrupting the database.
 *
 * @example
 * const store = await openPgliteStore({ dataDir: './.data', identity, migrations, options });
 */
export async function openPgliteStore(settings: {
  dataDir: string;
  identity: EmbedderIdentity;
  migrations: readonly Migration[];
  options: StoreOptions;
}): Promise<Store> {
  const inMemory = settings.dataDir.startsWith('memory://');
  const lockPath = inMemory ? undefined : await acquireLock(settings.dataDir);
  const workerData: PgliteWorkerData = {
    dataDir: inMemory ? settings.dataDir : join(resolve(settings.dataDir), 'pglite'),
    identity: settings.identity,
    migrations: [...settings.migrations],
    options: settings.options,
  };
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData });
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let failure: Error | undefined;

  const opened = new Promise<EmbedderIdentity>((resolveOpen, rejectOpen) => {
    worker.on('message', (response: WorkerResponse) => {
      if (response.kind === 'opened') return resolveOpen(response.identity);
      const call = response.id === undefined ? undefined : pending.get(response.id);
      if (response.id !== undefined) pending.delete(response.id);
      if (response.kind === 'result') return call?.resolve(response.value);
      const error = deserialize(response.error);
      if (call === undefined) return rejectOpen(error);
      call.reject(error);
    });
    worker.on('error', (error) => {
      failure = new StreamragError(
        'database_error',
        `The embedded database failed: ${error.message}`,
        {
          cause: error,
        },
      );
      rejectOpen(failure);
      for (const call of pending.values()) call.reject(failure);
      pending.clear();
    });
    worker.on('exit', () => {
      failure ??= new StreamragError('database_error', 'The embedded database is closed');
      rejectOpen(failure);
      for (const call of pending.values()) call.reject(failure);
      pending.clear();
    });
  });

  let identity: EmbedderIdentity;
  try {
    identity = await opened;
  } catch (error) {
    await worker.terminate();
    if (lockPath !== undefined) await releaseLock(lockPath);
    throw error;
  }

  function call<T>(method: keyof Store, ...parameters: unknown[]): Promise<T> {
    if (failure !== undefined) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolveCall, rejectCall) => {
      pending.set(id, { resolve: resolveCall as (value: unknown) => void, reject: rejectCall });
      worker.postMessage({ id, method, parameters });
    });
  }

  let closing: Promise<void> | undefined;
  return {
    engine: 'pglite',
    identity,
    findDocument: (collection, source) => call('findDocument', collection, source),
    documentHashes: (collection) => call('documentHashes', collection),
    getDocument: (id) => call('getDocument', id),
    writeDocument: (document, chunks) => call('writeDocument', document, chunks),
    deleteDocument: (id) => call('deleteDocument', id),
    collectionVersion: (collection) => call('collectionVersion', collection),
    // An AbortSignal cannot cross to the worker: an aborted search is not sent, and one in
    // flight is abandoned (its result dropped) rather than cancelled inside PGlite.
    search: (query, options = {}) => {
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
      return abandonable(options.signal, call('search', query));
    },
    explainSearch: (query) => call('explainSearch', query),
    stats: () => call('stats'),
    chunkIndexes: () => call('chunkIndexes'),
    analyze: () => call('analyze'),
    deferIndexes: () => call('deferIndexes'),
    restoreIndexes: () => call('restoreIndexes'),
    close() {
      closing ??= (async () => {
        try {
          if (failure === undefined) await call('close');
        } finally {
          await worker.terminate();
          if (lockPath !== undefined) await releaseLock(lockPath);
        }
      })();
      return closing;
    },
  };
}

function deserialize(error: SerializedError): Error {
  return new StreamragError((error.code ?? 'database_error') as ErrorCode, error.message);
}

/** Lock files this process holds (absolute paths). */
const locksHeld = new Set<string>();

async function releaseLock(lockPath: string): Promise<void> {
  locksHeld.delete(lockPath);
  await rm(lockPath, { force: true });
}

async function acquireLock(dataDir: string): Promise<string> {
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw new StreamragError(
      'invalid_config',
      `DATA_DIR ${resolve(dataDir)} cannot be used as a directory: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const lockPath = join(resolve(dataDir), 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      locksHeld.add(lockPath);
      return lockPath;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      // Our own pid in a lock we do not hold was left by an earlier life of this pid (a
      // container's node often runs as pid 1 after every restart).
      const ownedHere = owner === process.pid && locksHeld.has(lockPath);
      if (
        Number.isInteger(owner) &&
        owner > 0 &&
        (owner === process.pid ? ownedHere : isRunning(owner))
      ) {
        throw new StreamragError(
          'database_locked',
          `The embedded database in ${resolve(dataDir)} is in use by process ${owner}` +
            (owner === process.pid ? ' (this process)' : '') +
            '. PGlite allows one process at a time: stop the other process (a running server or ' +
            'ingest), or set DATABASE_URL to share a PostgreSQL server between processes.',
        );
      }
      // Left behind by a process that no longer runs.
      await rm(lockPath, { force: true });
    }
  }
  throw new StreamragError('database_locked', `Could not lock ${lockPath}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import postgres from 'postgres';
import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { checkSchema } from './migrate.ts';
import { postgresExecutor } from './postgres-store.ts';
import type { SqlExecutor } from './sql-executor.ts';
import { createSqlStore, type SettingsScope, sessionSettings } from './sql-store.ts';
import type { Store, StoreOptions, StoresPerRequest } from './store.ts';

/**
 * PostgreSQL for Cloudflare Workers behind Hyperdrive: a postgres.js client per request, as
 * Cloudflare recommends. Hyperdrive keeps the real connections pooled next to the database,
 * and a socket one request opened cannot be used by another ("Cannot perform I/O on behalf of
 * a different request"), so nothing is shared between requests but what is learnt below.
 *
 * Nothing here migrates (migrations and index builds run from Node). The first request of an
 * isolate checks, once, that the schema is current and bound to the same embedder, and whether
 * every connection already has the search settings (`ALTER ROLE … SET`, see the README): if
 * not, each search applies them with `SET LOCAL` in its own transaction, because Hyperdrive
 * pools in transaction mode and ignores startup parameters.
 *
 * @example
 * const stores = postgresRequestStores({ url: env.HYPERDRIVE.connectionString, identity, options });
 * const { store, close } = stores.perRequest(); … ctx.waitUntil(close());
 */
export function postgresRequestStores(settings: {
  url: string;
  identity: EmbedderIdentity;
  options: StoreOptions;
}): StoresPerRequest {
  // The result is shared, never the promise: a promise settled by one request's I/O cannot
  // wake another request (workerd: "Cannot perform I/O on behalf of a different request"), so
  // requests that arrive before the first check ends run their own.
  let known: SettingsScope | undefined;
  const settingsScope = async (executor: SqlExecutor): Promise<SettingsScope> => {
    known ??= await inspectDatabase(executor, settings.identity, settings.options);
    return known;
  };

  return {
    engine: 'postgres',
    perRequest() {
      const sql = postgres(settings.url, {
        // An answer runs one query at a time; a second connection lets a request overlap two
        // (Workers allow six open connections per request).
        max: 2,
        // Types are known (text, numbers, json): no pg_type lookup on every new connection.
        fetch_types: false,
        onnotice: () => {},
      });
      const executor = postgresExecutor(sql, () => {
        throw new StreamragError(
          'unsupported_runtime',
          'Bulk loads and migrations run from Node (`npm run ingest`, `npm run migrate`), not on Workers',
        );
      });
      let opened: Promise<Store> | undefined;
      const open = () => {
        opened ??= settingsScope(executor).then((scope) =>
          createSqlStore(executor, {
            engine: 'postgres',
            identity: settings.identity,
            options: settings.options,
            settingsScope: scope,
            close: async () => {},
          }),
        );
        return opened;
      };
      return {
        store: deferredStore(settings.identity, open),
        close: () => sql.end({ timeout: 5 }),
      };
    },
  };
}

/**
 * Checks the schema and the embedder, and says where searches get their settings: `session`
 * when every connection already has them (role defaults), `transaction` when each search must
 * set them itself.
 */
export async function inspectDatabase(
  executor: SqlExecutor,
  identity: EmbedderIdentity,
  options: StoreOptions,
): Promise<SettingsScope> {
  await checkSchema(executor, identity);
  const wanted = Object.entries(sessionSettings(options));
  // Names are checked constants (sessionSettings): written into the statement, a column each.
  const columns = wanted.map(([name], index) => `current_setting('${name}', true) AS s${index}`);
  const [row] = await executor.query<Record<string, string | null>>(`SELECT ${columns.join(', ')}`);
  return wanted.every(([, value], index) => row?.[`s${index}`] === value)
    ? 'session'
    : 'transaction';
}

type Deferred<Name extends keyof Store> = Store[Name];

/**
 * A store whose every call first waits for `open` (which runs once). It has nothing to close
 * of its own: the request's client is closed by the scope that made it.
 */
function deferredStore(identity: EmbedderIdentity, open: () => Promise<Store>): Store {
  const call = <Name extends Exclude<keyof Store, 'engine' | 'identity' | 'close'>>(
    name: Name,
  ): Deferred<Name> =>
    (async (...args: unknown[]) =>
      ((await open())[name] as (...parameters: unknown[]) => unknown)(...args)) as Deferred<Name>;
  return {
    engine: 'postgres',
    identity,
    findDocument: call('findDocument'),
    documentHashes: call('documentHashes'),
    getDocument: call('getDocument'),
    writeDocument: call('writeDocument'),
    deleteDocument: call('deleteDocument'),
    collectionVersion: call('collectionVersion'),
    search: call('search'),
    explainSearch: call('explainSearch'),
    stats: call('stats'),
    chunkIndexes: call('chunkIndexes'),
    analyze: call('analyze'),
    deferIndexes: call('deferIndexes'),
    restoreIndexes: call('restoreIndexes'),
    close: async () => {},
  } satisfies Store;
}

/**
 * Makes the search settings this role's defaults in this database (`ALTER ROLE … IN DATABASE
 * … SET`), so every connection a pooler opens has them and Workers search without a
 * transaction around each query. An ordinary role may set its own defaults.
 *
 * @example
 * await setRoleSearchSettings(process.env.DATABASE_URL, storeOptions(config));
 */
export async function setRoleSearchSettings(url: string, options: StoreOptions): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Loads pgvector into the session, so its hnsw.* settings are checked, not placeholders.
    await sql`SELECT '[1]'::vector`;
    const [row] = await sql<
      { database: string }[]
    >`SELECT quote_ident(current_database()) AS database`;
    for (const [name, value] of Object.entries(sessionSettings(options))) {
      // Checked names and values (sessionSettings); ALTER ROLE takes no parameters.
      await sql.unsafe(
        `ALTER ROLE CURRENT_USER IN DATABASE ${row?.database} SET ${name} = '${value}'`,
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

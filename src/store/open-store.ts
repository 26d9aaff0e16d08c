import { readdir, readFile } from 'node:fs/promises';
import type { Config } from '../core/config.ts';
import { refuseOnWorkers } from '../core/runtime.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import { type Migration, schemaVersion } from './migrate.ts';
import { openPostgresStore } from './postgres-store.ts';
import { type Store, type StoreOptions, storeOptions } from './store.ts';

const migrationsDirectory = new URL('../../sql/', import.meta.url);

/** Reads `sql/NNN_name.sql` files, in version order. */
export async function readMigrations(directory: URL = migrationsDirectory): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of (await readdir(directory)).sort()) {
    const match = /^(\d+)_(.+)\.sql$/.exec(file);
    if (match === null) continue;
    const sql = await readFile(new URL(file, directory), 'utf8');
    migrations.push({ version: Number(match[1]), name: match[2] as string, sql });
  }
  const newest = migrations.at(-1)?.version;
  if (directory === migrationsDirectory && newest !== schemaVersion) {
    throw new Error(
      `sql/ ends at version ${newest}, but migrate.ts's schemaVersion is ${schemaVersion}`,
    );
  }
  return migrations;
}

/**
 * Opens the configured store (PostgreSQL when DATABASE_URL is set, else embedded PGlite),
 * applying pending migrations and checking the embedder against the database's.
 */
export async function openStore(
  config: Config,
  identity: EmbedderIdentity,
  overrides: Partial<StoreOptions> = {},
): Promise<Store> {
  refuseOnWorkers(
    'Opening a database with migrations (and the embedded PGlite database)',
    'on Workers the app reaches PostgreSQL through the Hyperdrive binding (src/entry/worker.ts); run `npm run migrate` from Node once',
  );
  const migrations = await readMigrations();
  const options: StoreOptions = { ...storeOptions(config), ...overrides };
  if (config.databaseUrl !== undefined) {
    return openPostgresStore({
      url: config.databaseUrl,
      poolMax: config.pgPoolMax,
      identity,
      migrations,
      options,
    });
  }
  // Loaded only when used: PostgreSQL deployments never load PGlite's WebAssembly.
  const { openPgliteStore } = await import('./pglite-store.ts');
  return openPgliteStore({ dataDir: config.dataDir, identity, migrations, options });
}

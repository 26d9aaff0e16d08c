/**
 * npm run migrate [-- --role-settings]
 *
 * Brings the database at DATABASE_URL (or the embedded one) to this build's schema, binds it to
 * the configured embedder, and rebuilds indexes an interrupted bulk load left out. Workers never
 * migrate: run this from Node before deploying a build with a new migration.
 */
import { parseArgs } from 'node:util';
import { openNodeDependencies } from '../src/entry/node-dependencies.ts';
import { schemaVersion } from '../src/store/migrate.ts';
import { setRoleSearchSettings } from '../src/store/postgres-request-stores.ts';
import { storeOptions } from '../src/store/store.ts';
import { runCli, UsageError } from './lib/run-cli.ts';

const usage = `usage: npm run migrate [-- --role-settings]

  --role-settings   also make the search settings (hnsw.ef_search, hnsw.iterative_scan,
                    plan_cache_mode) this role's defaults in this database, so that
                    connections through a transaction-mode pooler such as Cloudflare
                    Hyperdrive have them without a SET per query (PostgreSQL only)`;

await runCli(usage, async () => {
  const { values } = parseArgs({
    options: { 'role-settings': { type: 'boolean', default: false } },
  });
  const { config, store } = await openNodeDependencies();
  try {
    const stats = await store.stats();
    console.log(
      `schema version ${schemaVersion} on ${store.engine}; embedder ${store.identity.name} ` +
        `(${store.identity.dimensions} dimensions); ${stats.documents} documents, ${stats.chunks} chunks`,
    );
  } finally {
    await store.close();
  }
  if (values['role-settings']) {
    if (config.databaseUrl === undefined) {
      throw new UsageError('--role-settings needs DATABASE_URL (a PostgreSQL server)');
    }
    await setRoleSearchSettings(config.databaseUrl, storeOptions(config));
    console.log(
      `search settings are now this role's defaults (hnsw.ef_search=${config.hnswEfSearch})`,
    );
  }
  return 0;
});

import { StreamragError } from '../core/errors.ts';
import type { EmbedderIdentity } from '../core/types.ts';
import type { SqlExecutor } from './sql-executor.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The version of the newest file in `sql/`. Runtimes that cannot read `sql/` (Workers) check a
 * database against it instead of migrating; `readMigrations` fails if the two disagree.
 */
export const schemaVersion = 2;

/** pgvector's HNSW index covers `vector` columns of at most 2,000 dimensions. */
export const maxIndexedDimensions = 2000;

// An arbitrary constant: concurrent starts against one PostgreSQL serialise on it.
const migrationLockKey = 7_372_711;

/**
 * Applies the pending migrations in one transaction (recorded in `streamrag_migrations`) and
 * returns the embedder identity the database is bound to. A new database is bound to
 * `identity`; an existing one bound to another embedder is refused before anything changes.
 *
 * @example
 * const bound = await migrate(executor, migrations, { name: 'local-hash-v1', dimensions: 384 });
 */
export async function migrate(
  executor: SqlExecutor,
  migrations: readonly Migration[],
  identity: EmbedderIdentity,
): Promise<EmbedderIdentity> {
  return executor.transaction(async (transaction) => {
    await transaction.query('SELECT pg_advisory_xact_lock($1::bigint)', [migrationLockKey]);
    // No DDL unless something is pending: an application role may lack CREATE on the schema.
    const [registry] = await transaction.query<{ present: boolean }>(
      `SELECT to_regclass('streamrag_migrations') IS NOT NULL AS present`,
    );
    if (!registry?.present) {
      await transaction.script(
        `CREATE TABLE streamrag_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    }
    const applied = new Set(
      (
        await transaction.query<{ version: number }>('SELECT version FROM streamrag_migrations')
      ).map((row) => row.version),
    );
    const bound = await readBoundIdentity(transaction);
    if (bound !== undefined) assertSameEmbedder(bound, identity);
    const target = bound ?? identity;
    if (!Number.isInteger(target.dimensions) || target.dimensions < 1) {
      throw new StreamragError(
        'invalid_config',
        `Invalid embedding dimension ${target.dimensions}`,
      );
    }
    if (target.dimensions > maxIndexedDimensions) {
      throw new StreamragError(
        'invalid_config',
        `The embedder "${target.name}" returns ${target.dimensions} dimensions; the HNSW index supports at most ${maxIndexedDimensions}. Set EMBEDDING_DIMENSIONS (e.g. 1536) if the model can shorten its vectors, or choose another model.`,
      );
    }
    const pending = [...migrations]
      .sort((left, right) => left.version - right.version)
      .filter((migration) => !applied.has(migration.version));
    for (const migration of pending) {
      await transaction.script(
        migration.sql.replaceAll('{{dimensions}}', String(target.dimensions)),
      );
      await transaction.query('INSERT INTO streamrag_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    if (bound === undefined) {
      await transaction.query(
        `INSERT INTO streamrag_settings (key, value)
         VALUES ('embedder_name', $1), ('embedder_dimensions', $2)`,
        [identity.name, String(identity.dimensions)],
      );
    }
    return target;
  });
}

/**
 * For runtimes that serve but never migrate (Workers, where a request must not run DDL or build
 * indexes): checks that the database has every migration and is bound to `identity`, and
 * returns what it is bound to. The failures say which command fixes them.
 *
 * @example
 * await checkSchema(executor, { name: 'openai:text-embedding-3-small', dimensions: 1536 });
 */
export async function checkSchema(
  executor: SqlExecutor,
  identity: EmbedderIdentity,
): Promise<EmbedderIdentity> {
  const [registry] = await executor.query<{ present: boolean }>(
    `SELECT to_regclass('streamrag_migrations') IS NOT NULL AS present`,
  );
  let version = 0;
  if (registry?.present) {
    const [newest] = await executor.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM streamrag_migrations',
    );
    version = newest?.version ?? 0;
  }
  if (version < schemaVersion) {
    throw new StreamragError(
      'schema_outdated',
      `The database is at schema version ${version}; this build needs ${schemaVersion}. ` +
        'Migrations run from Node, not from Workers: run `DATABASE_URL=<direct connection> ' +
        'npm run migrate` once, with the same embedder settings as the Worker.',
    );
  }
  if (version > schemaVersion) {
    // Migrations come before the deploy that needs them, so a running build meets them first;
    // they only add (as Node's migrate() assumes too).
    console.warn(
      `The database is at schema version ${version}, newer than this build's ${schemaVersion}: deploy the newer build.`,
    );
  }
  const bound = await readBoundIdentity(executor);
  if (bound === undefined) {
    throw new StreamragError(
      'schema_outdated',
      'The database has no embedder recorded: run `npm run migrate` once from Node, with the Worker’s embedder settings',
    );
  }
  assertSameEmbedder(bound, identity);
  return bound;
}

async function readBoundIdentity(executor: SqlExecutor): Promise<EmbedderIdentity | undefined> {
  const [exists] = await executor.query<{ present: boolean }>(
    `SELECT to_regclass('streamrag_settings') IS NOT NULL AS present`,
  );
  if (!exists?.present) return undefined;
  const rows = await executor.query<{ key: string; value: string }>(
    `SELECT key, value FROM streamrag_settings WHERE key IN ('embedder_name', 'embedder_dimensions')`,
  );
  const settings = new Map(rows.map((row) => [row.key, row.value]));
  const name = settings.get('embedder_name');
  const dimensions = settings.get('embedder_dimensions');
  if (name === undefined || dimensions === undefined) return undefined;
  return { name, dimensions: Number(dimensions) };
}

function assertSameEmbedder(bound: EmbedderIdentity, current: EmbedderIdentity): void {
  if (bound.name === current.name && bound.dimensions === current.dimensions) return;
  throw new StreamragError(
    'embedder_mismatch',
    `This database was created with the embedder "${bound.name}" (${bound.dimensions} dimensions), ` +
      `but the configured embedder is "${current.name}" (${current.dimensions} dimensions). ` +
      'Vectors from different embedders cannot be compared. Either configure the original embedder ' +
      '(EMBEDDING_MODEL / EMBEDDING_DIMENSIONS), or use a new database (another DATA_DIR or ' +
      'DATABASE_URL) and ingest your documents again.',
  );
}

import type { PGliteInterface, Transaction } from '@electric-sql/pglite';
import type { SqlExecutor } from './sql-executor.ts';

export function pgliteExecutor(database: PGliteInterface | Transaction): SqlExecutor {
  return {
    async query<Row>(text: string, parameters: readonly unknown[] = []) {
      const result = await database.query<Row>(text, parameters as unknown[]);
      return result.rows;
    },
    async script(text) {
      await database.exec(text);
    },
    async transaction(work) {
      if (!('transaction' in database)) throw new Error('Nested transactions are not supported');
      return database.transaction((transaction) => work(pgliteExecutor(transaction)));
    },
    // PGlite has one session, guarded across processes by the data directory's lock file.
    async tryAdvisoryLock(key) {
      const result = await database.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::bigint) AS locked',
        [key],
      );
      if (result.rows[0]?.locked !== true) return undefined;
      return {
        async release() {
          await database.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
        },
      };
    },
  };
}

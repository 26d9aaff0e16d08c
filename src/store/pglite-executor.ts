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
  };
}

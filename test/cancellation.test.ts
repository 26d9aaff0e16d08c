import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { openStore } from '../src/store/open-store.ts';
import { postgresExecutor } from '../src/store/postgres-store.ts';
import { testEngines } from './support/databases.ts';

const postgresEngine = testEngines.find((engine) => engine.name === 'postgres');

describe.skipIf(postgresEngine === undefined)('abandoning database work on PostgreSQL', () => {
  afterAll(() => postgresEngine?.cleanup());

  it('rejects at once when the signal aborts, without cancelling the next query on the connection', async () => {
    const config = await postgresEngine?.createDatabase();
    // One connection: a CancelRequest (which targets a connection) would hit whatever runs next.
    const sql = postgres(config?.databaseUrl ?? '', { max: 1, onnotice: () => {} });
    try {
      const executor = postgresExecutor(sql);
      for (let trial = 0; trial < 10; trial++) {
        const controller = new AbortController();
        const abandoned = executor.query('SELECT pg_sleep(0.05) AS slept', [], {
          signal: controller.signal,
        });
        const next = executor.query<{ value: number }>('SELECT $1::int AS value', [trial]);
        controller.abort(new Error('client went away'));
        await expect(abandoned).rejects.toThrow('client went away');
        await expect(next).resolves.toEqual([{ value: trial }]);
      }
      await expect(
        executor.query('SELECT 1', [], { signal: AbortSignal.abort(new Error('gone')) }),
      ).rejects.toThrow('gone');
    } finally {
      await sql.end();
    }
  });
});

describe.each(testEngines)('search with an aborted signal on $name', (engine) => {
  afterAll(() => engine.cleanup());

  it('does not run, and rejects with the abort reason', async () => {
    const embeddings = new LocalHashEmbeddings();
    const store = await openStore(await engine.createDatabase(), embeddings.identity);
    try {
      const controller = new AbortController();
      controller.abort(new Error('client went away'));
      await expect(
        store.search({ text: 'bees', mode: 'text', k: 3 }, { signal: controller.signal }),
      ).rejects.toThrow('client went away');
    } finally {
      await store.close();
    }
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { openStore } from '../src/store/open-store.ts';
import { postgresExecutor } from '../src/store/postgres-store.ts';
import { testEngines } from './support/databases.ts';

const postgresEngine = testEngines.find((engine) => engine.name === 'postgres');

/** Polls `condition` every 50 ms until it holds; fails after `limitMs` (not a timing claim). */
async function eventually(condition: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(50);
  }
}

describe.skipIf(postgresEngine === undefined)('cancelling database work on PostgreSQL', () => {
  afterAll(() => postgresEngine?.cleanup());

  it('cancels a running statement on the server when its signal aborts', async () => {
    const config = await postgresEngine?.createDatabase();
    const sql = postgres(config?.databaseUrl ?? '', { max: 2, onnotice: () => {} });
    const observer = postgres(config?.databaseUrl ?? '', { max: 1, onnotice: () => {} });
    try {
      const executor = postgresExecutor(sql);
      const controller = new AbortController();
      const running = executor.query('SELECT pg_sleep(30) AS slept', [], {
        signal: controller.signal,
      });
      const sleeping = async () =>
        (
          await observer`SELECT count(*)::int AS n FROM pg_stat_activity
                         WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'`
        )[0]?.n === 1;
      await eventually(sleeping);
      controller.abort();
      await expect(running).rejects.toThrow(/cancel/i);
      await eventually(async () => !(await sleeping()));
    } finally {
      await Promise.all([sql.end(), observer.end()]);
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

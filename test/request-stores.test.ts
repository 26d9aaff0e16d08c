/**
 * The Workers path's database access, run under Node against a real PostgreSQL: a store per
 * request with no migrations, the schema and embedder checked instead, and the search settings
 * applied per transaction unless the role already has them (`npm run migrate -- --role-settings`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/core/config.ts';
import { createEmbedder } from '../src/embeddings/create-embedder.ts';
import worker from '../src/entry/worker.ts';
import { openStore } from '../src/store/open-store.ts';
import { inspectDatabase, postgresRequestStores } from '../src/store/postgres-request-stores.ts';
import { postgresExecutor } from '../src/store/postgres-store.ts';
import type { StoreOptions } from '../src/store/store.ts';
import { testEngines } from './support/databases.ts';
import { ingestCorpus } from './support/test-server.ts';

const run = promisify(execFile);
const engine = testEngines.find((candidate) => candidate.name === 'postgres');
const options: StoreOptions = { efSearch: 100, insertBatchRows: 500, indexBuildMemory: '64MB' };

async function inspect(
  url: string,
  identity: Awaited<ReturnType<typeof createEmbedder>>['identity'],
) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await inspectDatabase(postgresExecutor(sql), identity, options);
  } finally {
    await sql.end();
  }
}

describe.skipIf(engine === undefined)('PostgreSQL stores per request (the Workers path)', () => {
  afterAll(() => engine?.cleanup());

  it('searches like the Node store, setting the search settings per transaction', async () => {
    const config = (await engine?.createDatabase()) as Config;
    await ingestCorpus(config);
    const url = config.databaseUrl as string;
    const { identity, embeddings } = await createEmbedder(config);
    expect(await inspect(url, identity)).toBe('transaction');

    const query = {
      text: 'how do bees find flowers',
      mode: 'hybrid' as const,
      k: 3,
      embedding: await embeddings.embedQuery('how do bees find flowers'),
    };
    const node = await openStore(config, identity);
    const expected = await node.search(query).finally(() => node.close());
    const stores = postgresRequestStores({ url, identity, options });
    for (let request = 0; request < 2; request += 1) {
      const { store, close } = stores.perRequest();
      try {
        expect(await store.search(query)).toEqual(expected);
        expect(await store.search({ ...query, mode: 'vector' })).toHaveLength(3);
      } finally {
        await close();
      }
    }
    expect(expected[0]?.title).toBe('Honeybees');

    // The settings really go out with each search: a value PostgreSQL refuses shows up (once
    // pgvector is loaded in the session; before that hnsw.* are unchecked placeholders).
    const refused = postgresRequestStores({ url, identity, options: { ...options, efSearch: 0 } });
    const { store, close } = refused.perRequest();
    await store.search(query).catch(() => {});
    await expect(store.search(query)).rejects.toThrow(/hnsw\.ef_search/);
    await close();
  });

  it('finds the settings on the role after `npm run migrate -- --role-settings`', async () => {
    const config = (await engine?.createDatabase()) as Config;
    const url = config.databaseUrl as string;
    const { stdout } = await run(process.execPath, ['scripts/migrate.ts', '--role-settings'], {
      env: { ...process.env, DATABASE_URL: url },
    });
    expect(stdout).toMatch(/schema version 2 on postgres; embedder local-hash-v1/);
    expect(stdout).toMatch(/search settings are now this role's defaults/);
    await ingestCorpus(config);
    const { identity, embeddings } = await createEmbedder(config);
    expect(await inspect(url, identity)).toBe('session');

    const { store, close } = postgresRequestStores({ url, identity, options }).perRequest();
    try {
      const embedding = await embeddings.embedQuery('bees and flowers');
      const hits = await store.search({
        text: 'bees and flowers',
        mode: 'vector',
        k: 2,
        embedding,
      });
      expect(hits.map((hit) => hit.title)).toContain('Honeybees');
    } finally {
      await close();
    }
    // Role defaults are per database: other databases keep their own.
    const other = (await engine?.createDatabase()) as Config;
    await ingestCorpus(other);
    expect(await inspect(other.databaseUrl as string, identity)).toBe('transaction');
  });

  it('refuses an unmigrated database and another embedder, saying what to do', async () => {
    const empty = (await engine?.createDatabase()) as Config;
    const { identity } = await createEmbedder(empty);
    const unmigrated = postgresRequestStores({
      url: empty.databaseUrl as string,
      identity,
      options,
    }).perRequest();
    await expect(unmigrated.store.collectionVersion(undefined)).rejects.toThrow(
      /schema version 0; this build needs 2\. Migrations run from Node, not from Workers: run `DATABASE_URL=<direct connection> npm run migrate`/,
    );
    await unmigrated.close();

    const migrated = (await engine?.createDatabase()) as Config;
    await ingestCorpus(migrated);
    const other = postgresRequestStores({
      url: migrated.databaseUrl as string,
      identity: { name: 'openai:text-embedding-3-small', dimensions: 384 },
      options,
    }).perRequest();
    await expect(other.store.search({ text: 'bees', mode: 'text', k: 1 })).rejects.toMatchObject({
      code: 'embedder_mismatch',
    });
    await other.close();
  });
});

const waited: Promise<unknown>[] = [];
const context = {
  waitUntil: (work: Promise<unknown>) => waited.push(work),
  passThroughOnException() {},
  props: {},
};

describe.skipIf(engine === undefined)('the Worker entry on an unmigrated database', () => {
  afterAll(() => engine?.cleanup());

  it('says so on /readyz, and answers without leaking the detail', async () => {
    const empty = (await engine?.createDatabase()) as Config;
    const env = { HYPERDRIVE: { connectionString: empty.databaseUrl as string } };
    const ready = await worker.fetch(new Request('http://worker.test/readyz'), env, context);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      error: { code: 'schema_outdated', message: expect.stringMatching(/npm run migrate/) },
    });

    const search = await worker.fetch(
      new Request('http://worker.test/v1/search?q=bees'),
      env,
      context,
    );
    expect(search.status).toBe(503);
    expect(await search.json()).toMatchObject({
      error: {
        code: 'schema_outdated',
        message: expect.stringMatching(/^The database is not set up/),
      },
    });

    const answer = await worker.fetch(
      new Request('http://worker.test/v1/answer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question: 'bees?' }),
      }),
      env,
      context,
    );
    const text = await answer.text();
    // Every request's client was closed (an unsettled close would time the test out).
    await Promise.all(waited);
    expect(waited).toHaveLength(3);
    expect(text).toMatch(
      /event: error\ndata: \{"code":"retrieval_failed","message":"The database is not set up/,
    );
  });
});

describe('the Worker entry misconfigured', () => {
  it('asks for EMBEDDING_DIMENSIONS instead of probing the model in every isolate', async () => {
    const env = {
      HYPERDRIVE: { connectionString: 'postgres://unused:unused@127.0.0.1:9/unused' },
      EMBEDDING_MODEL: 'text-embedding-3-small',
    };
    const response = await worker.fetch(new Request('http://worker.test/readyz'), env, context);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      error: {
        code: 'invalid_config',
        message: expect.stringMatching(/^Set EMBEDDING_DIMENSIONS/),
      },
    });
  });

  it('answers 503 with what to configure', async () => {
    const response = await worker.fetch(new Request('http://worker.test/healthz'), {}, context);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      error: {
        message: expect.stringMatching(
          /^No database: on Workers, bind PostgreSQL through Hyperdrive as HYPERDRIVE in wrangler\.toml/,
        ),
        type: 'server_error',
        param: null,
        code: 'invalid_config',
      },
    });
  });
});

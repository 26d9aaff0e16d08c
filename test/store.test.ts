import pgvector from 'pgvector';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/core/config.ts';
import type { ChunkInput, DocumentInput, EmbedderIdentity } from '../src/core/types.ts';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { type IngestEvent, type IngestInput, ingest } from '../src/ingest/pipeline.ts';
import { openStore } from '../src/store/open-store.ts';
import { vectorSearchSql } from '../src/store/search-sql.ts';
import { sessionSettings } from '../src/store/sql-store.ts';
import type { Store, StoreOptions } from '../src/store/store.ts';
import { testEngines } from './support/databases.ts';

const embeddings = new LocalHashEmbeddings({ dimensions: 384 });

async function chunksFor(texts: string[]): Promise<ChunkInput[]> {
  const vectors = await embeddings.embedDocuments(texts);
  return texts.map((content, index) => ({ content, embedding: vectors[index] as number[] }));
}

function documentInput(source: string, contentHash: string, extra: Partial<DocumentInput> = {}) {
  return { collection: 'default', source, title: source, metadata: {}, contentHash, ...extra };
}

describe.each(testEngines)('store on $name', (engine) => {
  const open: Store[] = [];
  async function openFresh(
    options: Partial<StoreOptions> = {},
    identity: EmbedderIdentity = embeddings.identity,
  ): Promise<{ store: Store; config: Config }> {
    const config = await engine.createDatabase();
    const store = await openStore(config, identity, options);
    open.push(store);
    return { store, config };
  }

  afterAll(async () => {
    await Promise.all(open.map((store) => store.close()));
    await engine.cleanup();
  });

  it('applies migrations once and reopens an existing database unchanged', async () => {
    const { store, config } = await openFresh();
    await store.writeDocument(documentInput('a.md', 'h1'), await chunksFor(['first passage']));
    await store.close();
    const reopened = await openStore(config, embeddings.identity);
    open.push(reopened);
    expect(await reopened.stats()).toEqual({ documents: 1, chunks: 1 });
    await reopened.close();
    const third = await openStore(config, embeddings.identity);
    open.push(third);
    expect((await third.findDocument('default', 'a.md'))?.chunkCount).toBe(1);
  });

  it('refuses an embedder of another dimension or name, saying what to do', async () => {
    const { store, config } = await openFresh();
    await store.close();
    const otherDimension = openStore(config, { name: 'local-hash-v1', dimensions: 256 });
    await expect(otherDimension).rejects.toMatchObject({ code: 'embedder_mismatch' });
    await expect(otherDimension).rejects.toThrow(/384 dimensions.*256 dimensions.*new database/s);
    const otherName = openStore(config, { name: 'openai:text-embedding-3-small', dimensions: 384 });
    await expect(otherName).rejects.toThrow(/openai:text-embedding-3-small/);
    // The refused attempts changed nothing: the original embedder still opens it.
    const reopened = await openStore(config, embeddings.identity);
    open.push(reopened);
    expect(reopened.identity).toEqual(embeddings.identity);
  });

  it('ingests documents and finds the passage that answers a question, in every mode', async () => {
    const { store } = await openFresh();
    const inputs: IngestInput[] = [
      {
        kind: 'document',
        path: 'lighthouse.md',
        document: {
          source: 'lighthouse.md',
          title: 'Lighthouses',
          format: 'markdown',
          text: '# Keepers\n\nThe last keeper, Agnes Holm, retired in 1987 when the lamp was automated.\n\n# Lamp\n\nThe Fresnel lens flashes white every twelve seconds.',
        },
      },
      {
        kind: 'document',
        path: 'bread.md',
        document: {
          source: 'bread.md',
          title: 'Bread',
          format: 'markdown',
          text: '# Starter\n\nFeed the sourdough starter flour and water every day.',
        },
      },
    ];
    const summary = await ingest(inputs, { store, embeddings }, ingestOptions({ chunkSize: 100 }));
    expect(summary).toMatchObject({ added: 2, failed: 0 });
    const question = 'When did the last lighthouse keeper retire?';
    for (const mode of ['vector', 'text', 'hybrid'] as const) {
      const hits = await store.search({
        text: question,
        embedding: await embeddings.embedQuery(question),
        mode,
        k: 3,
      });
      expect(hits[0]?.content, mode).toContain('Agnes Holm');
      expect(hits[0]).toMatchObject({ source: 'lighthouse.md', title: 'Lighthouses', ordinal: 0 });
    }
  });

  it('skips an unchanged document without writing, and replaces the chunks of a changed one', async () => {
    const { store } = await openFresh();
    const version = (text: string): IngestInput[] => [
      {
        kind: 'document',
        path: 'notes.md',
        document: { source: 'notes.md', title: 'Notes', format: 'markdown', text },
      },
    ];
    const first = await ingest(
      version('alpha one\n\nalpha two'),
      { store, embeddings },
      ingestOptions(),
    );
    expect(first).toMatchObject({ added: 1, updated: 0, unchanged: 0, chunks: 1 });
    const before = await store.findDocument('default', 'notes.md');

    const again = await ingest(
      version('alpha one\n\nalpha two'),
      { store, embeddings },
      ingestOptions(),
    );
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 1, chunks: 0 });
    expect(await store.findDocument('default', 'notes.md')).toEqual(before);

    const changed = await ingest(version('beta three'), { store, embeddings }, ingestOptions());
    expect(changed).toMatchObject({ added: 0, updated: 1, unchanged: 0, chunks: 1 });
    const hits = await store.search({ text: 'alpha beta', mode: 'text', k: 10 });
    expect(hits.map((hit) => hit.content)).toEqual(['beta three']);
    expect((await store.findDocument('default', 'notes.md'))?.id).toBe(before?.id);
    expect(await store.stats()).toEqual({ documents: 1, chunks: 1 });
  });

  it('never shows a concurrent reader both versions of a replaced document, or neither', async () => {
    const { store } = await openFresh();
    const versions = [
      {
        hash: 'v1',
        texts: Array.from({ length: 12 }, (_, index) => `marker alpha passage ${index}`),
      },
      {
        hash: 'v2',
        texts: Array.from({ length: 7 }, (_, index) => `marker beta passage ${index}`),
      },
    ];
    const prepared = await Promise.all(versions.map((version) => chunksFor(version.texts)));
    await store.writeDocument(documentInput('swap.md', 'v1'), prepared[0] as ChunkInput[]);

    let writing = true;
    const observed = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const hits = await store.search({ text: 'marker', mode: 'text', k: 50 });
        const alpha = hits.filter((hit) => hit.content.includes('alpha')).length;
        const beta = hits.filter((hit) => hit.content.includes('beta')).length;
        observed.add(`${alpha}/${beta}`);
      }
    })();
    for (let round = 1; round <= 20; round++) {
      const index = round % 2;
      const version = versions[index] as (typeof versions)[number];
      await store.writeDocument(
        documentInput('swap.md', version.hash),
        prepared[index] as ChunkInput[],
      );
    }
    writing = false;
    await reader;
    expect([...observed].every((seen) => seen === '12/0' || seen === '0/7')).toBe(true);
  });

  it('keeps the old chunks when a replacement fails halfway through its transaction', async () => {
    const { store } = await openFresh();
    const original = await chunksFor(['original first', 'original second']);
    await store.writeDocument(documentInput('fragile.md', 'v1'), original);
    // PostgreSQL text cannot hold NUL: the second chunk's INSERT fails after the DELETE ran.
    const broken = await chunksFor(['replacement first', 'replacement \u0000 second']);
    await expect(store.writeDocument(documentInput('fragile.md', 'v2'), broken)).rejects.toThrow();
    expect((await store.findDocument('default', 'fragile.md'))?.contentHash).toBe('v1');
    const hits = await store.search({ text: 'original replacement', mode: 'text', k: 10 });
    expect(hits.map((hit) => hit.content).sort()).toEqual(['original first', 'original second']);
  });

  it('answers a question of stop words only without NaN scores', async () => {
    const { store } = await openFresh();
    await store.writeDocument(documentInput('a.md', 'a'), await chunksFor(['what it is', 'tides']));
    const question = 'what is it?';
    const embedding = await embeddings.embedQuery(question);
    expect(embedding.every((value) => value === 0)).toBe(true);
    expect(await store.search({ text: question, embedding, mode: 'vector', k: 5 })).toEqual([]);
    const hybrid = await store.search({ text: question, embedding, mode: 'hybrid', k: 5 });
    expect(hybrid.every((hit) => Number.isFinite(hit.score))).toBe(true);
  });

  it('deletes a document together with its chunks', async () => {
    const { store } = await openFresh();
    const kept = await store.writeDocument(
      documentInput('keep.md', 'k'),
      await chunksFor(['keep this']),
    );
    const gone = await store.writeDocument(
      documentInput('gone.md', 'g'),
      await chunksFor(['remove this', 'and this']),
    );
    expect(await store.stats()).toEqual({ documents: 2, chunks: 3 });
    expect(await store.deleteDocument(gone.id)).toBe(true);
    expect(await store.deleteDocument(gone.id)).toBe(false);
    expect(await store.deleteDocument('not-a-number')).toBe(false);
    expect(await store.getDocument(gone.id)).toBeUndefined();
    expect(await store.getDocument(kept.id)).toMatchObject({ source: 'keep.md', chunkCount: 1 });
    expect(await store.stats()).toEqual({ documents: 1, chunks: 1 });
    const hits = await store.search({ text: 'remove this', mode: 'text', k: 5 });
    expect(hits).toEqual([]);
  });

  it('changes a collection version on every write and delete, and differs between databases', async () => {
    const { store } = await openFresh();
    const { store: twin } = await openFresh();
    const versions = [await store.collectionVersion('default')];
    const written = await store.writeDocument(
      documentInput('v.md', 'v1'),
      await chunksFor(['one']),
    );
    versions.push(await store.collectionVersion('default'));
    // Unchanged content writes nothing, so the version stays.
    await store.writeDocument(documentInput('v.md', 'v1'), await chunksFor(['one']));
    expect(await store.collectionVersion('default')).toBe(versions.at(-1));
    await store.writeDocument(documentInput('v.md', 'v2'), await chunksFor(['two']));
    versions.push(await store.collectionVersion('default'));
    const otherBefore = await store.collectionVersion('other');
    await store.writeDocument(
      documentInput('w.md', 'w', { collection: 'other' }),
      await chunksFor(['x']),
    );
    expect(await store.collectionVersion('default')).toBe(versions.at(-1));
    expect(await store.collectionVersion('other')).not.toBe(otherBefore);
    versions.push(await store.collectionVersion(undefined));
    expect(await store.deleteDocument(written.id)).toBe(true);
    versions.push(await store.collectionVersion('default'));
    expect(new Set(versions).size).toBe(versions.length);
    // The same history in another database gives other versions (a recreated database's
    // search ETags must not match the old one's).
    await twin.writeDocument(documentInput('v.md', 'v1'), await chunksFor(['one']));
    expect(await twin.collectionVersion('default')).not.toBe(versions[1]);
  });

  it('uses the HNSW index for vector and hybrid search', async () => {
    const { store } = await openFresh();
    const texts = Array.from(
      { length: 300 },
      (_, index) => `passage number ${index} about topic ${index % 17}`,
    );
    await store.writeDocument(documentInput('many.md', 'm'), await chunksFor(texts));
    const question = 'topic 5';
    const embedding = await embeddings.embedQuery(question);
    for (const mode of ['vector', 'hybrid'] as const) {
      const plan = await store.explainSearch({ text: question, embedding, mode, k: 10 });
      expect(plan, mode).toMatch(/Index Scan using chunks_embedding_idx/);
    }
    const textPlan = await store.explainSearch({ text: question, mode: 'text', k: 10 });
    expect(textPlan).not.toMatch(/chunks_embedding_idx/);
  });

  it('bulk-loads without chunk indexes and rebuilds them, even after a process died mid-load', async () => {
    const { store, config } = await openFresh();
    const question = 'lamp keeper';
    const embedding = await embeddings.embedQuery(question);
    const inputs: IngestInput[] = Array.from({ length: 30 }, (_, index) => ({
      kind: 'document',
      path: `bulk-${index}.md`,
      document: {
        source: `bulk-${index}.md`,
        title: `Bulk ${index}`,
        format: 'markdown',
        // Ten chunks each: enough rows that the planner prefers the index to a sort.
        text: Array.from(
          { length: 10 },
          (_, line) => `The lamp keeper number ${index} wrote line ${line} in the logbook.`,
        ).join('\n\n'),
      },
    }));
    const summary = await ingest(
      inputs,
      { store, embeddings },
      {
        ...ingestOptions({ chunkSize: 100 }),
        batchSize: 8,
        deferIndexes: 'always',
      },
    );
    expect(summary).toMatchObject({ added: 30, failed: 0 });
    expect(summary.chunks).toBeGreaterThanOrEqual(150);
    const allIndexes = [
      'chunks_document_ordinal_key',
      'chunks_embedding_idx',
      'chunks_pkey',
      'chunks_search_vector_idx',
    ];
    expect(await store.chunkIndexes()).toEqual(allIndexes);
    expect(await store.search({ text: question, mode: 'text', k: 50 })).toHaveLength(50);

    // A load that never finishes: the indexes are gone until the next open rebuilds them.
    await store.deferIndexes();
    expect(await store.chunkIndexes()).toEqual(['chunks_document_ordinal_key', 'chunks_pkey']);
    // Searches still answer (by sequential scan) while the indexes are away.
    expect(await store.search({ text: question, embedding, mode: 'hybrid', k: 5 })).toHaveLength(5);
    await store.close();
    const reopened = await openStore(config, embeddings.identity);
    open.push(reopened);
    expect(await reopened.chunkIndexes()).toEqual(allIndexes);
    expect(await reopened.search({ text: question, embedding, mode: 'vector', k: 5 })).toHaveLength(
      5,
    );
  });

  it.runIf(engine.name === 'postgres')(
    'leaves a live bulk load of another process alone, and loads alongside it with its indexes',
    async () => {
      const { store: loader, config } = await openFresh();
      await loader.deferIndexes();
      // A second process opening the database must not rebuild the live load's indexes.
      const other = await openStore(config, embeddings.identity);
      open.push(other);
      expect(await other.chunkIndexes()).not.toContain('chunks_embedding_idx');
      const events: IngestEvent[] = [];
      const inputs: IngestInput[] = Array.from({ length: 5 }, (_, index) => ({
        kind: 'document',
        path: `side-${index}.md`,
        document: {
          source: `side-${index}.md`,
          title: 'Side',
          format: 'markdown',
          text: `side ${index}`,
        },
      }));
      const summary = await ingest(
        inputs,
        { store: other, embeddings },
        {
          ...ingestOptions(),
          deferIndexes: 'always',
          onEvent: (event) => events.push(event),
        },
      );
      expect(summary).toMatchObject({ added: 5, failed: 0 });
      expect(events).toContainEqual(
        expect.objectContaining({ kind: 'warning', code: 'defer_failed' }),
      );
      await loader.restoreIndexes();
      expect(await other.chunkIndexes()).toContain('chunks_embedding_idx');
    },
  );

  it('rebuilds deferred indexes on open with a pool of one connection', async () => {
    const config = await engine.createDatabase({ PG_POOL_MAX: '1' });
    const first = await openStore(config, embeddings.identity);
    open.push(first);
    await first.writeDocument(documentInput('one.md', '1'), await chunksFor(['only passage']));
    await first.deferIndexes();
    await first.close();
    // The advisory lock must not take the only pooled connection the rebuild needs.
    const reopened = await openStore(config, embeddings.identity);
    open.push(reopened);
    expect(await reopened.chunkIndexes()).toContain('chunks_embedding_idx');
  });

  it('returns k rows for a filtered query when k matching rows exist', async () => {
    // A small ef_search makes a plain HNSW scan find too few matching rows; the iterative
    // index scan has to keep going.
    const storeOptions = { efSearch: 10, insertBatchRows: 500, indexBuildMemory: '64MB' };
    const { store, config } = await openFresh(storeOptions);
    // Large enough (5,000 chunks) that the planner prefers the index to an exact sort.
    for (let documentIndex = 0; documentIndex < 50; documentIndex++) {
      const texts = Array.from(
        { length: 100 },
        (_, index) => `shared words about storage engines, variant ${documentIndex}-${index}`,
      );
      await store.writeDocument(
        documentInput(`doc-${documentIndex}.md`, `hash-${documentIndex}`, {
          collection: documentIndex % 5 === 0 ? 'rare' : 'default',
          metadata: { team: documentIndex % 5 === 3 ? 'blue' : 'red', shard: documentIndex % 2 },
        }),
        await chunksFor(texts),
      );
    }
    await store.analyze();
    const question = 'storage engines';
    const embedding = await embeddings.embedQuery(question);
    for (const mode of ['vector', 'hybrid', 'text'] as const) {
      const byMetadata = await store.search({
        text: question,
        embedding,
        mode,
        k: 30,
        filter: { team: 'blue' },
      });
      expect(byMetadata, mode).toHaveLength(30);
      expect(
        byMetadata.every((hit) => /^doc-\d*[38]\.md$/.test(hit.source)),
        mode,
      ).toBe(true);
      const byCollection = await store.search({
        text: question,
        embedding,
        mode,
        k: 50,
        collection: 'rare',
      });
      expect(byCollection, mode).toHaveLength(50);
      expect(
        byCollection.every((hit) => /^doc-\d*[05]\.md$/.test(hit.source)),
        mode,
      ).toBe(true);
      const both = await store.search({
        text: question,
        embedding,
        mode,
        k: 40,
        collection: 'rare',
        filter: { shard: 0 },
      });
      expect(both, mode).toHaveLength(40);
    }
    // The filtered query goes through the HNSW index (so only the iterative scan finds k rows).
    const plan = await store.explainSearch({
      text: question,
      embedding,
      mode: 'vector',
      k: 30,
      filter: { team: 'blue' },
    });
    expect(plan).toMatch(/Index Scan using chunks_embedding_idx/);
    if (engine.name === 'postgres') {
      // postgres.js prepares statements, and PostgreSQL switches a statement run more than five
      // times to a generic plan unless the session settings say otherwise.
      const session = postgres(config.databaseUrl as string, {
        max: 1,
        connection: sessionSettings(storeOptions),
      });
      try {
        const parameters = [pgvector.toSql(embedding), null, JSON.stringify({ team: 'blue' }), 30];
        for (let run = 0; run < 8; run++) {
          const rows = await session.unsafe(vectorSearchSql, parameters, { prepare: true });
          expect(rows).toHaveLength(30);
        }
        const [plans] = await session`
          SELECT generic_plans, custom_plans FROM pg_prepared_statements
          WHERE statement = ${vectorSearchSql}`;
        // A generic plan cannot see that the collection parameter is NULL, and scans every chunk.
        expect(plans).toMatchObject({ generic_plans: '0', custom_plans: '8' });
      } finally {
        await session.end();
      }
    }
    const none = await store.search({
      text: question,
      embedding,
      mode: 'vector',
      k: 5,
      filter: { team: 'green' },
    });
    expect(none).toEqual([]);
  });
});

function ingestOptions(overrides: { chunkSize?: number } = {}) {
  return {
    collection: 'default',
    chunkSize: overrides.chunkSize ?? 1000,
    chunkOverlap: 0,
    batchSize: 64,
    writeConcurrency: 4,
  };
}

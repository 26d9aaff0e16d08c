import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAIStandIn, startOpenAIStandIn } from '../scripts/stand-in/openai-stand-in.ts';
import { parseConfig } from '../src/core/config.ts';
import { createEmbedder } from '../src/embeddings/create-embedder.ts';
import { type IngestInput, ingest } from '../src/ingest/pipeline.ts';
import { retrieve } from '../src/retrieval/retrieve.ts';
import { openStore } from '../src/store/open-store.ts';
import { testEngines } from './support/databases.ts';

describe('OpenAI-compatible embeddings through @langchain/openai', () => {
  let standIn: OpenAIStandIn;
  beforeAll(async () => {
    standIn = await startOpenAIStandIn({ dimensions: 96 });
  });
  afterAll(() => standIn.close());

  const environment = (extra: Record<string, string> = {}) => ({
    EMBEDDING_MODEL: 'stand-in-embedding',
    OPENAI_BASE_URL: standIn.baseUrl,
    OPENAI_API_KEY: 'test-key',
    ...extra,
  });

  it('learns the dimension from the model when EMBEDDING_DIMENSIONS is unset', async () => {
    standIn.requests.length = 0;
    const embedder = await createEmbedder(parseConfig(environment()));
    expect(embedder.identity).toEqual({ name: 'openai:stand-in-embedding', dimensions: 96 });
    expect(standIn.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/v1/embeddings' }),
    ]);
  });

  it.each(testEngines)(
    'ingests and searches on $name in batches within the limit',
    async (engine) => {
      const config = await engine.createDatabase(environment({ EMBEDDING_BATCH_SIZE: '4' }));
      const embedder = await createEmbedder(config);
      const store = await openStore(config, embedder.identity);
      try {
        standIn.requests.length = 0;
        const inputs: IngestInput[] = Array.from({ length: 10 }, (_, index) => ({
          kind: 'document',
          path: `fact-${index}.txt`,
          document: {
            source: `fact-${index}.txt`,
            title: `Fact ${index}`,
            format: 'text',
            text: index === 7 ? 'The observatory dome opens at dusk.' : `Filler sentence ${index}.`,
          },
        }));
        const summary = await ingest(
          inputs,
          { store, embeddings: embedder.embeddings },
          {
            collection: 'default',
            chunkSize: 500,
            chunkOverlap: 0,
            batchSize: 4,
            writeConcurrency: 2,
          },
        );
        expect(summary).toMatchObject({ added: 10, failed: 0, chunks: 10 });
        const batches = standIn.requests.map(
          (request) => (request.body as { input: string[] }).input,
        );
        expect(batches.flat()).toHaveLength(10);
        expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(4);
        expect(standIn.requests[0]?.body).toMatchObject({ model: 'stand-in-embedding' });

        const { hits } = await retrieve(
          { store, embeddings: embedder.embeddings },
          { question: 'When does the observatory dome open?', mode: 'vector', k: 3 },
        );
        expect(hits[0]?.source).toBe('fact-7.txt');
      } finally {
        await store.close();
        await engine.cleanup();
      }
    },
  );

  it('retries a failing server a bounded number of times, then reports the failure', async () => {
    const embedder = await createEmbedder(parseConfig(environment({ EMBEDDING_DIMENSIONS: '96' })));
    standIn.requests.length = 0;
    standIn.failNext(2, 500);
    expect(await embedder.embeddings.embedQuery('recovers after two failures')).toHaveLength(96);
    expect(standIn.requests).toHaveLength(3);

    standIn.requests.length = 0;
    standIn.failNext(100, 500);
    await expect(embedder.embeddings.embedQuery('never answers')).rejects.toThrow();
    expect(standIn.requests).toHaveLength(3);
    standIn.failNext(0);
  });

  it('says which server it could not reach when probing the dimension', async () => {
    const unreachable = parseConfig(environment({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }));
    const attempt = createEmbedder(unreachable);
    await expect(attempt).rejects.toMatchObject({ code: 'embedding_failed' });
    await expect(attempt).rejects.toThrow(
      /stand-in-embedding.*127\.0\.0\.1:9.*EMBEDDING_DIMENSIONS/,
    );
  });
});

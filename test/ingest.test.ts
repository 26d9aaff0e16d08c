import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { loadPaths } from '../src/ingest/load-files.ts';
import { type IngestEvent, ingest } from '../src/ingest/pipeline.ts';
import { openStore } from '../src/store/open-store.ts';
import { testEngines } from './support/databases.ts';

const run = promisify(execFile);
const embeddings = new LocalHashEmbeddings({ dimensions: 384 });
const corpus = join(import.meta.dirname, 'fixtures', 'corpus');

let mixed: string;
beforeAll(async () => {
  // Good files next to every kind of bad one.
  mixed = await mkdtemp(join(tmpdir(), 'streamrag-mixed-'));
  await writeFile(join(mixed, 'good.md'), '# Tides\n\nSpring tides happen at new and full moon.');
  await writeFile(join(mixed, 'also-good.txt'), 'Neap tides happen at the quarter moons.');
  await writeFile(join(mixed, 'binary.txt'), Buffer.from([0x48, 0x00, 0x49, 0x00, 0xff]));
  await writeFile(join(mixed, 'latin1.md'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  await writeFile(join(mixed, 'empty.md'), '  \n\n ');
  await writeFile(join(mixed, 'huge.txt'), 'x'.repeat(3000));
  await writeFile(join(mixed, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
});
afterAll(() => rm(mixed, { recursive: true, force: true }));

describe.each(testEngines)('ingestion on $name', (engine) => {
  afterAll(() => engine.cleanup());

  it('reports each bad file with its reason while the good files land', async () => {
    const store = await openStore(await engine.createDatabase(), embeddings.identity);
    try {
      const events: IngestEvent[] = [];
      const summary = await ingest(
        loadPaths([mixed], { maxFileBytes: 2000 }),
        { store, embeddings },
        {
          collection: 'default',
          chunkSize: 1000,
          chunkOverlap: 100,
          batchSize: 16,
          writeConcurrency: 2,
          onEvent: (event) => events.push(event),
        },
      );
      expect(summary).toMatchObject({
        added: 2,
        updated: 0,
        unchanged: 0,
        skipped: 1,
        failed: 4,
        chunks: 2,
      });
      const failures = Object.fromEntries(
        events.flatMap((event) =>
          event.kind === 'failed' ? [[event.path.split('/').pop(), event.reason]] : [],
        ),
      );
      expect(Object.keys(failures).sort()).toEqual([
        'binary.txt',
        'empty.md',
        'huge.txt',
        'latin1.md',
      ]);
      expect(failures['huge.txt']).toMatch(/larger than/);
      expect(failures['latin1.md']).toMatch(/UTF-8/);
      expect(failures['binary.txt']).toMatch(/binary/);
      expect(await store.stats()).toEqual({ documents: 2, chunks: 2 });
      const [hit] = await store.search({ text: 'when are spring tides', mode: 'text', k: 1 });
      expect(hit?.content).toContain('Spring tides');
    } finally {
      await store.close();
    }
  });

  it('stops taking documents when interrupted and leaves the store consistent', async () => {
    const store = await openStore(await engine.createDatabase(), embeddings.identity);
    try {
      const interrupt = new AbortController();
      async function* documents() {
        for (let index = 0; index < 10; index++) {
          if (index === 3) interrupt.abort();
          yield {
            kind: 'document' as const,
            path: `note-${index}.md`,
            document: {
              source: `note-${index}.md`,
              title: `Note ${index}`,
              format: 'markdown' as const,
              text: `Note number ${index} about tides.`,
            },
          };
        }
      }
      const summary = await ingest(
        documents(),
        { store, embeddings },
        {
          collection: 'default',
          chunkSize: 1000,
          chunkOverlap: 0,
          batchSize: 64,
          writeConcurrency: 2,
          deferIndexes: 'always',
          signal: interrupt.signal,
        },
      );
      expect(summary).toMatchObject({ added: 3, failed: 0, chunks: 3 });
      expect(await store.stats()).toEqual({ documents: 3, chunks: 3 });
      expect(await store.chunkIndexes()).toContain('chunks_embedding_idx');
    } finally {
      await store.close();
    }
  });
});

describe('ingest and search command lines', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'streamrag-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  const node = process.execPath;
  const environment = () => ({ ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' });

  it('prints a JSON summary as its last line, then skips unchanged files on the next run', async () => {
    const first = await run(node, ['scripts/ingest.ts', '--json', corpus], { env: environment() });
    const summary = JSON.parse(first.stdout.trim().split('\n').pop() as string);
    expect(Object.keys(summary).sort()).toEqual(
      ['added', 'chunks', 'failed', 'seconds', 'skipped', 'unchanged', 'updated'].sort(),
    );
    expect(summary).toMatchObject({ added: 4, updated: 0, unchanged: 0, skipped: 0, failed: 0 });
    expect(summary.chunks).toBeGreaterThanOrEqual(4);

    const second = await run(node, ['scripts/ingest.ts', '--json', corpus], { env: environment() });
    expect(JSON.parse(second.stdout.trim().split('\n').pop() as string)).toMatchObject({
      added: 0,
      unchanged: 4,
      chunks: 0,
    });

    const search = await run(
      node,
      ['scripts/search.ts', '--json', '--k', '3', 'How often does the Skerry Point lamp flash?'],
      { env: environment() },
    );
    const hits = JSON.parse(search.stdout.trim().split('\n').pop() as string);
    expect(hits).toHaveLength(3);
    expect(hits[0]).toMatchObject({
      source: 'test/fixtures/corpus/lighthouses.md',
      title: 'Lighthouses of the northern coast',
    });
    expect(hits[0].content).toContain('twelve seconds');
    expect(Object.keys(hits[0]).sort()).toEqual([
      'content',
      'documentId',
      'id',
      'ordinal',
      'score',
      'source',
      'title',
    ]);
  });

  it('exits non-zero when a file fails, and refuses bad usage with a message', async () => {
    const failing = run(node, ['scripts/ingest.ts', '--json', join(mixed, 'binary.txt')], {
      env: environment(),
    });
    await expect(failing).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/binary\.txt: .*binary/),
    });
    const usage = run(node, ['scripts/search.ts', '--k', '0', 'question'], { env: environment() });
    await expect(usage).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--k must be/),
    });
    const config = run(node, ['scripts/search.ts', 'question'], {
      env: { ...environment(), CHUNK_SIZE: 'big' },
    });
    await expect(config).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/CHUNK_SIZE/),
    });
  });
});

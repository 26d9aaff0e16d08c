import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.ts';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { openStore } from '../src/store/open-store.ts';

const embeddings = new LocalHashEmbeddings({ dimensions: 384 });

describe('the embedded PGlite store', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'streamrag-pglite-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('lets one opener at a time use a data directory, and takes over a dead owner’s lock', async () => {
    const config = parseConfig({ DATA_DIR: dataDir });
    const first = await openStore(config, embeddings.identity);
    expect(await readFile(join(dataDir, 'pglite.lock'), 'utf8')).toBe(String(process.pid));
    const second = openStore(config, embeddings.identity);
    await expect(second).rejects.toMatchObject({ code: 'database_locked' });
    await expect(second).rejects.toThrow(/in use by process \d+.*DATABASE_URL/s);
    await first.close();

    // A lock left by a process that no longer runs (pid far above any live one).
    await writeFile(join(dataDir, 'pglite.lock'), '4194300');
    const third = await openStore(config, embeddings.identity);
    expect(await third.stats()).toEqual({ documents: 0, chunks: 0 });
    await third.close();
    await expect(readFile(join(dataDir, 'pglite.lock'), 'utf8')).rejects.toMatchObject({
      code: 'ENOENT',
    });

    // Our own pid in a lock we do not hold: an earlier life of this pid (pid 1 in containers).
    await writeFile(join(dataDir, 'pglite.lock'), String(process.pid));
    const fourth = await openStore(config, embeddings.identity);
    await fourth.close();
  });
});

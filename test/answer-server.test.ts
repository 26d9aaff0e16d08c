import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnswerBody, AnswerDone, AnswerSource } from '../src/answer/answer-events.ts';
import { askAnswer, streamAnswer } from '../src/client/index.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { ingest } from '../src/ingest/pipeline.ts';
import { testEngines } from './support/databases.ts';
import { parseFrames, postAnswer, startTestServer } from './support/test-server.ts';

const run = promisify(execFile);
const repository = join(import.meta.dirname, '..');
const question = 'How do bees tell each other where the flowers are?';

describe.each(testEngines)('the answer server on $name (extractive generator)', (engine) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer(engine);
  });
  afterAll(async () => {
    await server?.shutdown();
    await engine.cleanup();
  });

  it('streams meta, sources, tokens and done as exact SSE frames, in that order', async () => {
    const response = await postAnswer(server.url, { question, k: 2 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('server-timing')).toMatch(/^headers;dur=[\d.]+$/);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[\w-]{8,}$/);

    const body = await response.text();
    const frames = parseFrames(body);
    expect(frames.map((frame) => frame.event)).toEqual([
      'meta',
      'sources',
      ...frames.slice(2, -1).map(() => 'token'),
      'done',
    ]);
    expect(frames.length).toBeGreaterThan(4);
    expect(
      body.startsWith(
        `event: meta\ndata: {"requestId":"${requestId}","generator":"extractive","embedder":"local-hash-v1","search":"hybrid"}\n\n`,
      ),
    ).toBe(true);

    const sources = JSON.parse(frames[1]?.data ?? '') as AnswerSource[];
    expect(sources).toHaveLength(2);
    expect(sources[0]).toEqual({
      id: expect.stringMatching(/^\d+$/),
      documentId: expect.stringMatching(/^\d+$/),
      title: 'Honeybees',
      source: expect.stringMatching(/bees\.md$/),
      ordinal: 0,
      score: expect.any(Number),
      snippet: expect.stringContaining('waggle dance'),
    });

    const tokens = frames
      .slice(2, -1)
      .map((frame) => (JSON.parse(frame.data) as { text: string }).text);
    const answer = tokens.join('');
    expect(answer).toContain('waggle dance');
    expect(answer).toMatch(/\[1\]\.$/);

    const done = JSON.parse(frames.at(-1)?.data ?? '') as AnswerDone;
    expect(done.finishReason).toBe('stop');
    const { timings } = done;
    expect(Object.keys(timings).sort()).toEqual([
      'embedMs',
      'firstTokenMs',
      'retrieveMs',
      'totalMs',
    ]);
    expect(timings.firstTokenMs).not.toBeNull();
    expect(timings.totalMs).toBeGreaterThanOrEqual(timings.firstTokenMs ?? Infinity);
    expect(timings.firstTokenMs).toBeGreaterThanOrEqual(timings.embedMs + timings.retrieveMs);
  });

  it('answers in one JSON body with Accept: application/json, the same answer as the stream', async () => {
    const streamed = parseFrames(await (await postAnswer(server.url, { question, k: 2 })).text())
      .filter((frame) => frame.event === 'token')
      .map((frame) => (JSON.parse(frame.data) as { text: string }).text)
      .join('');
    const response = await postAnswer(
      server.url,
      { question, k: 2 },
      { accept: 'application/json' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('server-timing')).toMatch(
      /^embed;dur=[\d.]+, retrieve;dur=[\d.]+, first-token;dur=[\d.]+, total;dur=[\d.]+$/,
    );
    const body = (await response.json()) as AnswerBody;
    expect(body.answer).toBe(streamed);
    expect(body.sources.map((source) => source.title)).toEqual(['Honeybees', expect.anything()]);
    expect(body.finishReason).toBe('stop');
    expect(body.timings.totalMs).toBeGreaterThan(0);
  });

  it('answers from a text search (nothing embedded) and says so in meta', async () => {
    const frames = parseFrames(
      await (
        await postAnswer(server.url, { question: 'lighthouse lens', search: 'text', k: 1 })
      ).text(),
    );
    expect(JSON.parse(frames[0]?.data ?? '')).toMatchObject({ search: 'text' });
    const done = JSON.parse(frames.at(-1)?.data ?? '') as AnswerDone;
    expect(done.timings.embedMs).toBe(0);
  });

  it('says it found nothing when a collection has no documents, still as a full stream', async () => {
    const frames = parseFrames(
      await (await postAnswer(server.url, { question, collection: 'empty-collection' })).text(),
    );
    expect(frames.map((frame) => frame.event)).toEqual([
      'meta',
      'sources',
      ...frames.slice(2, -1).map(() => 'token'),
      'done',
    ]);
    expect(frames[1]?.data).toBe('[]');
    const answer = frames
      .slice(2, -1)
      .map((frame) => (JSON.parse(frame.data) as { text: string }).text)
      .join('');
    expect(answer).toMatch(/could not find anything/);
  });

  it('is read by the typed client as typed events', async () => {
    const names: string[] = [];
    let answer = '';
    for await (const event of streamAnswer({ question, k: 2 }, { baseUrl: server.url })) {
      names.push(event.event);
      if (event.event === 'token') answer += event.data.text;
      if (event.event === 'done') expect(event.data.finishReason).toBe('stop');
    }
    expect(names[0]).toBe('meta');
    expect(names[1]).toBe('sources');
    expect(names.at(-1)).toBe('done');
    expect(answer).toContain('waggle dance');
    const body = await askAnswer({ question, k: 2 }, { baseUrl: server.url });
    expect(body.answer).toBe(answer);
  });

  it.runIf(engine.name === 'pglite')(
    'npm run ask streams the answer, then prints the sources; exit 1 when nothing listens',
    async () => {
      const ask = (...parameters: string[]) =>
        run(process.execPath, ['scripts/ask.ts', ...parameters], { cwd: repository }).then(
          (output) => ({ ...output, code: 0 }),
          (error: { stdout: string; stderr: string; code: number }) => error,
        );
      const answered = await ask('--url', server.url, '--k', '2', question);
      expect(answered.code).toBe(0);
      expect(answered.stdout).toMatch(
        /waggle dance[^\n]*\[1\]\.\n\n\[1\] Honeybees — \S*bees\.md \(/,
      );
      expect(answered.stderr).toMatch(/extractive, hybrid search: first token [\d.]+ ms, total/);
      const json = await ask('--url', server.url, '--json', question);
      expect(JSON.parse(json.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({
        answer: expect.stringContaining('waggle dance'),
        finishReason: 'stop',
      });
      // comets.txt is the only plain-text document: the filter reaches the search.
      const filtered = await ask('--url', server.url, '--filter', 'format=text', question);
      expect(filtered.code).toBe(0);
      expect(filtered.stdout).toMatch(/\n\[1\] comets — \S*comets\.txt \(/);
      expect(filtered.stdout).not.toContain('Honeybees');
      const refused = await ask('--url', 'http://127.0.0.1:9', question);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(
        'Cannot reach streamrag at http://127.0.0.1:9 — start it with npm start',
      );
    },
  );

  describe('GET /v1/search', () => {
    const search = (query: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/v1/search?${query}`, { headers });

    it('returns hits with a strong ETag and Cache-Control, and 304 for If-None-Match', async () => {
      const first = await search('q=waggle%20dance&k=2');
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(first.headers.get('cache-control')).toBe('private, max-age=0, must-revalidate');
      const { hits } = (await first.json()) as { hits: Record<string, unknown>[] };
      expect(hits).toHaveLength(2);
      expect(Object.keys(hits[0] ?? {}).sort()).toEqual(
        ['content', 'documentId', 'id', 'ordinal', 'score', 'source', 'title'].sort(),
      );
      expect(hits[0]?.title).toBe('Honeybees');

      const again = await search('q=waggle%20dance&k=2', { 'if-none-match': etag ?? '' });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
      // A list with a weak form of the tag matches too (weak comparison, RFC 9110).
      const listed = await search('q=waggle%20dance&k=2', { 'if-none-match': `"x", W/${etag}` });
      expect(listed.status).toBe(304);
      // Another query is another representation.
      const other = await search('q=waggle%20dance&k=3', { 'if-none-match': etag ?? '' });
      expect(other.status).toBe(200);
      expect(other.headers.get('etag')).not.toBe(etag);
    });

    it('changes the ETag when the collection changes, not when another one does', async () => {
      const before = (await search('q=comet&collection=default')).headers.get('etag');
      const allBefore = (await search('q=comet')).headers.get('etag');
      await writeThroughStore(server, 'other', 'Comets have tails of dust and gas.');
      expect((await search('q=comet&collection=default')).headers.get('etag')).toBe(before);
      expect((await search('q=comet')).headers.get('etag')).not.toBe(allBefore);
      await writeThroughStore(server, 'default', 'A comet is a small icy body.');
      const after = await search('q=comet&collection=default', { 'if-none-match': before ?? '' });
      expect(after.status).toBe(200);
      expect(after.headers.get('etag')).not.toBe(before);
    });
  });
});

/** Adds a document to `collection` through the running server's own database. */
async function writeThroughStore(
  server: RunningServer,
  collection: string,
  text: string,
): Promise<void> {
  const summary = await ingest(
    [
      {
        kind: 'document',
        path: `${collection}-${text.length}.txt`,
        document: {
          source: `${collection}-${text.length}.txt`,
          title: 'Note',
          format: 'text',
          text,
        },
      },
    ],
    { store: server.store, embeddings: server.embeddings },
    { collection, chunkSize: 1000, chunkOverlap: 0, batchSize: 4, writeConcurrency: 1 },
  );
  expect(summary.added).toBe(1);
}

/**
 * The Worker entry (src/entry/worker.ts) inside workerd, as `wrangler deploy` would run it:
 * bindings from wrangler.toml, Hyperdrive pointed at a real PostgreSQL holding the fixture
 * corpus, embeddings and answers from the OpenAI stand-in (test/workers/global-setup.ts).
 */
import { exports } from 'cloudflare:workers';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { streamAnswer } from '../../src/client/answer-client.ts';

// Without PostgreSQL these skip; under REQUIRE_POSTGRES=1 the global setup has failed already.
const hasDatabase = inject('workerDatabaseUrl') !== '';
const control = inject('standInControlUrl');
const worker = exports.default as { fetch(request: Request): Promise<Response> };

const ask = (path: string, body: unknown, signal?: AbortSignal) =>
  worker.fetch(
    new Request(`http://streamrag.test${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      ...(signal === undefined ? {} : { signal }),
    }),
  );

async function readEvents(response: Response): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (reader === undefined) throw new Error('no body');
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    parser.feed(chunk.value);
  }
  return events;
}

interface StreamRecord {
  tokensSent: number;
  finished: boolean;
  closedByClient: boolean;
}

async function standInStreams(): Promise<StreamRecord[]> {
  const response = await fetch(`${control}/streams`);
  return ((await response.json()) as { streams: StreamRecord[] }).streams;
}

async function setTiming(timing: Record<string, number>) {
  await fetch(`${control}/timing`, { method: 'POST', body: JSON.stringify(timing) });
}

describe.skipIf(!hasDatabase)('the Worker in workerd', () => {
  afterEach(() => setTiming({ timeToFirstTokenMs: 5, interTokenDelayMs: 2, tokenCount: 12 }));

  it('streams /v1/answer: meta, sources, tokens, done', async () => {
    const response = await ask('/v1/answer', { question: 'How do bees make honey?', k: 3 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-request-id')).toBeTruthy();

    const events = await readEvents(response);
    const names = events.map((event) => event.event);
    expect(names[0]).toBe('meta');
    expect(names[1]).toBe('sources');
    expect(names.at(-1)).toBe('done');
    expect(names.slice(2, -1).every((name) => name === 'token')).toBe(true);
    expect(names.length - 3).toBeGreaterThanOrEqual(12);

    const meta = JSON.parse(events[0]?.data ?? '{}');
    expect(meta).toMatchObject({ generator: 'openai:stand-in-chat' });
    expect(meta.embedder).toBe('openai:stand-in-embedding');
    const sources = JSON.parse(events[1]?.data ?? '[]') as { title: string }[];
    expect(sources).toHaveLength(3);
    expect(sources[0]?.title.toLowerCase()).toContain('bee');
    const done = JSON.parse(events.at(-1)?.data ?? '{}');
    expect(done.finishReason).toBe('stop');
    expect(done.timings.retrieveMs).toBeGreaterThan(0);
  });

  it('streams the same answer to the typed client', async () => {
    const events = [];
    for await (const event of streamAnswer(
      { question: 'When was the first lighthouse built?', k: 2 },
      {
        baseUrl: 'http://streamrag.test',
        fetch: (input, init) => worker.fetch(new Request(input, init)),
      },
    )) {
      events.push(event);
    }
    expect(events.map((event) => event.event)).toContain('token');
    expect(events.at(-1)?.event).toBe('done');
  });

  it('streams the OpenAI-compatible endpoint', async () => {
    const response = await ask('/v1/chat/completions', {
      model: 'streamrag',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'What is a comet made of?' }],
    });
    expect(response.status).toBe(200);
    const events = await readEvents(response);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
  });

  it('serves concurrent requests, each on its own database client', async () => {
    const questions = [
      'How do bees make honey?',
      'How is sourdough bread leavened?',
      'What is a comet made of?',
      'Why do lighthouses flash?',
    ];
    // Twelve at once, overlapping their queries and streams: a connection shared across
    // requests fails here with "Cannot perform I/O on behalf of a different request".
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, index) => {
        const question = questions[index % questions.length] as string;
        const response = await ask('/v1/answer', { question, k: 2 });
        const events = await readEvents(response);
        return { question, events };
      }),
    );
    for (const { events } of answers) {
      expect(events.map((event) => event.event).at(-1)).toBe('done');
      expect(events.some((event) => event.event === 'error')).toBe(false);
    }
    const sourcesOf = (index: number) =>
      JSON.parse(answers[index]?.events[1]?.data ?? '[]') as { documentId: string }[];
    // Each answer got its own retrieval: the same question, the same passages; others differ.
    expect(sourcesOf(4)).toEqual(sourcesOf(0));
    expect(sourcesOf(1)).not.toEqual(sourcesOf(0));

    const search = await Promise.all(
      questions.map((q) =>
        worker.fetch(new Request(`http://streamrag.test/v1/search?q=${encodeURIComponent(q)}&k=1`)),
      ),
    );
    for (const response of search) expect(response.status).toBe(200);
  });

  /** Starts an answer the stand-in paces slowly, and reads it up to its first token. */
  async function answerUpToFirstToken(signal?: AbortSignal) {
    await setTiming({ timeToFirstTokenMs: 5, interTokenDelayMs: 50, tokenCount: 200 });
    const before = (await standInStreams()).length;
    const response = await ask('/v1/answer', { question: 'How do bees make honey?', k: 2 }, signal);
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (reader === undefined) throw new Error('no body');
    let text = '';
    while (!text.includes('event: token')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error('stream ended before a token');
      text += chunk.value;
    }
    return { reader, before };
  }

  async function expectClosedByClient(index: number) {
    let stream: StreamRecord | undefined;
    for (let attempt = 0; attempt < 100 && !stream?.closedByClient; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      stream = (await standInStreams())[index];
    }
    expect(stream?.closedByClient).toBe(true);
    expect(stream?.finished).toBe(false);
    expect(stream?.tokensSent).toBeLessThan(200);
  }

  it('stops the model when the client cancels the stream', async () => {
    const { reader, before } = await answerUpToFirstToken();
    await reader.cancel();
    await expectClosedByClient(before);
  });

  it('stops the model when the client aborts the request', async () => {
    const controller = new AbortController();
    const { before } = await answerUpToFirstToken(controller.signal);
    controller.abort();
    await expectClosedByClient(before);
  });

  it('closes every database connection once the answers end', async () => {
    const connections = async () => {
      const response = await fetch(`${control}/connections`);
      return ((await response.json()) as { connections: number }).connections;
    };
    const answers = Array.from({ length: 4 }, () =>
      ask('/v1/answer', { question: 'What is a comet made of?', k: 2 }).then(readEvents),
    );
    await Promise.all(answers);
    let open = await connections();
    for (let attempt = 0; attempt < 100 && open > 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await connections();
    }
    expect(open).toBe(0);
  });

  it('answers /readyz from the database and refuses file ingestion with a clear message', async () => {
    const ready = await worker.fetch(new Request('http://streamrag.test/readyz'));
    expect(await ready.json()).toEqual({ status: 'ready', engine: 'postgres' });

    const { loadPaths } = await import('../../src/ingest/load-files.ts');
    await expect(loadPaths(['docs'], { maxFileBytes: 1000 }).next()).rejects.toThrow(
      /Ingestion from files runs on Node, not on Cloudflare Workers: run `npm run ingest/,
    );
    const { openStore } = await import('../../src/store/open-store.ts');
    const { parseConfig } = await import('../../src/core/config.ts');
    await expect(
      openStore(parseConfig({}), { name: 'local-hash-v1', dimensions: 384 }),
    ).rejects.toThrow(/runs on Node, not on Cloudflare Workers/);
  });
});

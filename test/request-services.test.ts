/**
 * Services opened per request (the Workers path) are closed once, after the response: at the
 * end of an SSE body (not before: the answer queries after its headers), when the client
 * cancels it, and at once for everything else — errors, JSON, HEAD, 304.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtractiveGenerator } from '../src/answer/extractive-generator.ts';
import { parseConfig } from '../src/core/config.ts';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { createApp } from '../src/http/app.ts';
import type { Services } from '../src/http/app-dependencies.ts';
import { createLifecycle } from '../src/http/lifecycle.ts';
import { openStore } from '../src/store/open-store.ts';
import type { Store } from '../src/store/store.ts';
import { testEngines } from './support/databases.ts';
import { ingestCorpus } from './support/test-server.ts';

const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

describe('services opened per request', () => {
  let store: Store;
  let opened = 0;
  let closed = 0;
  const waited: Promise<unknown>[] = [];
  let app: ReturnType<typeof createApp>;
  const context = {
    waitUntil: (work: Promise<unknown>) => waited.push(work),
    passThroughOnException() {},
    props: {},
  };
  const request = (path: string, init: RequestInit = {}) =>
    app.fetch(new Request(`http://app.test${path}`, init), {}, context);
  const ask = (accept: string) =>
    request('/v1/answer', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify({ question: 'How do bees find flowers?', k: 2 }),
    });
  /** Every close the responses so far arranged, settled. */
  const settled = async () => {
    await Promise.all(waited);
    return { opened, closed };
  };

  beforeAll(async () => {
    const config = await engine.createDatabase();
    await ingestCorpus(config);
    const embeddings = new LocalHashEmbeddings();
    store = await openStore(config, embeddings.identity);
    const services: Services = { store, embeddings, generator: createExtractiveGenerator() };
    app = createApp({
      config: parseConfig({}),
      services: {
        perRequest() {
          opened += 1;
          return {
            services,
            close: async () => {
              closed += 1;
            },
          };
        },
      },
      lifecycle: createLifecycle(),
    });
  });
  afterAll(async () => {
    await store?.close();
    await engine.cleanup();
  });

  it('closes an SSE answer after its body, not before', async () => {
    const before = await settled();
    const response = await ask('text/event-stream');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // Nothing has read the body: the answer may still need its services.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(before.closed);
    const text = await response.text();
    expect(text).toMatch(/event: done/);
    expect(await settled()).toEqual({ opened: before.opened + 1, closed: before.closed + 1 });
  });

  it('closes an SSE answer the client cancels', async () => {
    const before = await settled();
    const response = await ask('text/event-stream');
    const reader = response.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    expect(await settled()).toEqual({ opened: before.opened + 1, closed: before.closed + 1 });
  });

  it('closes at once after JSON, errors, HEAD and 304', async () => {
    const before = await settled();
    expect((await ask('application/json')).status).toBe(200);
    const bad = await request('/v1/answer', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"question":',
    });
    expect(bad.status).toBe(400);
    const head = await request('/readyz', { method: 'HEAD' });
    expect(head.status).toBe(200);
    const first = await request('/v1/search?q=bees');
    const etag = first.headers.get('etag') ?? '';
    await first.text();
    const revalidated = await request('/v1/search?q=bees', { headers: { 'if-none-match': etag } });
    expect(revalidated.status).toBe(304);
    // No body read for the HEAD and the 304: they still closed.
    expect(await settled()).toEqual({ opened: before.opened + 5, closed: before.closed + 5 });
  });

  it('opens nothing for routes without the database or a model', async () => {
    const before = await settled();
    expect((await request('/healthz')).status).toBe(200);
    expect((await request('/v1/models')).status).toBe(200);
    expect((await request('/openapi.json')).status).toBe(200);
    expect(await settled()).toEqual(before);
  });
});

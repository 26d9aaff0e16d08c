import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

describe('bad input gets a 4xx that names the problem', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer(engine, { MAX_REQUEST_BYTES: '4096' });
  });
  afterAll(async () => {
    await server?.shutdown();
    await engine.cleanup();
  });

  const ask = (body: string, contentType: string | null = 'application/json') =>
    fetch(`${server.url}/v1/answer`, {
      method: 'POST',
      headers: contentType === null ? {} : { 'content-type': contentType },
      body,
    });

  async function expectError(
    response: Response,
    status: number,
    code: string,
    message: string | RegExp,
  ) {
    const body = (await response.json()) as {
      error: { code: string; message: string; type: string; param: string | null };
    };
    const { param, ...error } = body.error;
    expect({ status: response.status, error }).toEqual({
      status,
      error: {
        code,
        message: typeof message === 'string' ? message : expect.stringMatching(message),
        type: status < 500 ? 'invalid_request_error' : 'server_error',
      },
    });
    // OpenAI's shape: the field at fault, or null.
    expect(
      param === null || (typeof param === 'string' && message.toString().includes(param)),
    ).toBe(true);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(response.headers.get('server-timing')).toMatch(/^total;dur=[\d.]+$/);
  }

  it.each([
    ['a missing question', {}, 'question is required'],
    ['a question of the wrong type', { question: 42 }, 'question must be a string'],
    ['a blank question', { question: '   ' }, 'question must not be empty'],
    ['k of the wrong type', { question: 'q', k: '5' }, 'k must be a number'],
    ['k below the range', { question: 'q', k: 0 }, 'k must be a whole number between 1 and 50'],
    ['k above the range', { question: 'q', k: 51 }, 'k must be a whole number between 1 and 50'],
    ['a fractional k', { question: 'q', k: 2.5 }, 'k must be a whole number between 1 and 50'],
    [
      'an unknown search mode',
      { question: 'q', search: 'fuzzy' },
      'search must be one of hybrid, vector, text',
    ],
    ['an unknown field', { question: 'q', quesiton: 'q' }, 'Unknown field: quesiton'],
    [
      'a history turn with a bad role',
      { question: 'q', history: [{ role: 'system', content: 'x' }] },
      'history[0].role must be "user" or "assistant"',
    ],
    [
      'history that is not an array',
      { question: 'q', history: 'hi' },
      'history must be an array of { role, content }',
    ],
    [
      'a filter with a nested value',
      { question: 'q', filter: { lang: { en: true } } },
      'filter.lang values must be strings, numbers, booleans or null',
    ],
    ['a body that is not an object', [1, 2], 'The body must be a JSON object'],
    ['a body that is null', null, 'The body must be a JSON object'],
    [
      'a NUL character in the question',
      { question: 'bees\u0000' },
      'question must not contain the character U+0000',
    ],
    [
      'a NUL character in a filter value',
      { question: 'q', filter: { lang: 'e\u0000n' } },
      'filter.lang must not contain the character U+0000',
    ],
    [
      'a NUL character in a history turn',
      { question: 'q', history: [{ role: 'user', content: '\u0000' }] },
      'history[0].content must not contain the character U+0000',
    ],
  ])('POST /v1/answer with %s → 400', async (_, body, message) => {
    await expectError(await ask(JSON.stringify(body)), 400, 'invalid_request', message);
  });

  it('POST /v1/answer with malformed JSON → 400', async () => {
    await expectError(
      await ask('{"question": "q",'),
      400,
      'invalid_request',
      /^The body is not valid JSON/,
    );
  });

  it('POST /v1/answer with a __proto__ key → 400', async () => {
    await expectError(
      await ask('{"question":"q","filter":{"__proto__":null}}'),
      400,
      'invalid_request',
      '__proto__ is not allowed as a key',
    );
  });

  it('POST /v1/answer with a charset other than UTF-8 → 415', async () => {
    await expectError(
      await ask('{"question":"q"}', 'application/json; charset=latin1'),
      415,
      'unsupported_media_type',
      'charset=latin1 is not supported; send the JSON body as UTF-8',
    );
    const utf8 = await ask('{"question":"bees"}', 'application/json; charset=UTF-8');
    expect(utf8.status).toBe(200);
    await utf8.body?.cancel();
  });

  it('another method on /v1/answer or /v1/search → 405 with Allow', async () => {
    const get = await fetch(`${server.url}/v1/answer`);
    expect(get.headers.get('allow')).toBe('POST');
    await expectError(get, 405, 'method_not_allowed', 'GET is not allowed here; use POST');
    const post = await fetch(`${server.url}/v1/search?q=bees`, { method: 'POST' });
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await expectError(post, 405, 'method_not_allowed', 'POST is not allowed here; use GET, HEAD');
  });

  it('POST /v1/answer with an empty body → 400', async () => {
    await expectError(await ask(''), 400, 'invalid_request', 'The body is empty');
  });

  it('POST /v1/answer with another content type → 415', async () => {
    await expectError(
      await ask('question=q', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
      'Content-Type application/x-www-form-urlencoded is not supported; send application/json',
    );
    await expectError(
      await ask('{"question":"q"}', null),
      415,
      'unsupported_media_type',
      /send application\/json|Content-Type text\/plain/,
    );
  });

  it('POST /v1/answer with a body over MAX_REQUEST_BYTES → 413', async () => {
    await expectError(
      await ask(JSON.stringify({ question: 'x'.repeat(5000) })),
      413,
      'payload_too_large',
      'The body is larger than 4096 bytes',
    );
  });

  it('POST /v1/answer with an oversized body sent without Content-Length → 413', async () => {
    const chunks = [
      JSON.stringify({ question: 'x'.repeat(3000) }).slice(0, -2),
      'x'.repeat(3000),
      '"}',
    ];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const response = await fetch(`${server.url}/v1/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await expectError(response, 413, 'payload_too_large', 'The body is larger than 4096 bytes');
  });

  it.each([
    ['a missing q', '', 'q is required'],
    ['an empty q', 'q=', 'q must not be empty'],
    ['a k that is not a number', 'q=bees&k=abc', 'k must be a whole number between 1 and 50'],
    ['a k above the range', 'q=bees&k=500', 'k must be a whole number between 1 and 50'],
    ['an unknown mode', 'q=bees&mode=fuzzy', 'mode must be one of hybrid, vector, text'],
    [
      'mode and search disagreeing',
      'q=bees&mode=text&search=vector',
      'mode and search disagree; give one of them',
    ],
    ['a filter that is not JSON', 'q=bees&filter=lang', 'filter must be a JSON object'],
    ['an unknown parameter', 'q=bees&limit=3', 'Unknown field: limit'],
    ['a NUL character in q', 'q=bees%00', 'q must not contain the character U+0000'],
    [
      'a NUL character in a filter key',
      'q=bees&filter=%7B%22a%5Cu0000%22%3A1%7D',
      'filter keys must not contain the character U+0000',
    ],
  ])('GET /v1/search with %s → 400', async (_, query, message) => {
    await expectError(
      await fetch(`${server.url}/v1/search?${query}`),
      400,
      'invalid_request',
      message,
    );
  });

  it('an unknown route → 404 in the same error shape', async () => {
    await expectError(
      await fetch(`${server.url}/v2/answer`),
      404,
      'not_found',
      'No route for GET /v2/answer',
    );
  });

  it('is still healthy and ready after all of that', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBeTruthy();
    const ready = await fetch(`${server.url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', engine: 'pglite' });
  });

  it('keeps a valid X-Request-Id from the client and replaces an unsafe one', async () => {
    const kept = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123');
    const replaced = await fetch(`${server.url}/healthz`, {
      headers: { 'x-request-id': 'a b<c>' },
    });
    expect(replaced.headers.get('x-request-id')).not.toBe('a b<c>');
  });
});

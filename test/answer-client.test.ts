/**
 * The typed answer client against a real HTTP server that writes hand-made SSE frames, so the
 * client is held to the wire format of DESIGN.md §4, not to whatever the server happens to do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnswerBody,
  AnswerClientError,
  type AnswerEvent,
  askAnswer,
  streamAnswer,
} from '../src/client/index.ts';

type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  body: string,
) => void | Promise<void>;

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Starts a server on a free port; returns its base URL. */
async function startServer(handler: Handler): Promise<string> {
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    await handler(request, response, Buffer.concat(chunks).toString('utf8'));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sseHeaders = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-request-id': 'request-1',
};

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

const meta = {
  requestId: 'request-1',
  generator: 'extractive',
  embedder: 'local-hash-v1',
  search: 'hybrid',
} as const;
const sources = [
  {
    id: '1',
    documentId: '1',
    title: 'CREATE INDEX',
    source: 'sql-createindex.html',
    ordinal: 0,
    score: 0.5,
    snippet: 'CONCURRENTLY: build the index without taking locks that prevent writes…',
  },
  {
    id: '7',
    documentId: '3',
    title: null,
    source: 'notes.md',
    ordinal: 2,
    score: 0.25,
    snippet: 'multi-line\nsnippet',
  },
];
const done = {
  finishReason: 'stop',
  usage: { promptTokens: 10, completionTokens: 3, totalTokens: 13 },
  timings: { embedMs: 1, retrieveMs: 2, firstTokenMs: 3, totalMs: 4 },
};
// Multi-byte characters, so a chunk boundary can fall inside a code point too.
const tokens = ['Use ', 'CREATE INDEX CONCURRENTLY', ' — naïve ✓ 🚀 [1]'];

/** The whole conversation, as the typed events the client must yield, in order. */
const expectedEvents: AnswerEvent[] = [
  { event: 'meta', data: meta },
  { event: 'sources', data: sources },
  ...tokens.map((text) => ({ event: 'token' as const, data: { text } })),
  { event: 'done', data: done },
];

const wholeStream = [
  frame('meta', meta),
  frame('sources', sources),
  ...tokens.map((text) => frame('token', { text })),
  frame('done', done),
].join('');

async function collect(events: AsyncIterable<AnswerEvent>): Promise<AnswerEvent[]> {
  const received: AnswerEvent[] = [];
  for await (const event of events) received.push(event);
  return received;
}

/** Writes one byte per TCP write, yielding to the event loop so they leave one by one. */
async function writeByteByByte(response: ServerResponse, text: string): Promise<void> {
  for (const byte of Buffer.from(text, 'utf8')) {
    response.write(Buffer.of(byte));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A real fetch whose response body is re-cut into single bytes: loopback TCP may still merge
 * the server's one-byte writes, and this way the parser sees every boundary whatever happens.
 */
const byteByByteFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const splitter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const byte of chunk) controller.enqueue(Uint8Array.of(byte));
    },
  });
  return new Response(response.body?.pipeThrough(splitter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

function waitFor<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), milliseconds),
    ),
  ]);
}

describe('streamAnswer', () => {
  it('parses frames split at every byte into the exact typed events, in order', async () => {
    let requestBody: unknown;
    let requestHeaders: IncomingMessage['headers'] = {};
    const baseUrl = await startServer(async (request, response, body) => {
      requestBody = JSON.parse(body);
      requestHeaders = request.headers;
      response.writeHead(200, sseHeaders);
      await writeByteByByte(response, wholeStream);
      response.end();
    });

    const events = await collect(
      streamAnswer(
        { question: 'How do I index without locking writes?', k: 3 },
        { baseUrl, fetch: byteByByteFetch, headers: { authorization: 'Bearer secret' } },
      ),
    );

    expect(events).toEqual(expectedEvents);
    expect(requestBody).toEqual({ question: 'How do I index without locking writes?', k: 3 });
    expect(requestHeaders.accept).toBe('text/event-stream');
    expect(requestHeaders['content-type']).toBe('application/json');
    expect(requestHeaders.authorization).toBe('Bearer secret');
  });

  it('parses CRLF line endings split at every byte, including between CR and LF', async () => {
    const baseUrl = await startServer(async (_request, response) => {
      response.writeHead(200, {
        ...sseHeaders,
        'content-type': 'text/event-stream; charset=utf-8',
      });
      await writeByteByByte(response, wholeStream.replaceAll('\n', '\r\n'));
      response.end();
    });

    const events = await collect(
      streamAnswer({ question: 'q' }, { baseUrl, fetch: byteByByteFetch }),
    );

    expect(events).toEqual(expectedEvents);
  });

  it('skips comments, keep-alives, retry and id fields', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.write(': keep-alive\n\n');
      response.write(frame('meta', meta));
      response.write(':\n\n: keep-alive\n\nretry: 3000\n\n');
      response.write(frame('sources', sources));
      // A comment and an id inside an event block do not change its data.
      response.write(`: thinking\nid: 42\n${frame('token', { text: tokens[0] })}`);
      response.write(
        tokens
          .slice(1)
          .map((text) => frame('token', { text }))
          .join(''),
      );
      response.write(': keep-alive\n\n');
      response.end(frame('done', done));
    });

    expect(await collect(streamAnswer({ question: 'q' }, { baseUrl }))).toEqual(expectedEvents);
  });

  it('skips unknown event names and unnamed messages', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.write(frame('meta', meta));
      response.write(frame('progress', { stage: 'retrieving' }));
      response.write('data: {"text":"an unnamed message is not a token"}\n\n');
      response.write(frame('sources', sources));
      response.write(frame('Token', { text: 'event names are case-sensitive' }));
      response.write(tokens.map((text) => frame('token', { text })).join(''));
      response.end(frame('done', done));
    });

    expect(await collect(streamAnswer({ question: 'q' }, { baseUrl }))).toEqual(expectedEvents);
  });

  it('yields an error event and stops there', async () => {
    const failure = { code: 'generation_failed', message: 'The model stopped answering.' };
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.write(frame('meta', meta));
      response.write(frame('token', { text: 'Half an ' }));
      response.write(frame('error', failure));
      // Nothing after the error counts, not even a done.
      response.end(frame('done', done));
    });

    expect(await collect(streamAnswer({ question: 'q' }, { baseUrl }))).toEqual([
      { event: 'meta', data: meta },
      { event: 'token', data: { text: 'Half an ' } },
      { event: 'error', data: failure },
    ]);
  });

  it('throws the JSON error of a 400 as an AnswerClientError', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'bad-1' });
      response.end(
        JSON.stringify({
          error: { code: 'invalid_request', message: 'k must be between 1 and 50' },
        }),
      );
    });

    const error = await collect(streamAnswer({ question: 'q', k: 99 }, { baseUrl })).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(AnswerClientError);
    expect(error).toMatchObject({
      name: 'AnswerClientError',
      status: 400,
      code: 'invalid_request',
      message: 'k must be between 1 and 50',
      requestId: 'bad-1',
    });
  });

  it('falls back to the status line when the error body is not JSON', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(502, 'Bad Gateway', { 'content-type': 'text/html' });
      response.end('<html><body>upstream down</body></html>');
    });

    await expect(collect(streamAnswer({ question: 'q' }, { baseUrl }))).rejects.toMatchObject({
      name: 'AnswerClientError',
      status: 502,
      code: 'http_error',
      message: 'The server answered 502 Bad Gateway.',
      requestId: null,
    });
  });

  it('refuses a 200 that is not an event stream', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>a captive portal</html>');
    });

    await expect(collect(streamAnswer({ question: 'q' }, { baseUrl }))).rejects.toMatchObject({
      status: 200,
      code: 'unexpected_content_type',
    });
  });

  it('rejects with stream_ended when the stream stops before done', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.write(frame('meta', meta));
      response.write(frame('token', { text: 'Use CREATE' }));
      // A done frame without its closing blank line was never dispatched: still cut short.
      response.end(`event: done\ndata: ${JSON.stringify(done)}\n`);
    });

    const received: AnswerEvent[] = [];
    const error = await (async () => {
      for await (const event of streamAnswer({ question: 'q' }, { baseUrl })) received.push(event);
    })().catch((caught: unknown) => caught);

    expect(received).toEqual([
      { event: 'meta', data: meta },
      { event: 'token', data: { text: 'Use CREATE' } },
    ]);
    expect(error).toBeInstanceOf(AnswerClientError);
    expect(error).toMatchObject({ code: 'stream_ended', status: 200, requestId: 'request-1' });
  });

  it('rejects a known event whose data is not the contract JSON', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.end('event: token\ndata: not json\n\n');
    });

    await expect(collect(streamAnswer({ question: 'q' }, { baseUrl }))).rejects.toMatchObject({
      code: 'invalid_event',
    });
  });

  it('reports an unreachable server as network_error without a status', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    await expect(
      collect(streamAnswer({ question: 'q' }, { baseUrl: `http://127.0.0.1:${port}` })),
    ).rejects.toMatchObject({ name: 'AnswerClientError', code: 'network_error', status: null });
  });

  /**
   * A server that sends meta and one token, then stays silent; resolves `closed` with whether
   * the response had finished when its connection closed.
   */
  async function startHangingServer(): Promise<{ baseUrl: string; closed: Promise<boolean> }> {
    let onClose: (finished: boolean) => void = () => {};
    const closed = new Promise<boolean>((resolve) => {
      onClose = resolve;
    });
    const baseUrl = await startServer((_request, response) => {
      response.on('close', () => onClose(response.writableFinished));
      response.writeHead(200, sseHeaders);
      response.write(frame('meta', meta));
      response.write(frame('token', { text: 'Use ' }));
    });
    return { baseUrl, closed };
  }

  it('aborting the signal mid-stream closes the connection the server is writing to', async () => {
    const { baseUrl, closed } = await startHangingServer();
    const controller = new AbortController();
    const received: AnswerEvent[] = [];

    const error = await (async () => {
      for await (const event of streamAnswer(
        { question: 'q' },
        { baseUrl, signal: controller.signal },
      )) {
        received.push(event);
        if (event.event === 'token') controller.abort();
      }
    })().catch((caught: unknown) => caught);

    expect(received.map((event) => event.event)).toEqual(['meta', 'token']);
    expect(error).toMatchObject({ name: 'AbortError' });
    // false: the server had not ended the response; it saw the client go away.
    expect(await waitFor(closed, 2000, "the server response's close")).toBe(false);
  });

  it('leaving the loop early cancels the body, so the server sees the disconnect', async () => {
    const { baseUrl, closed } = await startHangingServer();

    for await (const event of streamAnswer({ question: 'q' }, { baseUrl })) {
      if (event.event === 'token') break;
    }

    expect(await waitFor(closed, 2000, "the server response's close")).toBe(false);
  });
});

describe('askAnswer', () => {
  it('asks for JSON and returns the body', async () => {
    const body: AnswerBody = {
      answer: 'Use CREATE INDEX CONCURRENTLY [1].',
      sources,
      finishReason: 'stop',
      timings: done.timings,
    };
    let accept: string | undefined;
    let path: string | undefined;
    const baseUrl = await startServer((request, response) => {
      accept = request.headers.accept;
      path = request.url;
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    });

    // A trailing slash on the base URL does not double the path's.
    expect(await askAnswer({ question: 'q' }, { baseUrl: `${baseUrl}/` })).toEqual(body);
    expect(accept).toBe('application/json');
    expect(path).toBe('/v1/answer');
  });

  it('throws the JSON error of a 400 as an AnswerClientError', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'invalid_request', message: 'no question' } }));
    });

    await expect(askAnswer({ question: '' }, { baseUrl })).rejects.toMatchObject({
      name: 'AnswerClientError',
      status: 400,
      code: 'invalid_request',
      message: 'no question',
    });
  });

  it('refuses an event stream where JSON was asked for', async () => {
    const baseUrl = await startServer((_request, response) => {
      response.writeHead(200, sseHeaders);
      response.end(wholeStream);
    });

    await expect(askAnswer({ question: 'q' }, { baseUrl })).rejects.toMatchObject({
      code: 'unexpected_content_type',
      requestId: 'request-1',
    });
  });
});

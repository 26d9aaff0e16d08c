/**
 * node scripts/bench/bare-relay.ts --upstream URL [--port N] [--upstream-client http|fetch]
 *
 * The floor of the streaming benchmark: the least a server can do to relay a model's stream as
 * our SSE frames. No framework, no retrieval, no validation: on any POST it writes the SSE
 * headers and a `meta` frame at once, asks the OpenAI-compatible server at `--upstream` for a
 * streamed chat completion, re-emits each content delta as a `token` frame and ends with
 * `done`. Whatever streamrag adds on top of this is the overhead the benchmark reports.
 *
 * `--upstream-client http` (the default) uses node:http with a keep-alive agent, the cheapest
 * client in Node; `fetch` uses Node's fetch (undici), what the OpenAI SDK under LangChain uses.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
    'upstream-client': { type: 'string', default: 'http' },
  },
});
if (values.upstream === undefined) throw new Error('--upstream URL (…/v1) is required');
const upstreamClient = values['upstream-client'];
if (upstreamClient !== 'http' && upstreamClient !== 'fetch') {
  throw new Error('--upstream-client must be http or fetch');
}
const completionsUrl = `${values.upstream.replace(/\/$/, '')}/chat/completions`;
const upstreamAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

const sseHeaders = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

let nextRequestId = 0;

const server = createServer((request, response) => {
  if (request.method !== 'POST') {
    response.writeHead(404).end();
    return;
  }
  const startedAt = performance.now();
  const body: Buffer[] = [];
  request.on('data', (chunk: Buffer) => body.push(chunk));
  request.on('end', () => {
    let question = '';
    try {
      question = String(
        (JSON.parse(Buffer.concat(body).toString('utf8')) as { question?: unknown }).question ?? '',
      );
    } catch {
      response.writeHead(400).end();
      return;
    }
    relay(question, response, startedAt);
  });
});

function relay(question: string, response: ServerResponse, startedAt: number): void {
  nextRequestId += 1;
  response.writeHead(200, sseHeaders);
  response.write(
    frame('meta', { requestId: `relay-${nextRequestId}`, generator: 'relay', search: 'none' }),
  );
  let firstTokenMs: number | null = null;
  let finished = false;
  const upstream = new AbortController();
  response.on('close', () => {
    if (!finished) upstream.abort();
  });
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') return;
      const chunk = JSON.parse(event.data) as { choices?: { delta?: { content?: string } }[] };
      const text = chunk.choices?.[0]?.delta?.content;
      if (text === undefined || text === '') return;
      firstTokenMs ??= performance.now() - startedAt;
      response.write(frame('token', { text }));
    },
  });
  const finish = (error?: unknown) => {
    if (finished) return;
    finished = true;
    if (error === undefined) {
      const totalMs = performance.now() - startedAt;
      response.end(frame('done', { finishReason: 'stop', timings: { firstTokenMs, totalMs } }));
    } else {
      response.end(frame('error', { code: 'generation_failed', message: String(error) }));
    }
  };
  const payload = JSON.stringify({
    model: 'stand-in-chat',
    stream: true,
    messages: [{ role: 'user', content: question }],
  });
  if (upstreamClient === 'fetch') {
    void relayWithFetch(payload, upstream.signal, (text) => parser.feed(text)).then(
      () => finish(),
      finish,
    );
  } else {
    relayWithHttp(payload, upstream.signal, (text) => parser.feed(text), finish);
  }
}

function relayWithHttp(
  payload: string,
  signal: AbortSignal,
  onText: (text: string) => void,
  onEnd: (error?: unknown) => void,
): void {
  const upstreamRequest = httpRequest(
    completionsUrl,
    {
      method: 'POST',
      agent: upstreamAgent,
      signal,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        accept: 'text/event-stream',
      },
    },
    (upstreamResponse: IncomingMessage) => {
      if (upstreamResponse.statusCode !== 200) {
        upstreamResponse.resume();
        onEnd(new Error(`upstream HTTP ${upstreamResponse.statusCode}`));
        return;
      }
      upstreamResponse.setEncoding('utf8');
      upstreamResponse.on('data', onText);
      upstreamResponse.on('end', () => onEnd());
      upstreamResponse.on('error', onEnd);
    },
  );
  upstreamRequest.on('error', onEnd);
  upstreamRequest.end(payload);
}

async function relayWithFetch(
  payload: string,
  signal: AbortSignal,
  onText: (text: string) => void,
): Promise<void> {
  const upstreamResponse = await fetch(completionsUrl, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: payload,
  });
  if (upstreamResponse.status !== 200 || upstreamResponse.body === null) {
    throw new Error(`upstream HTTP ${upstreamResponse.status}`);
  }
  const decoder = new TextDecoder();
  for await (const bytes of upstreamResponse.body) onText(decoder.decode(bytes, { stream: true }));
}

server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`bare relay (${upstreamClient} upstream) listening on http://${address}:${port}`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

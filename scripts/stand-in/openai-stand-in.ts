/**
 * A stand-in for an OpenAI-compatible server, speaking the real HTTP wire format, for tests
 * and benchmarks on machines that cannot reach a model. Our code talks to it through
 * `@langchain/openai` exactly as it would talk to OpenAI, Ollama or vLLM.
 *
 * Implemented: `POST /v1/embeddings` (float and base64 encodings; deterministic vectors from
 * the local hash embedder, so similar texts get similar vectors) and `GET /v1/models`.
 * Failure modes: the next N requests answer with a given status.
 *
 * @example
 * const standIn = await startOpenAIStandIn({ dimensions: 64 });
 * // OPENAI_BASE_URL = standIn.baseUrl; …; await standIn.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashEmbed } from '../../src/embeddings/local-hash-embeddings.ts';

export interface StandInOptions {
  /** Dimension of the vectors returned (unless a request asks for fewer). */
  dimensions?: number;
  port?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface OpenAIStandIn {
  /** e.g. http://127.0.0.1:41234/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  /** The next `count` requests fail with `status` (500, 429, …). */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

export async function startOpenAIStandIn(options: StandInOptions = {}): Promise<OpenAIStandIn> {
  const dimensions = options.dimensions ?? 384;
  const requests: RecordedRequest[] = [];
  let failures = { count: 0, status: 500 };

  const server = createServer(async (request, response) => {
    const body = await readJson(request);
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    requests.push({ method: request.method ?? 'GET', path, body });
    if (failures.count > 0) {
      failures.count -= 1;
      return sendError(response, failures.status, 'Stand-in failure on request', 'server_error');
    }
    if (request.method === 'GET' && path === '/v1/models') {
      return sendJson(response, 200, {
        object: 'list',
        data: [{ id: 'stand-in-embedding', object: 'model', created: 0, owned_by: 'stand-in' }],
      });
    }
    if (request.method === 'POST' && path === '/v1/embeddings') {
      return embeddings(response, body, dimensions);
    }
    sendError(response, 404, `Unknown route ${request.method} ${path}`, 'invalid_request_error');
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function embeddings(response: ServerResponse, body: unknown, defaultDimensions: number) {
  const request = body as {
    input?: unknown;
    model?: unknown;
    encoding_format?: unknown;
    dimensions?: unknown;
  };
  const inputs = typeof request.input === 'string' ? [request.input] : request.input;
  if (!Array.isArray(inputs) || inputs.some((input) => typeof input !== 'string')) {
    return sendError(
      response,
      400,
      "'input' must be a string or an array of strings",
      'invalid_request_error',
    );
  }
  if (inputs.length > 2048) {
    return sendError(response, 400, "'input' may hold at most 2048 items", 'invalid_request_error');
  }
  const dimensions =
    typeof request.dimensions === 'number' ? request.dimensions : defaultDimensions;
  const base64 = request.encoding_format === 'base64';
  sendJson(response, 200, {
    object: 'list',
    model: typeof request.model === 'string' ? request.model : 'stand-in-embedding',
    data: inputs.map((input: string, index) => {
      const vector = hashEmbed(input, dimensions);
      return {
        object: 'embedding',
        index,
        embedding: base64
          ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
          : vector,
      };
    }),
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, status: number, payload: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(payload));
}

function sendError(response: ServerResponse, status: number, message: string, type: string) {
  sendJson(response, status, { error: { message, type, param: null, code: null } });
}

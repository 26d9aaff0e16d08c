/**
 * `POST /v1/embeddings` for the stand-in: deterministic vectors from the local hash embedder,
 * so similar texts get similar vectors, in float or base64 encoding like OpenAI.
 */
import type { ServerResponse } from 'node:http';
import { hashEmbed } from '../../src/embeddings/local-hash-embeddings.ts';
import { sendError, sendJson } from './http-json.ts';

/**
 * Answers one embeddings request (already read and parsed) on `response`.
 *
 * @example
 * embeddings(response, { input: ['a', 'b'], model: 'stand-in-embedding' }, 384);
 */
export function embeddings(response: ServerResponse, body: unknown, defaultDimensions: number) {
  const request = body as {
    input?: unknown;
    model?: unknown;
    encoding_format?: unknown;
    dimensions?: unknown;
  };
  const inputs = typeof request?.input === 'string' ? [request.input] : request?.input;
  if (!Array.isArray(inputs) || inputs.some((input) => typeof input !== 'string')) {
    return sendError(response, 400, "'input' must be a string or an array of strings");
  }
  if (inputs.length > 2048) {
    return sendError(response, 400, "'input' may hold at most 2048 items");
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

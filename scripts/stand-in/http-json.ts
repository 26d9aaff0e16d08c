/**
 * JSON helpers shared by the stand-in's routes: read a request body, answer with JSON, answer
 * with an error in OpenAI's `{ error: { message, type, param, code } }` shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What an OpenAI error body carries besides its message. */
export interface ErrorDetails {
  type?: string;
  param?: string | null;
  code?: string | null;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
}

/**
 * Reads and parses a JSON request body; `undefined` when the body is empty or not JSON (the
 * routes answer both with a 400, as OpenAI does).
 *
 * @example
 * const body = await readJson(request);
 */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Answers with a JSON body.
 *
 * @example
 * sendJson(response, 200, { object: 'list', data: [] });
 */
export function sendJson(
  response: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(payload));
}

/**
 * Answers with an OpenAI-shaped error body.
 *
 * @example
 * sendError(response, 400, "Missing required parameter: 'messages'.", {
 *   param: 'messages',
 *   code: 'missing_required_parameter',
 * });
 */
export function sendError(
  response: ServerResponse,
  status: number,
  message: string,
  details: ErrorDetails = {},
) {
  const error = {
    message,
    type: details.type ?? 'invalid_request_error',
    param: details.param ?? null,
    code: details.code ?? null,
  };
  sendJson(response, status, { error }, details.headers);
}

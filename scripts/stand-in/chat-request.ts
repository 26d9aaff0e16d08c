/**
 * Validation of `POST /v1/chat/completions` bodies, with OpenAI's error messages, params and
 * codes, so a request our code builds wrongly fails here the way it would fail against OpenAI.
 */

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];

/** The parts of a chat request the stand-in acts on. */
export interface ChatRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  /** From `max_completion_tokens` or `max_tokens`; undefined means no limit. */
  maxTokens: number | undefined;
  promptTokens: number;
}

/** A 400 answer: OpenAI's message, and the `param` and `code` it reports. */
export interface ChatRequestError {
  message: string;
  param: string | null;
  code: string | null;
}

/**
 * Checks a parsed body; returns the request or the error OpenAI would answer with.
 *
 * @example
 * const parsed = parseChatRequest({ model: 'stand-in-chat', messages: [] });
 * // { error: { message: "Invalid 'messages': empty array. …", param: 'messages', code: 'empty_array' } }
 */
export function parseChatRequest(
  body: unknown,
): { request: ChatRequest } | { error: ChatRequestError } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail(
      'We could not parse the JSON body of your request. (HINT: This likely means you aren’t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
      null,
      null,
    );
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.model !== 'string' || fields.model === '') {
    return fail('you must provide a model parameter', null, null);
  }
  const messages = fields.messages;
  if (messages === undefined) {
    return fail(
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    );
  }
  if (!Array.isArray(messages)) {
    return fail(
      `Invalid type for 'messages': expected an array, but got ${typeName(messages)} instead.`,
      'messages',
      'invalid_type',
    );
  }
  if (messages.length === 0) {
    return fail(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  let promptTokens = 0;
  for (const [index, message] of messages.entries()) {
    const problem = checkMessage(message, `messages[${index}]`);
    if (problem) return { error: problem };
    promptTokens += countWords((message as { content: unknown }).content);
  }
  const stream = fields.stream === true;
  if (fields.stream_options !== undefined && fields.stream_options !== null && !stream) {
    return fail(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
      null,
    );
  }
  const limit = fields.max_completion_tokens ?? fields.max_tokens;
  const limitName =
    fields.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens';
  if (
    limit !== undefined &&
    limit !== null &&
    (!Number.isInteger(limit) || (limit as number) < 1)
  ) {
    return fail(
      `Invalid '${limitName}': expected an integer >= 1, but got ${JSON.stringify(limit)} instead.`,
      limitName,
      'invalid_value',
    );
  }
  const streamOptions = fields.stream_options as { include_usage?: unknown } | null | undefined;
  return {
    request: {
      model: fields.model,
      stream,
      includeUsage: stream && streamOptions?.include_usage === true,
      maxTokens: typeof limit === 'number' ? limit : undefined,
      promptTokens,
    },
  };
}

function checkMessage(message: unknown, path: string): ChatRequestError | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return {
      message: `Invalid type for '${path}': expected an object, but got ${typeName(message)} instead.`,
      param: path,
      code: 'invalid_type',
    };
  }
  const { role, content } = message as { role?: unknown; content?: unknown };
  if (role === undefined) {
    return {
      message: `Missing required parameter: '${path}.role'.`,
      param: `${path}.role`,
      code: 'missing_required_parameter',
    };
  }
  if (typeof role !== 'string' || !ROLES.includes(role)) {
    return {
      message: `Invalid value: ${typeof role === 'string' ? `'${role}'` : JSON.stringify(role)}. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
      param: `${path}.role`,
      code: 'invalid_value',
    };
  }
  // An assistant message that only calls tools may carry no content.
  if ((content === undefined || content === null) && role !== 'assistant') {
    return {
      message: `Missing required parameter: '${path}.content'.`,
      param: `${path}.content`,
      code: 'missing_required_parameter',
    };
  }
  if (content !== undefined && content !== null && typeof content !== 'string') {
    if (!Array.isArray(content)) {
      return {
        message: `Invalid type for '${path}.content': expected one of a string or array of objects, but got ${typeName(content)} instead.`,
        param: `${path}.content`,
        code: 'invalid_type',
      };
    }
  }
  return undefined;
}

/** One prompt token per whitespace-separated word: deterministic, and close enough. */
function countWords(content: unknown): number {
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content
            .map((part) => (typeof part?.text === 'string' ? (part.text as string) : ''))
            .join(' ')
        : '';
  return text.split(/\s+/).filter(Boolean).length;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function fail(message: string, param: string | null, code: string | null) {
  return { error: { message, param, code } };
}

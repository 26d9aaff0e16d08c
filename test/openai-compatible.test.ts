import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';
import type { AnswerSource } from '../src/answer/answer-events.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

// The engine does not matter here (the storage suite runs on both): the embedded one.
const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

const question = 'How do bees tell each other where the flowers are?';
const reply = standInReply(12).join('');

/** The stand-in's reply cites [1]; the server appends the cited source. */
function withSourceList(sources: AnswerSource[]): string {
  const first = sources[0] as AnswerSource;
  return `${reply}\n\nSources:\n- [1] ${first.title} — ${first.source}`;
}

/** Every `data:` payload of an SSE body, in order. */
function dataFrames(body: string): string[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

describe('the OpenAI-compatible API, through OpenAI clients pointed at it by base URL', () => {
  let standIn: OpenAIStandIn;
  let server: RunningServer;
  let extractive: RunningServer;
  let openai: OpenAI;
  beforeAll(async () => {
    standIn = await startOpenAIStandIn({ tokenCount: 12 });
    server = await startTestServer(engine, {
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.baseUrl,
      OPENAI_API_KEY: 'test-key',
      LLM_MAX_RETRIES: '0',
    });
    extractive = await startTestServer(engine);
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.shutdown();
    await extractive?.shutdown();
    await standIn?.close();
    await engine.cleanup();
  });
  afterEach(() => {
    standIn.configure({ timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 12 });
  });

  it('streams an answer to the openai SDK, with sources, finish and usage chunks', async () => {
    standIn.requests.length = 0;
    const stream = await openai.chat.completions.create({
      model: 'streamrag',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Tell me about insects.' },
        { role: 'assistant', content: 'Insects have six legs.' },
        { role: 'user', content: question },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    const extra = chunks.map(
      (chunk) => (chunk as unknown as { streamrag?: { sources?: AnswerSource[] } }).streamrag,
    );
    const sources = extra.find((fields) => fields?.sources !== undefined)?.sources ?? [];
    expect(sources.map((source) => source.title)).toContain('Honeybees');
    expect(text).toBe(withSourceList(sources));
    // One completion: every chunk names it and the model asked for.
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.model === 'streamrag')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    // finish_reason in its own chunk with an empty delta, then the usage chunk.
    const finish = chunks.at(-2);
    expect(finish?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 12 });

    // The question and the history reached the model; the system message did not.
    const upstream = standIn.requests.find((request) => request.path === '/v1/chat/completions');
    const upstreamBody = upstream?.body as { messages: { content: string }[] } | undefined;
    const messages = upstreamBody?.messages ?? [];
    expect(messages.map((message) => message.content)).toContain('Tell me about insects.');
    expect(messages.map((message) => message.content)).toContain('Insects have six legs.');
    expect(messages.at(-1)?.content).toContain(question);
    expect(JSON.stringify(messages)).not.toContain('You are terse.');
  });

  it('answers the openai SDK without streaming, in one chat.completion body', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: question }],
    });
    const { sources, timings } = (
      completion as unknown as { streamrag: { sources: AnswerSource[]; timings: object } }
    ).streamrag;
    expect(timings).toMatchObject({ firstTokenMs: expect.any(Number) });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: withSourceList(sources) },
          finish_reason: 'stop',
        },
      ],
      usage: { completion_tokens: 12 },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
  });

  it('writes the exact OpenAI wire format: role chunk first, [DONE] last', async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'streamrag',
        messages: [{ role: 'user', content: [{ type: 'text', text: question }] }],
        stream: true,
        append_sources: false,
      }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const frames = dataFrames(await response.text());
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame));
    const deltas = chunks.map((chunk) => chunk.choices[0]?.delta);
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      {},
      ...standInReply(12).map((token) => ({ content: token })),
      {},
    ]);
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason)).toEqual([
      ...Array(14).fill(null),
      'stop',
    ]);
    // Without include_usage there is no usage field at all.
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks[1].streamrag.sources.length).toBeGreaterThan(0);
    expect(chunks.at(-1).streamrag.timings).toMatchObject({ totalMs: expect.any(Number) });
    // Nothing else is added at the top level: bare `sources`/`timings` mean other things to
    // some clients.
    for (const chunk of chunks) {
      expect(Object.keys(chunk).filter((key) => !openAIChunkKeys.has(key))).toEqual(
        chunk.streamrag === undefined ? [] : ['streamrag'],
      );
    }
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        object: 'chat.completion.chunk',
        id: chunks[0].id,
        created: chunks[0].created,
        model: 'streamrag',
      });
    }
  });

  it("streams to LangChain's ChatOpenAI through .stream()", async () => {
    const model = new ChatOpenAI({
      model: 'streamrag',
      apiKey: 'unused',
      maxRetries: 0,
      configuration: { baseURL: `${server.url}/v1` },
    });
    const pieces: string[] = [];
    let finishReason: unknown;
    let usage: unknown;
    for await (const chunk of await model.stream([['user', question]])) {
      pieces.push(chunk.text);
      finishReason ??= chunk.response_metadata?.finish_reason;
      usage ??= chunk.usage_metadata;
    }
    expect(pieces.join('')).toMatch(
      new RegExp(`^${escapeRegExp(reply)}\\n\\nSources:\\n- \\[1\\] `),
    );
    expect(finishReason).toBe('stop');
    expect(usage).toMatchObject({ output_tokens: 12 });
  });

  it('gives the model an earlier answer without the source list appended to it', async () => {
    const first = await openai.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: 'Tell me about insects.' }],
    });
    const earlier = first.choices[0]?.message.content ?? '';
    expect(earlier).toContain('\n\nSources:\n- [1] ');
    standIn.requests.length = 0;
    await openai.chat.completions.create({
      model: 'streamrag',
      messages: [
        { role: 'user', content: 'Tell me about insects.' },
        { role: 'assistant', content: earlier },
        { role: 'user', content: question },
      ],
    });
    const upstream = standIn.requests.find((request) => request.path === '/v1/chat/completions');
    const upstreamBody = upstream?.body as { messages: { content: string }[] } | undefined;
    // The history turn is the answer's text alone (the prompt's own passages come after it).
    expect(upstreamBody?.messages[2]).toEqual({ role: 'assistant', content: reply });
  });

  it('gives every completion its own id, even when the client reuses X-Request-Id', async () => {
    const ask = async () => {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'same-every-time' },
        body: JSON.stringify({
          model: 'streamrag',
          messages: [{ role: 'user', content: question }],
        }),
      });
      expect(response.headers.get('x-request-id')).toBe('same-every-time');
      return ((await response.json()) as { id: string }).id;
    };
    expect(await ask()).not.toBe(await ask());
  });

  it("streams to the AI SDK's OpenAI-compatible provider (streamText)", async () => {
    const provider = createOpenAICompatible({
      name: 'streamrag',
      baseURL: `${server.url}/v1`,
      includeUsage: true,
    });
    const errors: unknown[] = [];
    const result = streamText({
      model: provider('streamrag'),
      prompt: question,
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(errors).toEqual([]);
    expect(text).toMatch(new RegExp(`^${escapeRegExp(reply)}\\n\\nSources:\\n- \\[1\\] `));
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(12);
  });

  it('passes max_tokens and temperature to the model, for that request only', async () => {
    standIn.requests.length = 0;
    const limited = await openai.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
      max_tokens: 3,
      temperature: 0.2,
    });
    const cut = standInReply(12).slice(0, 3).join('');
    expect(limited.choices[0]?.finish_reason).toBe('length');
    expect(limited.choices[0]?.message.content).toMatch(
      new RegExp(`^${escapeRegExp(cut)}\\n\\nSources:\\n`),
    );
    await openai.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
    });
    const upstream = standIn.requests
      .filter((request) => request.path === '/v1/chat/completions')
      .map((request) => request.body as { max_tokens?: number; temperature?: number });
    expect(upstream[0]).toMatchObject({ max_tokens: 3, temperature: 0.2 });
    // The next request is back on the server's own settings.
    expect(upstream[1]?.max_tokens).toBeUndefined();
    expect(upstream[1]?.temperature).not.toBe(0.2);
  });

  it('lists its model at /v1/models', async () => {
    const models = [];
    for await (const model of openai.models.list()) models.push(model);
    expect(models).toEqual([
      { id: 'streamrag', object: 'model', created: expect.any(Number), owned_by: 'streamrag' },
    ]);
    // Any name is answered, so any name is described.
    expect(await openai.models.retrieve('gpt-4o-mini')).toMatchObject({
      id: 'gpt-4o-mini',
      object: 'model',
    });
  });

  it.each([
    ['no model', { messages: [{ role: 'user', content: 'q' }] }, 'model is required', 'model'],
    [
      'no messages',
      { model: 'm', messages: [] },
      'messages must have at least one message',
      'messages',
    ],
    [
      'a last message that is not the user’s',
      { model: 'm', messages: [{ role: 'assistant', content: 'hi' }] },
      'messages[0] must be a user message: the last message is the question',
      'messages[0].role',
    ],
    [
      'an image',
      {
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      },
      'messages[0].content[0].type must be "text": only text content is supported (no images, audio or files)',
      'messages[0].content[0].type',
    ],
    [
      'a tool message',
      { model: 'm', messages: [{ role: 'tool', content: 'r', tool_call_id: 't' }] },
      'messages[0].role must be "system", "developer", "user" or "assistant" (tool messages are not supported)',
      'messages[0].role',
    ],
    [
      'n above 1',
      { model: 'm', n: 2, messages: [{ role: 'user', content: 'q' }] },
      'n must be 1: one answer per request is supported',
      'n',
    ],
    [
      'a bad k',
      { model: 'm', k: 0, messages: [{ role: 'user', content: 'q' }] },
      'k must be a whole number between 1 and 50',
      'k',
    ],
    [
      'a temperature above 2',
      { model: 'm', temperature: 3, messages: [{ role: 'user', content: 'q' }] },
      'temperature must be between 0 and 2',
      'temperature',
    ],
    [
      'a max_tokens of 0',
      { model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'q' }] },
      'max_tokens must be at least 1',
      'max_tokens',
    ],
  ])('refuses %s with a 400 in OpenAI’s error shape', async (_case, body, message, param) => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { message, type: 'invalid_request_error', param, code: 'invalid_request' } },
    });
  });

  it('gives the openai SDK a BadRequestError it can read', async () => {
    const failure = await openai.chat.completions
      .create({ model: 'streamrag', messages: [] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect(failure).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'messages',
      code: 'invalid_request',
    });
  });

  it('ends a stream whose model fails with an in-stream error the SDK raises', async () => {
    standIn.failNext(1, 500);
    const stream = await openai.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
      stream: true,
    });
    const failure = await (async () => {
      for await (const _chunk of stream) {
        // reading until the error frame
      }
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ code: 'generation_failed', type: 'server_error' });
  });

  it('writes the error frame last, with no [DONE] after it', async () => {
    standIn.failNext(1, 500);
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'streamrag',
        stream: true,
        messages: [{ role: 'user', content: question }],
      }),
    });
    const frames = dataFrames(await response.text());
    expect(JSON.parse(frames.at(-1) ?? '')).toEqual({
      error: {
        message: expect.any(String),
        type: 'server_error',
        param: null,
        code: 'generation_failed',
      },
    });
    expect(frames).not.toContain('[DONE]');
  });

  it('answers a non-streaming request whose model fails with a 502 the SDK raises', async () => {
    standIn.failNext(1, 500);
    const failure = await openai.chat.completions
      .create({ model: 'streamrag', messages: [{ role: 'user', content: question }] })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ status: 502, type: 'server_error', code: 'generation_failed' });
  });

  it('stops the model when the SDK aborts the stream', async () => {
    standIn.configure({ interTokenDelayMs: 50, tokenCount: 1000 });
    const streamsBefore = standIn.chatStreams.length;
    const stream = await openai.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
      stream: true,
    });
    let contentChunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) contentChunks += 1;
      if (contentChunks === 3) break; // leaving the loop aborts the request
    }
    const upstream = standIn.chatStreams[streamsBefore];
    expect(upstream).toBeDefined();
    await standIn.waitForClientClose(upstream);
    expect(upstream?.tokensSent).toBeLessThan(1000);
  });

  it('answers with the extractive generator too, counting its chunks as usage', async () => {
    const client = new OpenAI({ baseURL: `${extractive.url}/v1`, apiKey: 'unused' });
    const completion = await client.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
      append_sources: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const content = completion.choices[0]?.message.content ?? '';
    expect(content).toMatch(/\[1\]/);
    expect(content).not.toContain('Sources:');
    expect(completion.usage?.completion_tokens).toBeGreaterThan(3);
    expect(completion.usage?.prompt_tokens).toBe(0);
    // max_tokens counts its words.
    const cut = await client.chat.completions.create({
      model: 'streamrag',
      messages: [{ role: 'user', content: question }],
      max_tokens: 2,
      append_sources: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.choices[0]?.message.content).toBe(content.split(' ').slice(0, 2).join(' '));
  });
});

const openAIChunkKeys = new Set(['id', 'object', 'created', 'model', 'choices', 'usage']);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

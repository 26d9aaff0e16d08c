import { setTimeout as sleep } from 'node:timers/promises';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';

const QUESTION = [
  { role: 'system', content: 'Answer from the passages.' },
  { role: 'user', content: 'When does the dome open?' },
];
/** Whitespace-separated words in QUESTION: the stand-in's prompt token count. */
const PROMPT_TOKENS = 4 + 5;

describe('standInReply', () => {
  it('opens with a citation and is a prefix of any longer reply', () => {
    expect(standInReply(4)).toEqual(['According to [1],', ' the', ' stand-in', ' model']);
    expect(standInReply(20).join('')).toBe(
      'According to [1], the stand-in model streams this deterministic answer one token at a' +
        ' time. The stand-in model streams this deterministic',
    );
    expect(standInReply(50).slice(0, 20)).toEqual(standInReply(20));
    expect(standInReply(0)).toEqual([]);
  });
});

describe('OpenAI stand-in chat completions', () => {
  let standIn: OpenAIStandIn;
  // A fresh stand-in per test, so a fault one test leaves queued cannot leak into the next.
  beforeEach(async () => {
    standIn = await startOpenAIStandIn({ tokenCount: 8 });
  });
  afterEach(() => standIn.close());

  const chatModel = (fields: { maxRetries?: number; maxTokens?: number } = {}) =>
    new ChatOpenAI({
      model: 'stand-in-chat',
      apiKey: 'x',
      configuration: { baseURL: standIn.baseUrl },
      maxRetries: 0,
      streamUsage: true,
      ...fields,
    });

  const postChat = (body: unknown, signal?: AbortSignal) =>
    fetch(`${standIn.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal,
    });

  const streamBody = (extra: Record<string, unknown> = {}) => ({
    model: 'stand-in-chat',
    messages: QUESTION,
    stream: true,
    ...extra,
  });

  it('streams the reply tokens and usage through ChatOpenAI', async () => {
    const chunks: AIMessageChunk[] = [];
    for await (const chunk of await chatModel().stream(QUESTION)) chunks.push(chunk);

    const tokens = chunks.map((chunk) => chunk.text).filter((text) => text !== '');
    expect(tokens).toEqual(standInReply(8));
    expect(chunks.at(-1)?.usage_metadata).toMatchObject({
      input_tokens: PROMPT_TOKENS,
      output_tokens: 8,
      total_tokens: PROMPT_TOKENS + 8,
    });
    const whole = chunks.reduce((sum, chunk) => sum.concat(chunk));
    expect(whole.response_metadata).toMatchObject({ finish_reason: 'stop' });
    // ChatOpenAI asks for usage in the stream only because streamUsage is on.
    expect(standIn.requests).toEqual([
      {
        method: 'POST',
        path: '/v1/chat/completions',
        body: expect.objectContaining({ stream: true, stream_options: { include_usage: true } }),
      },
    ]);
    expect(standIn.chatStreams).toEqual([{ tokensSent: 8, finished: true, closedByClient: false }]);
  });

  it('answers a non-streamed invoke with the whole reply', async () => {
    const message = await chatModel().invoke(QUESTION);
    expect(message.content).toBe(standInReply(8).join(''));
    expect(message.usage_metadata).toMatchObject({
      input_tokens: PROMPT_TOKENS,
      output_tokens: 8,
      total_tokens: PROMPT_TOKENS + 8,
    });
    expect(message.response_metadata).toMatchObject({ finish_reason: 'stop' });
    expect(standIn.requests[0]?.body).toMatchObject({ stream: false });
    expect(standIn.chatStreams).toEqual([]);
  });

  it('cuts the reply at max_tokens with finish_reason "length"', async () => {
    const message = await chatModel({ maxTokens: 3 }).invoke(QUESTION);
    expect(message.content).toBe(standInReply(3).join(''));
    expect(message.response_metadata).toMatchObject({ finish_reason: 'length' });
  });

  it('sends the exact OpenAI frame sequence, with usage when asked', async () => {
    const response = await postChat(streamBody({ stream_options: { include_usage: true } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    const frames = text.split('\n\n');
    expect(frames.pop()).toBe(''); // every frame ends with a blank line
    expect(frames.every((frame) => frame.startsWith('data: '))).toBe(true);
    expect(frames.at(-1)).toBe('data: [DONE]');

    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice('data: '.length)));
    const [first] = chunks;
    const envelope = {
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion.chunk',
      created: expect.any(Number),
      model: 'stand-in-chat',
      system_fingerprint: null,
    };
    const choice = (delta: object, finishReason: string | null) => ({
      ...envelope,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      usage: null,
    });
    expect(chunks).toEqual([
      choice({ role: 'assistant', content: '' }, null),
      ...standInReply(8).map((token) => choice({ content: token }, null)),
      choice({}, 'stop'),
      {
        ...envelope,
        choices: [],
        usage: {
          prompt_tokens: PROMPT_TOKENS,
          completion_tokens: 8,
          total_tokens: PROMPT_TOKENS + 8,
        },
      },
    ]);
    expect(new Set(chunks.map((chunk) => chunk.id))).toEqual(new Set([first.id]));
  });

  it('leaves usage out of the stream unless asked, and says "length" when cut', async () => {
    const response = await postChat(streamBody({ max_tokens: 2 }));
    const frames = (await response.text()).split('\n\n').filter((frame) => frame !== '');
    expect(frames.at(-1)).toBe('data: [DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice('data: '.length)));
    expect(chunks.map((chunk) => 'usage' in chunk)).toEqual([false, false, false, false]);
    expect(chunks.map((chunk) => [chunk.choices[0].delta, chunk.choices[0].finish_reason])).toEqual(
      [
        [{ role: 'assistant', content: '' }, null],
        [{ content: standInReply(2)[0] }, null],
        [{ content: standInReply(2)[1] }, null],
        [{}, 'length'],
      ],
    );
  });

  it('fails the next requests on demand; ChatOpenAI retries a 429 with retry-after', async () => {
    standIn.failNext(1, 500);
    await expect(chatModel().invoke(QUESTION)).rejects.toMatchObject({ status: 500 });

    // LangChain retries a 429 only when it carries retry-after (a bare 429 is thrown as a
    // RateLimitCapacityError), and then after max(1-2 s backoff, retry-after).
    standIn.failNext(1, 429);
    const message = await chatModel({ maxRetries: 1 }).invoke(QUESTION);
    expect(message.content).toBe(standInReply(8).join(''));
    expect(standIn.requests).toHaveLength(3);
  });

  it('queues failures, and failNext works on other routes too', async () => {
    standIn.failNext(1, 429);
    standIn.failNext(1, 503);
    const responses = [];
    for (let index = 0; index < 3; index += 1) {
      responses.push(await fetch(`${standIn.baseUrl}/models`));
    }
    expect(responses.map((response) => response.status)).toEqual([429, 503, 200]);
    // retry-after: 0 makes the OpenAI SDK retry at once instead of backing off for ~0.5 s.
    expect(responses[0]?.headers.get('retry-after')).toBe('0');
    expect(await responses[0]?.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('drops the connection after N tokens: the ChatOpenAI stream errors', async () => {
    standIn.dropNext(3);
    const tokens: string[] = [];
    const consume = async () => {
      for await (const chunk of await chatModel().stream(QUESTION)) {
        if (chunk.text !== '') tokens.push(chunk.text);
      }
    };
    // undici reports the cut chunked body as TypeError('terminated').
    await expect(consume()).rejects.toThrow('terminated');
    expect(tokens).toEqual(standInReply(3));
    expect(standIn.chatStreams).toEqual([
      { tokensSent: 3, finished: false, closedByClient: false },
    ]);
    expect(standIn.stats).toMatchObject({ streamsDropped: 1, activeStreams: 0 });

    // Only the next request was dropped.
    const message = await chatModel().invoke(QUESTION);
    expect(message.content).toBe(standInReply(8).join(''));
  });

  it('stalls after N tokens until the client gives up', async () => {
    standIn.stallNext(2);
    const controller = new AbortController();
    const response = await postChat(streamBody(), controller.signal);
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (!reader) throw new Error('no body');
    let text = '';
    // Role chunk plus two content chunks; anything more would be a third token or the finish.
    while (text.split('\n\n').length - 1 < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      text += value;
    }
    const [record] = standIn.chatStreams;
    expect(record).toEqual({ tokensSent: 2, finished: false, closedByClient: false });
    expect(standIn.stats.streamsStalled).toBe(1);

    const nextRead = reader.read();
    controller.abort();
    await expect(nextRead).rejects.toThrow();
    await standIn.waitForClientClose(record);
    expect(record).toEqual({ tokensSent: 2, finished: false, closedByClient: true });
    expect(standIn.stats.activeStreams).toBe(0);
  });

  it('stops sending when ChatOpenAI aborts a stream', async () => {
    standIn.configure({ interTokenDelayMs: 5, tokenCount: 1000 });
    const controller = new AbortController();
    const tokens: string[] = [];
    const consume = async () => {
      const stream = await chatModel().stream(QUESTION, { signal: controller.signal });
      for await (const chunk of stream) {
        if (chunk.text !== '') tokens.push(chunk.text);
        if (tokens.length === 3) controller.abort();
      }
    };
    await expect(consume()).rejects.toMatchObject({ name: 'AbortError' });
    await standIn.waitForClientClose();
    const [record] = standIn.chatStreams;
    expect(record?.closedByClient).toBe(true);
    const sentAtClose = record?.tokensSent;
    // Its timers are gone: a few token intervals later, no more tokens were produced.
    await sleep(30);
    expect(record?.tokensSent).toBe(sentAtClose);
    expect(sentAtClose).toBeLessThan(1000);
  });

  it('holds the first content token until released', async () => {
    const hold = standIn.holdTokens();
    const response = await postChat(streamBody());
    // Headers arrived while the hold is on.
    expect(response.status).toBe(200);
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    if (!reader) throw new Error('no body');
    let firstRead: string | undefined;
    const pending = reader.read().then(({ value }) => {
      firstRead = value;
    });
    await sleep(20);
    expect(firstRead).toBeUndefined();
    expect(standIn.chatStreams[0]?.tokensSent).toBe(0);

    hold.release();
    await pending;
    let text = firstRead ?? '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const contents = text
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => JSON.parse(frame.slice('data: '.length)).choices[0]?.delta.content);
    expect(contents).toEqual(['', ...standInReply(8), undefined]);
    expect(standIn.chatStreams[0]).toEqual({
      tokensSent: 8,
      finished: true,
      closedByClient: false,
    });
  });

  it('keeps 100 paced streams open at once and finishes them all', async () => {
    standIn.configure({ timeToFirstTokenMs: 10, interTokenDelayMs: 2, tokenCount: 20 });
    const hold = standIn.holdTokens();
    const responses = await Promise.all(Array.from({ length: 100 }, () => postChat(streamBody())));
    // Every stream has its headers and none has a token: all 100 are open together.
    expect(standIn.stats).toMatchObject({ activeStreams: 100, peakActiveStreams: 100 });
    hold.release();
    const texts = await Promise.all(responses.map((response) => response.text()));
    const expected = standInReply(20).join('');
    for (const text of texts) {
      const contents = text
        .split('\n\n')
        .filter((frame) => frame.startsWith('data: {'))
        .map((frame) => JSON.parse(frame.slice('data: '.length)).choices[0]?.delta.content ?? '');
      expect(contents.join('')).toBe(expected);
    }
    expect(standIn.stats).toMatchObject({
      streamsFinished: 100,
      activeStreams: 0,
      tokensSent: 2000,
    });
  });

  it('applies configure() to the next requests', async () => {
    standIn.configure({ tokenCount: 3 });
    expect(standIn.timing).toEqual({ timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 3 });
    expect((await chatModel().invoke(QUESTION)).content).toBe(standInReply(3).join(''));
    expect(() => standIn.configure({ tokenCount: -1 })).toThrow(RangeError);
  });

  it('lists the chat and embedding models', async () => {
    const response = await fetch(`${standIn.baseUrl}/models`);
    const { data } = (await response.json()) as { data: { id: string }[] };
    expect(data.map((model) => model.id)).toEqual(['stand-in-chat', 'stand-in-embedding']);
  });

  it.each([
    ['a body that is not JSON', '{"model":', null, null],
    ['no messages', { model: 'stand-in-chat' }, 'messages', 'missing_required_parameter'],
    ['messages that are not an array', { model: 'm', messages: 'hi' }, 'messages', 'invalid_type'],
    ['no message at all', { model: 'm', messages: [] }, 'messages', 'empty_array'],
    [
      'a message without content',
      { model: 'm', messages: [{ role: 'user' }] },
      'messages[0].content',
      'missing_required_parameter',
    ],
    [
      'an unknown role',
      { model: 'm', messages: [{ role: 'bot', content: 'hi' }] },
      'messages[0].role',
      'invalid_value',
    ],
    [
      'stream_options without stream',
      { model: 'm', messages: QUESTION, stream_options: { include_usage: true } },
      'stream_options',
      null,
    ],
    [
      'max_tokens of zero',
      { model: 'm', messages: QUESTION, max_tokens: 0 },
      'max_tokens',
      'invalid_value',
    ],
  ])('answers 400 for %s', async (_name, body, param, code) => {
    standIn.dropNext(0);
    const response = await postChat(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', param, code },
    });
    expect(standIn.chatStreams).toEqual([]);
    // A rejected request does not use up a queued fault.
    const message = await chatModel()
      .invoke(QUESTION)
      .catch((error: Error) => error);
    expect(message).toBeInstanceOf(Error);
  });
});

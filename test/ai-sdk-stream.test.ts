import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

// The engine does not matter here (the storage suite runs on both): the embedded one.
const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

const question = 'How do bees tell each other where the flowers are?';

function userMessage(id: string, text: string): UIMessage {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}

describe('the AI SDK UI message stream at /api/chat, read by the AI SDK itself', () => {
  let standIn: OpenAIStandIn;
  let server: RunningServer;
  let transport: DefaultChatTransport<UIMessage>;
  beforeAll(async () => {
    standIn = await startOpenAIStandIn({ tokenCount: 12 });
    server = await startTestServer(engine, {
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.baseUrl,
      LLM_MAX_RETRIES: '0',
    });
    // What useChat() uses; only the URL differs from its default ('/api/chat' on the page's origin).
    transport = new DefaultChatTransport({ api: `${server.url}/api/chat` });
  });
  afterAll(async () => {
    await server?.shutdown();
    await standIn?.close();
    await engine.cleanup();
  });
  afterEach(() => {
    standIn.configure({ timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 12 });
  });

  /** Sends `messages` as useChat does and returns every state of the assistant message. */
  async function ask(messages: UIMessage[], body?: object): Promise<UIMessage[]> {
    const stream = await transport.sendMessages({
      chatId: 'chat-1',
      messages,
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
      ...(body === undefined ? {} : { body }),
    });
    const states: UIMessage[] = [];
    for await (const message of readUIMessageStream({ stream, terminateOnError: true })) {
      states.push(structuredClone(message));
    }
    return states;
  }

  it('parses into text and source parts, with the timings as message metadata', async () => {
    const states = await ask([userMessage('u1', question)], { k: 3 });
    const final = states.at(-1) as UIMessage;
    expect(final.role).toBe('assistant');
    const text = final.parts.filter((part) => part.type === 'text');
    expect(text).toEqual([{ type: 'text', text: standInReply(12).join(''), state: 'done' }]);
    const sources = final.parts.filter((part) => part.type === 'source-document');
    expect(sources).toHaveLength(3);
    expect(sources[0]).toMatchObject({
      type: 'source-document',
      mediaType: 'text/markdown',
      title: 'Honeybees',
      filename: expect.stringMatching(/bees\.md$/),
      providerMetadata: {
        streamrag: {
          citation: 1,
          snippet: expect.stringContaining('bee'),
          score: expect.any(Number),
        },
      },
    });
    // The sources arrive before the text, and the text grows over several states.
    const firstText = states.findIndex((state) => state.parts.some((part) => part.type === 'text'));
    const firstSource = states.findIndex((state) =>
      state.parts.some((part) => part.type === 'source-document'),
    );
    expect(firstSource).toBeLessThan(firstText);
    expect(states.length).toBeGreaterThan(12);
    expect(final.metadata).toMatchObject({
      generator: 'openai:stand-in-chat',
      timings: { firstTokenMs: expect.any(Number), totalMs: expect.any(Number) },
      usage: { completionTokens: 12 },
    });
  });

  it('sends the earlier turns as history, passing over the parts that are not text', async () => {
    standIn.requests.length = 0;
    const first = (await ask([userMessage('u1', 'Tell me about insects.')])).at(-1) as UIMessage;
    expect(first.parts.some((part) => part.type === 'source-document')).toBe(true);
    await ask([userMessage('u1', 'Tell me about insects.'), first, userMessage('u2', question)]);
    const upstream = standIn.requests.filter((request) => request.path === '/v1/chat/completions');
    const upstreamBody = upstream.at(-1)?.body as { messages: object[] } | undefined;
    const messages = upstreamBody?.messages ?? [];
    expect(messages.slice(1, 3)).toEqual([
      { role: 'user', content: 'Tell me about insects.' },
      { role: 'assistant', content: standInReply(12).join('') },
    ]);
  });

  it('writes the protocol header, the exact part order and [DONE]', async () => {
    standIn.configure({ tokenCount: 2 });
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'c', messages: [userMessage('u1', question)], k: 1 }),
    });
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const frames = (await response.text()).split('\n\n').filter((frame) => frame !== '');
    expect(frames.at(-1)).toBe('data: [DONE]');
    const parts = frames.slice(0, -1).map((frame) => JSON.parse(frame.slice('data: '.length)));
    expect(parts.map((part) => part.type)).toEqual([
      'start',
      'source-document',
      'text-start',
      'text-delta',
      'text-delta',
      'text-end',
      'finish',
    ]);
    expect(parts.at(-1)).toMatchObject({ finishReason: 'stop' });
  });

  it('ends with an error part the AI SDK reports when the model fails', async () => {
    standIn.failNext(1, 500);
    const errors: unknown[] = [];
    const stream = await transport.sendMessages({
      chatId: 'chat-1',
      messages: [userMessage('u1', question)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    for await (const _message of readUIMessageStream({
      stream,
      onError: (error) => errors.push(error),
    })) {
      // reading to the end
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/model/i);
  });

  it('ends a failed stream with error then [DONE], and no finish', async () => {
    standIn.failNext(1, 500);
    const response = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'c', messages: [userMessage('u1', question)], k: 1 }),
    });
    const frames = (await response.text()).split('\n\n').filter((frame) => frame !== '');
    const types = frames.map((frame) =>
      frame === 'data: [DONE]' ? '[DONE]' : JSON.parse(frame.slice('data: '.length)).type,
    );
    expect(types).toEqual(['start', 'source-document', 'error', '[DONE]']);
  });

  it('gives every answer its own message id, even when the client reuses X-Request-Id', async () => {
    const reused = new DefaultChatTransport<UIMessage>({
      api: `${server.url}/api/chat`,
      headers: { 'x-request-id': 'same-every-time' },
    });
    const messageIds: (string | undefined)[] = [];
    for (let turn = 0; turn < 2; turn += 1) {
      const stream = await reused.sendMessages({
        chatId: 'chat-1',
        messages: [userMessage('u1', question)],
        trigger: 'submit-message',
        messageId: undefined,
        abortSignal: undefined,
      });
      let last: UIMessage | undefined;
      for await (const message of readUIMessageStream({ stream })) last = message;
      messageIds.push(last?.id);
      expect(last?.metadata).toMatchObject({ requestId: 'same-every-time' });
    }
    expect(messageIds[0]).toBeTruthy();
    expect(messageIds[0]).not.toBe(messageIds[1]);
  });

  it('refuses a conversation that does not end with the user', async () => {
    const failure = await transport
      .sendMessages({
        chatId: 'chat-1',
        messages: [{ id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'Hello' }] }],
        trigger: 'submit-message',
        messageId: undefined,
        abortSignal: undefined,
      })
      .catch((error: unknown) => error);
    expect(String(failure)).toContain(
      'messages[0] must be a user message: the last message is the question',
    );
  });
});

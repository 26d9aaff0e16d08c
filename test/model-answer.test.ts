import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';
import type { AnswerBody, AnswerDone, AnswerSource } from '../src/answer/answer-events.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { frameReader, parseFrames, postAnswer, startTestServer } from './support/test-server.ts';

// The database engine does not matter here (the storage suite runs on both): the embedded one.
const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

const question = 'How do bees tell each other where the flowers are?';
const tokens = (frames: { event: string; data: string }[]) =>
  frames
    .filter((frame) => frame.event === 'token')
    .map((frame) => (JSON.parse(frame.data) as { text: string }).text);

describe('answers from an OpenAI-compatible model through ChatOpenAI', () => {
  let standIn: OpenAIStandIn;
  let server: RunningServer;
  /** Keep-alive every 100 ms, and a watchdog that never fires within a test. */
  let patient: RunningServer;
  /** A watchdog of 400 ms. */
  let impatient: RunningServer;
  const logged: string[] = [];
  beforeAll(async () => {
    standIn = await startOpenAIStandIn({ tokenCount: 12 });
    server = await startTestServer(
      engine,
      {
        CHAT_MODEL: 'stand-in-chat',
        OPENAI_BASE_URL: standIn.baseUrl,
        OPENAI_API_KEY: 'test-key',
        LLM_MAX_RETRIES: '1',
        // Room for LangChain's 1-2 s wait before a retry.
        LLM_IDLE_TIMEOUT_MS: '10000',
      },
      { logError: (message) => logged.push(message) },
    );
    patient = await startTestServer(engine, {
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.baseUrl,
      SSE_KEEPALIVE_MS: '100',
      LLM_IDLE_TIMEOUT_MS: '30000',
    });
    impatient = await startTestServer(engine, {
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.baseUrl,
      LLM_MAX_RETRIES: '0',
      LLM_IDLE_TIMEOUT_MS: '400',
    });
  });
  afterAll(async () => {
    await server?.shutdown();
    await patient?.shutdown();
    await impatient?.shutdown();
    await standIn?.close();
    await engine.cleanup();
  });
  afterEach(() => {
    standIn.configure({ timeToFirstTokenMs: 0, interTokenDelayMs: 0, tokenCount: 12 });
  });

  it('streams the model tokens, after meta and sources, and sends the sources to the model', async () => {
    standIn.requests.length = 0;
    const history = [
      { role: 'user' as const, content: 'Tell me about insects.' },
      { role: 'assistant' as const, content: 'Insects have six legs.' },
    ];
    const frames = parseFrames(
      await (await postAnswer(server.url, { question, k: 2, history })).text(),
    );
    expect(frames.map((frame) => frame.event)).toEqual([
      'meta',
      'sources',
      ...standInReply(12).map(() => 'token'),
      'done',
    ]);
    expect(JSON.parse(frames[0]?.data ?? '')).toMatchObject({ generator: 'openai:stand-in-chat' });
    expect(tokens(frames)).toEqual(standInReply(12));
    const done = JSON.parse(frames.at(-1)?.data ?? '') as AnswerDone;
    expect(done.finishReason).toBe('stop');
    expect(done.usage).toEqual({
      promptTokens: expect.any(Number),
      completionTokens: 12,
      totalTokens: expect.any(Number),
    });

    // The model saw: instructions, the history in order, then the numbered sources and question.
    const chat = standIn.requests.find((request) => request.path === '/v1/chat/completions');
    const body = chat?.body as {
      stream: boolean;
      messages: { role: string; content: string }[];
    };
    expect(body.stream).toBe(true);
    expect(body.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
    ]);
    expect(body.messages[0]?.content).toMatch(/\[1\]/);
    expect(body.messages[1]?.content).toBe('Tell me about insects.');
    expect(body.messages[2]?.content).toBe('Insects have six legs.');
    const sources = JSON.parse(frames[1]?.data ?? '') as AnswerSource[];
    const prompt = body.messages[3]?.content ?? '';
    expect(prompt).toContain(`[1] ${sources[0]?.title}`);
    expect(prompt).toContain('waggle dance'); // the passage itself, not only its snippet
    expect(prompt).toContain(`[2] ${sources[1]?.title}`);
    expect(prompt).toMatch(/Question: How do bees tell each other where the flowers are\?$/);
  });

  it('sends meta (and sources) before the model has produced its first token', async () => {
    const hold = standIn.holdTokens();
    const streamsBefore = standIn.chatStreams.length;
    try {
      const reader = frameReader(await postAnswer(server.url, { question }));
      expect((await reader.next())?.event).toBe('meta');
      expect((await reader.next())?.event).toBe('sources');
      // Received while the model holds every token: nothing it produced can have been sent.
      expect(
        standIn.chatStreams.slice(streamsBefore).every((stream) => stream.tokensSent === 0),
      ).toBe(true);
      hold.release();
      const rest = await reader.rest();
      expect(tokens(rest)).toEqual(standInReply(12));
      expect(rest.at(-1)?.event).toBe('done');
    } finally {
      hold.release();
    }
  });

  it('answers in one JSON body on the model path, with usage and timings', async () => {
    const response = await postAnswer(server.url, { question }, { accept: 'application/json' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as AnswerBody;
    expect(body.answer).toBe(standInReply(12).join(''));
    expect(body.usage?.completionTokens).toBe(12);
    expect(body.timings.firstTokenMs).not.toBeNull();
  });

  it('closes the model stream when the client goes away mid-answer', async () => {
    standIn.configure({ interTokenDelayMs: 50, tokenCount: 200 });
    const streamsBefore = standIn.chatStreams.length;
    const controller = new AbortController();
    const reader = frameReader(await postAnswer(server.url, { question }, {}, controller.signal));
    for (let frame = await reader.next(); frame?.event !== 'token'; frame = await reader.next()) {
      expect(frame).toBeDefined();
    }
    controller.abort();
    const stream = standIn.chatStreams[streamsBefore];
    expect(stream).toBeDefined();
    await standIn.waitForClientClose(stream);
    expect(stream?.closedByClient).toBe(true);
    expect(stream?.finished).toBe(false);
    expect(stream?.tokensSent).toBeLessThan(200);
  });

  it('closes the model stream when the client goes away while the model is silent', async () => {
    // The patient server's watchdog (30 s) cannot be what closes it within the test.
    standIn.stallNext(1);
    const streamsBefore = standIn.chatStreams.length;
    const controller = new AbortController();
    const reader = frameReader(await postAnswer(patient.url, { question }, {}, controller.signal));
    for (let frame = await reader.next(); frame?.event !== 'token'; frame = await reader.next()) {
      expect(frame).toBeDefined();
    }
    controller.abort();
    const stream = standIn.chatStreams[streamsBefore];
    await standIn.waitForClientClose(stream);
    expect(stream).toMatchObject({ closedByClient: true, finished: false, tokensSent: 1 });
  });

  it('ends with an error event when the model fails before the first token, then keeps serving', async () => {
    // Two failures: the first attempt and the one retry (LLM_MAX_RETRIES=1).
    standIn.failNext(2, 500);
    const frames = parseFrames(await (await postAnswer(server.url, { question })).text());
    expect(frames.map((frame) => frame.event)).toEqual(['meta', 'sources', 'error']);
    expect(JSON.parse(frames[2]?.data ?? '')).toEqual({
      code: 'generation_failed',
      message: 'The language model failed (HTTP 500)',
    });
    await expectStillServing();
  });

  it('retries a failed model request once before the first token', async () => {
    standIn.failNext(1, 500);
    const frames = parseFrames(await (await postAnswer(server.url, { question })).text());
    expect(tokens(frames)).toEqual(standInReply(12));
    expect(frames.at(-1)?.event).toBe('done');
  });

  it('ends with an error event when the model connection drops mid-stream', async () => {
    standIn.dropNext(3);
    const frames = parseFrames(await (await postAnswer(server.url, { question })).text());
    expect(frames.map((frame) => frame.event)).toEqual([
      'meta',
      'sources',
      'token',
      'token',
      'token',
      'error',
    ]);
    expect(tokens(frames)).toEqual(standInReply(3));
    expect(JSON.parse(frames.at(-1)?.data ?? '')).toMatchObject({ code: 'generation_failed' });
    await expectStillServing();
  });

  it('ends a stalled model stream with an error event and closes the upstream request', async () => {
    standIn.stallNext(2);
    const streamsBefore = standIn.chatStreams.length;
    const frames = parseFrames(await (await postAnswer(impatient.url, { question })).text());
    expect(frames.map((frame) => frame.event)).toEqual([
      'meta',
      'sources',
      'token',
      'token',
      'error',
    ]);
    expect(JSON.parse(frames.at(-1)?.data ?? '')).toEqual({
      code: 'upstream_timeout',
      message: 'The language model sent nothing for 400 ms',
    });
    const stalled = standIn.chatStreams[streamsBefore];
    await standIn.waitForClientClose(stalled);
    expect(stalled?.closedByClient).toBe(true);
    await expectStillServing();
  });

  it('ends with upstream_timeout when the model sends nothing at all, and closes the upstream request', async () => {
    standIn.stallNext(0);
    const streamsBefore = standIn.chatStreams.length;
    const frames = parseFrames(await (await postAnswer(impatient.url, { question })).text());
    expect(frames.map((frame) => frame.event)).toEqual(['meta', 'sources', 'error']);
    expect(JSON.parse(frames.at(-1)?.data ?? '')).toEqual({
      code: 'upstream_timeout',
      message: 'The language model sent nothing for 400 ms',
    });
    const stalled = standIn.chatStreams[streamsBefore];
    await standIn.waitForClientClose(stalled);
    expect(stalled).toMatchObject({ closedByClient: true, tokensSent: 0 });
  });

  it('ends with upstream_timeout when the first token takes longer than LLM_IDLE_TIMEOUT_MS', async () => {
    standIn.configure({ timeToFirstTokenMs: 5_000 });
    const frames = parseFrames(await (await postAnswer(impatient.url, { question })).text());
    expect(frames.map((frame) => frame.event)).toEqual(['meta', 'sources', 'error']);
    expect(JSON.parse(frames.at(-1)?.data ?? '')).toMatchObject({ code: 'upstream_timeout' });
  });

  it('sends a keep-alive comment while the model is silent', async () => {
    const hold = standIn.holdTokens();
    try {
      const response = await postAnswer(patient.url, { question });
      const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes(': keep-alive\n\n')) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) throw new Error('stream ended without keep-alive');
        text += chunk.value;
      }
      // The comment came after sources and before any token.
      expect(text).toMatch(/^event: meta\n[\s\S]*event: sources\n[\s\S]*: keep-alive\n\n/);
      expect(text).not.toContain('event: token');
      hold.release();
      while (true) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        text += chunk.value;
      }
      expect(text).toContain('event: done');
    } finally {
      hold.release();
    }
  });

  async function expectStillServing() {
    const frames = parseFrames(await (await postAnswer(server.url, { question })).text());
    expect(tokens(frames)).toEqual(standInReply(12));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }
});

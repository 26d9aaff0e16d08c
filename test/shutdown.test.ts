import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OpenAIStandIn,
  standInReply,
  startOpenAIStandIn,
} from '../scripts/stand-in/openai-stand-in.ts';
import { createExtractiveGenerator } from '../src/answer/extractive-generator.ts';
import { parseConfig } from '../src/core/config.ts';
import { LocalHashEmbeddings } from '../src/embeddings/local-hash-embeddings.ts';
import { createApp } from '../src/http/app.ts';
import { createLifecycle } from '../src/http/lifecycle.ts';
import { openStore } from '../src/store/open-store.ts';
import { testEngines } from './support/databases.ts';
import { frameReader, postAnswer, startTestServer } from './support/test-server.ts';

const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');
const question = 'How do bees tell each other where the flowers are?';

describe('shutting down', () => {
  let standIn: OpenAIStandIn;
  beforeAll(async () => {
    standIn = await startOpenAIStandIn({ tokenCount: 20, interTokenDelayMs: 20 });
  });
  afterAll(async () => {
    await standIn?.close();
    await engine.cleanup();
  });
  const modelEnvironment = () => ({
    CHAT_MODEL: 'stand-in-chat',
    OPENAI_BASE_URL: standIn.baseUrl,
  });

  it('lets open answers finish, then closes the database', async () => {
    const server = await startTestServer(engine, {
      ...modelEnvironment(),
      SHUTDOWN_GRACE_MS: '20000',
    });
    // The model holds its tokens until the checks made while draining are done.
    const hold = standIn.holdTokens();
    try {
      const reader = frameReader(await postAnswer(server.url, { question }));
      expect((await reader.next())?.event).toBe('meta');
      // A buffered (JSON) answer in flight too.
      const buffered = postAnswer(server.url, { question }, { accept: 'application/json' });
      while (standIn.stats.activeStreams < 2) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const stopped = server.shutdown();
      // While draining, the server still answers: not ready, and new asks are refused with why.
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining' });
      const refused = await postAnswer(server.url, { question });
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({
        error: {
          message: 'The server is shutting down; ask again',
          type: 'server_error',
          param: null,
          code: 'shutting_down',
        },
      });
      hold.release();
      const rest = await reader.rest();
      expect(rest.at(-1)?.event).toBe('done');
      expect(rest.filter((frame) => frame.event === 'token')).toHaveLength(20);
      const bufferedResponse = await buffered;
      expect(bufferedResponse.status).toBe(200);
      expect(((await bufferedResponse.json()) as { answer: string }).answer).toBe(
        standInReply(20).join(''),
      );
      expect(await stopped).toEqual({ finished: 2, ended: 0 });
      await expect(server.store.stats()).rejects.toThrow();
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      hold.release();
    }
  });

  it('ends answers still open after SHUTDOWN_GRACE_MS with a shutting_down error event', async () => {
    const server = await startTestServer(engine, { ...modelEnvironment(), SHUTDOWN_GRACE_MS: '0' });
    standIn.configure({ interTokenDelayMs: 1000 });
    try {
      const reader = frameReader(await postAnswer(server.url, { question }));
      for (let frame = await reader.next(); frame?.event !== 'token'; frame = await reader.next()) {
        expect(frame).toBeDefined();
      }
      const stopped = server.shutdown();
      const rest = await reader.rest();
      expect(rest.at(-1)).toEqual({
        event: 'error',
        data: JSON.stringify({
          code: 'shutting_down',
          message: 'The server is shutting down; ask again',
        }),
      });
      expect(await stopped).toEqual({ finished: 0, ended: 1 });
    } finally {
      standIn.configure({ interTokenDelayMs: 20 });
    }
  });

  it('ends OpenAI and AI SDK streams still open after the grace period in their own formats', async () => {
    const server = await startTestServer(engine, { ...modelEnvironment(), SHUTDOWN_GRACE_MS: '0' });
    standIn.configure({ interTokenDelayMs: 1000 });
    const post = (path: string, body: object) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      const openai = await post('/v1/chat/completions', {
        model: 'streamrag',
        stream: true,
        messages: [{ role: 'user', content: question }],
      });
      const aiSdk = await post('/api/chat', {
        messages: [{ id: 'u', role: 'user', parts: [{ type: 'text', text: question }] }],
      });
      while (standIn.stats.activeStreams < 2) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const stopped = server.shutdown();
      const lastFrames = async (response: Response) =>
        (await response.text())
          .split('\n\n')
          .filter((frame) => frame.startsWith('data: '))
          .slice(-2);
      const shuttingDown = {
        message: 'The server is shutting down; ask again',
        type: 'server_error',
        param: null,
        code: 'shutting_down',
      };
      const [, openaiLast] = await lastFrames(openai);
      expect(JSON.parse(openaiLast?.slice('data: '.length) ?? '')).toEqual({ error: shuttingDown });
      expect(await lastFrames(aiSdk)).toEqual([
        `data: ${JSON.stringify({ type: 'error', errorText: shuttingDown.message })}`,
        'data: [DONE]',
      ]);
      expect(await stopped).toEqual({ finished: 0, ended: 2 });
    } finally {
      standIn.configure({ interTokenDelayMs: 20 });
    }
  });

  it('refuses new answers and reports not ready while draining', async () => {
    const config = await engine.createDatabase();
    const embeddings = new LocalHashEmbeddings();
    const store = await openStore(config, embeddings.identity);
    const lifecycle = createLifecycle();
    const app = createApp({
      config: parseConfig({}),
      services: { store, embeddings, generator: createExtractiveGenerator() },
      lifecycle,
    });
    try {
      expect((await app.request('/readyz')).status).toBe(200);
      await lifecycle.drain(0);
      const ready = await app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining' });
      const answer = await app.request('/v1/answer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question }),
      });
      expect(answer.status).toBe(503);
      expect(await answer.json()).toEqual({
        error: {
          message: 'The server is shutting down; ask again',
          type: 'server_error',
          param: null,
          code: 'shutting_down',
        },
      });
    } finally {
      await store.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

interface Document {
  openapi: string;
  paths: Record<string, Record<string, { summary?: string; requestBody?: unknown }>>;
}

describe('the OpenAPI document and the docs page', () => {
  let server: RunningServer;
  let document: Document;
  let response: Response;
  beforeAll(async () => {
    server = await startTestServer(engine);
    response = await fetch(`${server.url}/openapi.json`);
    document = (await response.json()) as Document;
  });
  afterAll(async () => {
    await server?.shutdown();
    await engine.cleanup();
  });

  it('lists exactly the routes the server serves', () => {
    expect(document.openapi).toBe('3.1.0');
    const served = new Set(
      server.routes.map(
        (route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`,
      ),
    );
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    for (const item of Object.values(document.paths)) {
      for (const operation of Object.values(item)) expect(operation.summary).toBeTruthy();
    }
  });

  it('describes request bodies with the schemas that validate them', () => {
    const schemaOf = (path: string) => {
      const body = document.paths[path]?.post?.requestBody as
        | { content: { 'application/json': { schema: unknown } } }
        | undefined;
      return body?.content['application/json'].schema;
    };
    const json = JSON.stringify(document);
    // The validators' limits and enums appear in the document…
    expect(JSON.stringify(schemaOf('/v1/answer'))).toContain(
      '"$ref":"#/components/schemas/AnswerRequest"',
    );
    expect(json).toContain('"maximum":50');
    expect(json).toContain('"enum":["hybrid","vector","text"]');
    expect(JSON.stringify(schemaOf('/v1/chat/completions'))).toContain('ChatCompletionRequest');
    expect(JSON.stringify(schemaOf('/api/chat'))).toContain('UIChatRequest');
  });

  it('revalidates with an ETag', async () => {
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const again = await fetch(`${server.url}/openapi.json`, {
      headers: { 'if-none-match': etag ?? '' },
    });
    expect(again.status).toBe(304);
  });

  it('renders every operation on the docs page, with nothing loaded from elsewhere', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) {
        expect(html).toContain(`${method.toUpperCase()}</span> <code>${path}</code>`);
      }
    }
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('answers another method on a served path with 405 and Allow', async () => {
    const answer = await fetch(`${server.url}/v1/chat/completions`);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
    const models = await fetch(`${server.url}/v1/models`, { method: 'DELETE' });
    expect(models.status).toBe(405);
    expect(models.headers.get('allow')).toBe('GET, HEAD');
    expect(await models.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'method_not_allowed' },
    });
    const head = await fetch(`${server.url}/v1/models`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const unknown = await fetch(`${server.url}/assets/chat.0000000000000000.js`);
    expect(unknown.status).toBe(404);
  });
});

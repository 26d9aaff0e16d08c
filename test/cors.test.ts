import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config.ts';
import type { RunningServer } from '../src/entry/node-server.ts';
import { testEngines } from './support/databases.ts';
import { startTestServer } from './support/test-server.ts';

const engine = testEngines[0];
if (engine === undefined) throw new Error('no test engine');

const frontEnd = 'http://localhost:3000';

describe('CORS for browser front ends on another origin (CORS_ORIGINS)', () => {
  let allowing: RunningServer;
  let closed: RunningServer;
  beforeAll(async () => {
    allowing = await startTestServer(engine, { CORS_ORIGINS: frontEnd });
    closed = await startTestServer(engine);
  });
  afterAll(async () => {
    await allowing?.shutdown();
    await closed?.shutdown();
    await engine.cleanup();
  });

  const preflight = (server: RunningServer, origin: string) =>
    fetch(`${server.url}/api/chat`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        // The openai SDK in a browser sends its own headers too.
        'access-control-request-headers': 'content-type,x-stainless-os,x-stainless-lang',
      },
    });

  it('answers the preflight and the request of a listed origin', async () => {
    const answer = await preflight(allowing, frontEnd);
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(frontEnd);
    expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    expect(answer.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
    const document = await fetch(`${allowing.url}/openapi.json`, { headers: { origin: frontEnd } });
    expect(document.headers.get('access-control-allow-origin')).toBe(frontEnd);
    const search = await fetch(`${allowing.url}/v1/search?q=bees`, {
      headers: { origin: frontEnd },
    });
    expect(search.headers.get('access-control-allow-origin')).toBe(frontEnd);
    expect(search.headers.get('access-control-expose-headers')).toContain('Server-Timing');
  });

  it('sends nothing that lets another origin in', async () => {
    const other = await preflight(allowing, 'http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const unset = await preflight(closed, frontEnd);
    expect(unset.headers.get('access-control-allow-origin')).toBeNull();
    expect(unset.status).toBe(405);
  });

  it('refuses an origin with a path at start-up, naming the variable', () => {
    expect(() => parseConfig({ CORS_ORIGINS: 'http://localhost:3000/app' })).toThrow(
      /CORS_ORIGINS must be \* or comma-separated origins/,
    );
  });
});

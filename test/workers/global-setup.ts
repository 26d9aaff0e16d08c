/**
 * Runs under Node before the workerd tests: starts the OpenAI stand-in (with a small control
 * API, since the tests inside workerd can only reach Node over HTTP), creates a PostgreSQL
 * database holding the fixture corpus, and provides both to the Worker's bindings
 * (vitest.config.ts). Without TEST_DATABASE_URL the workerd tests skip (fail under
 * REQUIRE_POSTGRES=1, as in CI).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { withPassword } from '../../scripts/lib/hyperdrive-url.ts';
import {
  STAND_IN_CHAT_MODEL,
  STAND_IN_EMBEDDING_MODEL,
  startOpenAIStandIn,
} from '../../scripts/stand-in/openai-stand-in.ts';
import { testEngines } from '../support/databases.ts';
import { ingestCorpus } from '../support/test-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** '' when no PostgreSQL is available (the tests skip). */
    workerDatabaseUrl: string;
    /** The Hyperdrive binding's local connection string (a dummy when the tests skip). */
    hyperdriveUrl: string;
    workerVariables: Record<string, string>;
    /** The control API: GET /streams, POST /timing (the stand-in), GET /connections. */
    standInControlUrl: string;
  }
}

/** Never connected to: Hyperdrive's binding needs some URL even when the tests skip. */
const unusedDatabaseUrl = 'postgres://unused:unused@127.0.0.1:9/unused';

export default async function setup(project: TestProject) {
  const standIn = await startOpenAIStandIn({
    timeToFirstTokenMs: 5,
    interTokenDelayMs: 2,
    tokenCount: 12,
    dimensions: 64,
  });
  let databaseUrl = '';
  const control = createServer((request, response) => {
    const send = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method === 'GET' && request.url === '/connections') {
      // Client connections to the Worker's database, this control's own left out.
      if (databaseUrl === '') return send({ connections: 0 });
      const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      admin`SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_type = 'client backend'`
        .then(([row]) => send({ connections: row?.n ?? 0 }))
        .finally(() => admin.end());
      return;
    }
    if (request.method === 'GET' && request.url === '/streams') {
      return send({ streams: standIn.chatStreams, requests: standIn.requests.length });
    }
    if (request.method === 'POST' && request.url === '/timing') {
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        standIn.configure(JSON.parse(text));
        send(standIn.timing);
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

  const variables = {
    OPENAI_BASE_URL: standIn.baseUrl,
    OPENAI_API_KEY: 'stand-in-key',
    CHAT_MODEL: STAND_IN_CHAT_MODEL,
    EMBEDDING_MODEL: STAND_IN_EMBEDDING_MODEL,
    EMBEDDING_DIMENSIONS: '64',
  };
  const engine = testEngines.find((candidate) => candidate.name === 'postgres');
  if (engine !== undefined) {
    const config = await engine.createDatabase(variables);
    // Migrated and loaded from Node, as an operator does before deploying.
    await ingestCorpus(config);
    databaseUrl = config.databaseUrl ?? '';
  }

  project.provide('workerDatabaseUrl', databaseUrl);
  project.provide('workerVariables', variables);
  project.provide(
    'standInControlUrl',
    `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
  );
  project.provide('hyperdriveUrl', withPassword(databaseUrl || unusedDatabaseUrl));

  return async () => {
    await new Promise((resolve) => control.close(resolve));
    await standIn.close();
    await engine?.cleanup();
  };
}

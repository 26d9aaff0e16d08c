import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { createGenerator } from '../answer/create-generator.ts';
import type { Generator } from '../answer/generator.ts';
import { createApp } from '../http/app.ts';
import { createLifecycle } from '../http/lifecycle.ts';
import type { Store } from '../store/store.ts';
import { openNodeDependencies } from './node-dependencies.ts';

export interface RunningServer {
  /** e.g. http://127.0.0.1:8787 */
  url: string;
  /** Summary for the start-up line. */
  description: string;
  /** The server's database (tests write through it: an embedded one admits one process). */
  store: Store;
  embeddings: EmbeddingsInterface;
  /** Every route the app serves (method and Hono path pattern), middleware left out. */
  routes: readonly { method: string; path: string }[];
  /**
   * Stops accepting connections, lets open answer streams finish (up to SHUTDOWN_GRACE_MS;
   * the rest get an `error` event), then closes the database.
   */
  shutdown(): Promise<{ finished: number; ended: number }>;
}

/**
 * Builds the dependencies from the environment, applies migrations and serves the app on
 * HOST:PORT with @hono/node-server. Used by `npm start` and by the end-to-end tests.
 *
 * @example
 * const server = await startNodeServer({ PORT: '0', DATA_DIR: 'memory://' });
 * await fetch(`${server.url}/healthz`); await server.shutdown();
 */
export async function startNodeServer(
  environment: Record<string, string | undefined>,
  overrides: { generator?: Generator; logError?: (message: string, error: unknown) => void } = {},
): Promise<RunningServer> {
  const { config, embedder, store } = await openNodeDependencies(environment);
  const generator = overrides.generator ?? createGenerator(config);
  const lifecycle = createLifecycle();
  const app = createApp({
    config,
    services: { store, embeddings: embedder.embeddings, generator },
    lifecycle,
    ...(overrides.logError === undefined ? {} : { logError: overrides.logError }),
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const started = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
        resolve(started as Server),
      ) as Server;
      started.once('error', reject);
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const database =
    store.engine === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}`;

  let shuttingDown: Promise<{ finished: number; ended: number }> | undefined;
  return {
    url: `http://${host}:${port}`,
    description: `${database}, embedder ${store.identity.name}, generator ${generator.name}`,
    store,
    embeddings: embedder.embeddings,
    routes: app.routes.filter((route) => route.method !== 'ALL'),
    shutdown() {
      shuttingDown ??= (async () => {
        // While open answers drain, the server still listens: /readyz says 503 (so a load
        // balancer stops sending traffic) and new asks get a 503 that says why.
        const drained = await lifecycle.drain(config.shutdownGraceMs);
        // A drained answer may still be writing its response (an answer leaves the lifecycle
        // when its handler returns): close() lets those finish and closes idle connections;
        // whatever is still open after a moment is cut.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), 2_000);
        await closed;
        clearTimeout(cut);
        await store.close();
        return drained;
      })();
      return shuttingDown;
    },
  };
}

/**
 * The Cloudflare Workers entry (wrangler.toml `main`): the same app as under Node, built from
 * the Worker's `env` once per isolate. PostgreSQL comes through the Hyperdrive binding
 * `HYPERDRIVE`, embeddings and answers from the OpenAI-compatible endpoints in `env`. Nothing
 * here needs a filesystem or a Node API.
 *
 * Clients are made per request (a postgres.js client, the LangChain model clients): Workers
 * bind every I/O object to the request that made it, so sharing one between requests fails
 * ("Cannot perform I/O on behalf of a different request", measured with twelve concurrent
 * answers in test/workers/). Only plain values are shared: config, routes, what was learnt.
 */
import type { ExecutionContext } from 'hono';
import { createGenerator } from '../answer/create-generator.ts';
import { parseConfig } from '../core/config.ts';
import { errorMessage, StreamragError } from '../core/errors.ts';
import { createEmbedder, createEmbeddings } from '../embeddings/create-embedder.ts';
import { createApp } from '../http/app.ts';
import { errorBody } from '../http/http-error.ts';
import { createLifecycle } from '../http/lifecycle.ts';
import { postgresRequestStores } from '../store/postgres-request-stores.ts';
import { storeOptions } from '../store/store.ts';

/** The bindings and variables wrangler.toml declares (variables and secrets are strings). */
export interface WorkerEnvironment {
  /** Hyperdrive's binding: a connection string to its pooler. */
  HYPERDRIVE?: { connectionString: string };
  [variable: string]: unknown;
}

type WorkerApp = ReturnType<typeof createApp>;

// Built apps, never promises of them: a promise settled by one request's I/O cannot resume
// another request, so requests that arrive while the first is building build their own.
const apps = new WeakMap<object, WorkerApp>();

export default {
  async fetch(request: Request, env: WorkerEnvironment, context: ExecutionContext) {
    let app = apps.get(env);
    if (app === undefined) {
      try {
        app = await buildApp(env);
      } catch (error) {
        console.error('streamrag cannot start:', error);
        // A configuration mistake says what to set; anything else stays in the log.
        const configuration = error instanceof StreamragError && error.code === 'invalid_config';
        const body = configuration
          ? errorBody(503, error.code, errorMessage(error))
          : errorBody(503, 'not_ready', 'The server could not start; its log says why');
        return Response.json(body, { status: 503 });
      }
      apps.set(env, app);
    }
    return app.fetch(request, env, context);
  },
};

async function buildApp(env: WorkerEnvironment): Promise<WorkerApp> {
  const config = parseConfig(workerVariables(env));
  if (config.databaseUrl === undefined) {
    throw new StreamragError(
      'invalid_config',
      'No database: on Workers, bind PostgreSQL through Hyperdrive as HYPERDRIVE in wrangler.toml ' +
        '(or set a DATABASE_URL secret). The embedded PGlite database (DATA_DIR) works only under Node.',
    );
  }
  if (config.embeddingModel !== undefined && config.embeddingDimensions === undefined) {
    // Node asks the model once at start; a Worker would ask in every new isolate's first request.
    throw new StreamragError(
      'invalid_config',
      'Set EMBEDDING_DIMENSIONS with EMBEDDING_MODEL on Workers: the dimension of the vectors `npm run migrate` printed for this database.',
    );
  }
  // No network: the dimension is configured (or the local embedder's).
  const { identity } = await createEmbedder(config);
  const stores = postgresRequestStores({
    url: config.databaseUrl,
    identity,
    options: storeOptions(config),
  });
  return createApp({
    config,
    services: {
      perRequest() {
        const { store, close } = stores.perRequest();
        return {
          services: {
            store,
            embeddings: createEmbeddings(config, identity),
            generator: createGenerator(config),
          },
          close,
        };
      },
    },
    // Workers get no SIGTERM: nothing drains, but requests are tracked the same way.
    lifecycle: createLifecycle(),
  });
}

/** The string variables and secrets, with DATABASE_URL taken from the Hyperdrive binding. */
function workerVariables(env: WorkerEnvironment): Record<string, string | undefined> {
  const variables: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') variables[name] = value;
  }
  const hyperdrive = env.HYPERDRIVE?.connectionString;
  if (hyperdrive !== undefined) variables.DATABASE_URL = hyperdrive;
  return variables;
}

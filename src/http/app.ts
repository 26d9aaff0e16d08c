import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { StreamragError } from '../core/errors.ts';
import type { AppDependencies, AppEnvironment } from './app-dependencies.ts';
import { type ErrorBody, HttpError } from './http-error.ts';
import { answerHandler } from './routes/answer-route.ts';
import { chatPageRoutes } from './routes/chat-page-route.ts';
import { searchHandler } from './routes/search-route.ts';
import { serverTiming } from './server-timing.ts';

/**
 * The HTTP API (DESIGN.md §4) over plain dependencies, using Web APIs only, so the same app
 * serves under Node (`entry/node.ts`) and Workers.
 *
 * @example
 * const app = createApp({ config, store, embeddings, generator, lifecycle: createLifecycle() });
 * const response = await app.request('/v1/search?q=vacuum');
 */
export function createApp(dependencies: AppDependencies): Hono<AppEnvironment> {
  const logError = dependencies.logError ?? ((message, error) => console.error(message, error));
  const app = new Hono<AppEnvironment>();

  app.use(serverTiming());
  app.use(requestId({ headerName: 'X-Request-Id' }));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (dependencies.lifecycle.draining) {
      return c.json({ status: 'draining' }, 503);
    }
    try {
      // Reads a table of the latest migration: the database answers and is migrated.
      await dependencies.store.collectionVersion(undefined);
      return c.json({ status: 'ready', engine: dependencies.store.engine });
    } catch (error) {
      logError('readiness check failed', error);
      return c.json(errorBody('not_ready', 'The database is not reachable'), 503);
    }
  });
  app.route('/', chatPageRoutes());

  app.post(
    '/v1/answer',
    bodyLimit({
      maxSize: dependencies.config.maxRequestBytes,
      onError: () => {
        throw new HttpError(
          413,
          'payload_too_large',
          `The body is larger than ${dependencies.config.maxRequestBytes} bytes`,
        );
      },
    }),
    answerHandler({ ...dependencies, logError }),
  );
  app.get('/v1/search', searchHandler(dependencies));
  app.on(['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], '/v1/answer', methodNotAllowed('POST'));
  app.on(
    ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    '/v1/search',
    methodNotAllowed('GET, HEAD'),
  );

  app.notFound((c) =>
    c.json(errorBody('not_found', `No route for ${c.req.method} ${c.req.path}`), 404),
  );
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      return c.json(errorBody(error.code, error.message), error.status);
    }
    if (error instanceof StreamragError && error.code === 'invalid_request') {
      return c.json(errorBody(error.code, error.message), 400);
    }
    if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
    logError(`${c.req.method} ${c.req.path} (request ${c.get('requestId')}) failed`, error);
    return c.json(
      errorBody('internal_error', `Internal error (request id ${c.get('requestId')})`),
      500,
    );
  });
  return app;
}

function methodNotAllowed(allow: string) {
  return (c: Context<AppEnvironment>) => {
    c.header('Allow', allow);
    return c.json(
      errorBody('method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`),
      405,
    );
  };
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

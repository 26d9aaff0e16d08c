import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { isSetupError, notSetUpMessage } from '../answer/answer-stream.ts';
import { StreamragError } from '../core/errors.ts';
import type { AppDependencies, AppEnvironment } from './app-dependencies.ts';
import { errorBody, HttpError } from './http-error.ts';
import { requestServices } from './request-services.ts';
import { answerHandler } from './routes/answer-route.ts';
import { chatCompletionsHandler, modelsHandlers } from './routes/chat-completions-route.ts';
import { chatPageRoutes } from './routes/chat-page-route.ts';
import { openApiRoutes } from './routes/openapi-route.ts';
import { searchHandler } from './routes/search-route.ts';
import { uiChatHandler } from './routes/ui-chat-route.ts';
import { serverTiming } from './server-timing.ts';

/**
 * The HTTP API (DESIGN.md §4) over plain dependencies, using Web APIs only, so the same app
 * serves under Node (`entry/node.ts`) and Workers.
 *
 * @example
 * const services = { store, embeddings, generator };
 * const app = createApp({ config, services, lifecycle: createLifecycle() });
 * const response = await app.request('/v1/search?q=vacuum');
 */
export function createApp(dependencies: AppDependencies): Hono<AppEnvironment> {
  const logError = dependencies.logError ?? ((message, error) => console.error(message, error));
  const app = new Hono<AppEnvironment>();

  app.use(serverTiming());
  app.use(requestId({ headerName: 'X-Request-Id' }));
  const { corsOrigins } = dependencies.config;
  if (corsOrigins.length > 0) {
    // Answers read the same for any origin, and no cookies are involved: no credentials.
    const policy = cors({
      origin: corsOrigins.includes('*') ? '*' : corsOrigins,
      allowMethods: ['GET', 'HEAD', 'POST'],
      // No allowHeaders: the headers a preflight asks for are allowed (SDKs send their own,
      // e.g. the openai SDK's X-Stainless-*), which is safe without credentials.
      exposeHeaders: ['X-Request-Id', 'Server-Timing', 'ETag'],
      maxAge: 600,
    });
    for (const path of ['/v1/*', '/api/*', '/openapi.json']) app.use(path, policy);
  }

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Only routes that use the database or a model get services (on Workers, opened per request).
  const services = requestServices(dependencies.services);
  app.get('/readyz', services, async (c) => {
    if (dependencies.lifecycle.draining) {
      return c.json({ status: 'draining' }, 503);
    }
    try {
      // Reads a table of the latest migration: the database answers and is migrated.
      const { store } = c.var.services;
      await store.collectionVersion(undefined);
      return c.json({ status: 'ready', engine: store.engine });
    } catch (error) {
      logError('readiness check failed', error);
      // For operators: what to run (npm run migrate) or which embedder the database wants.
      if (isSetupError(error)) return c.json(errorBody(503, error.code, error.message), 503);
      return c.json(errorBody(503, 'not_ready', 'The database is not reachable'), 503);
    }
  });
  app.route('/', chatPageRoutes());

  const limitBody = bodyLimit({
    maxSize: dependencies.config.maxRequestBytes,
    onError: () => {
      throw new HttpError(
        413,
        'payload_too_large',
        `The body is larger than ${dependencies.config.maxRequestBytes} bytes`,
      );
    },
  });
  const answering = { ...dependencies, logError };
  app.post('/v1/answer', limitBody, services, answerHandler(answering));
  app.post('/v1/chat/completions', limitBody, services, chatCompletionsHandler(answering));
  app.post('/api/chat', limitBody, services, uiChatHandler(answering));
  app.get('/v1/search', services, searchHandler(dependencies));
  const models = modelsHandlers(Math.floor(Date.now() / 1000));
  app.get('/v1/models', models.list);
  app.get('/v1/models/:model', models.retrieve);

  const documentation = openApiRoutes();
  app.get('/openapi.json', documentation.document);
  app.get('/docs', documentation.page);

  // A path served for other methods is a 405 with Allow, not a 404.
  app.notFound((c) => {
    const allowed = allowedMethods(app.routes, c.req.path);
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    // No route, or a route of this very method that found nothing (an unknown id): 404.
    if (allowed.length === 0 || allowed.includes(method)) {
      return c.json(errorBody(404, 'not_found', `No route for ${c.req.method} ${c.req.path}`), 404);
    }
    const allow = allowed.includes('GET') ? [...allowed, 'HEAD'].join(', ') : allowed.join(', ');
    c.header('Allow', allow);
    return c.json(
      errorBody(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`),
      405,
    );
  });
  app.onError((error, c) => {
    if (error instanceof HttpError) {
      return c.json(errorBody(error.status, error.code, error.message, error.param), error.status);
    }
    if (error instanceof StreamragError && error.code === 'invalid_request') {
      return c.json(errorBody(400, error.code, error.message), 400);
    }
    if (c.req.raw.signal.aborted) return new Response(null, { status: 499 });
    if (isSetupError(error)) {
      logError(`${c.req.method} ${c.req.path} (request ${c.get('requestId')}) failed`, error);
      return c.json(errorBody(503, error.code, notSetUpMessage), 503);
    }
    logError(`${c.req.method} ${c.req.path} (request ${c.get('requestId')}) failed`, error);
    return c.json(
      errorBody(500, 'internal_error', `Internal error (request id ${c.get('requestId')})`),
      500,
    );
  });
  return app;
}

/** The methods of the routes (not middleware) whose pattern matches `path`. */
function allowedMethods(routes: readonly { method: string; path: string }[], path: string) {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    const pattern = route.path
      .split('/')
      .map((segment) =>
        segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    if (new RegExp(`^${pattern}$`).test(path)) methods.add(route.method);
  }
  return [...methods];
}

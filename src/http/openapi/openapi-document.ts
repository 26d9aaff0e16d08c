import { OpenAPIHono } from '@hono/zod-openapi';
import { apiRoutes } from './api-routes.ts';

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/**
 * The OpenAPI 3.1 document of the API, generated from {@link apiRoutes} (and so from the
 * request schemas). `OpenAPIHono` serves here only as the generator: the app's own routes
 * keep their handlers, which read bodies themselves (415/413 checks, shutdown tracking).
 *
 * @example
 * const document = buildOpenApiDocument();
 * Object.keys(document.paths); // ['/v1/answer', '/v1/chat/completions', …]
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const generator = new OpenAPIHono();
  for (const route of apiRoutes) generator.openAPIRegistry.registerPath(route);
  return generator.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'streamrag',
      version: '0.1.0',
      description:
        'A streaming RAG answer server: retrieval from Postgres/pgvector (or embedded PGlite), answers streamed over Server-Sent Events, in our own event format, OpenAI’s, or the Vercel AI SDK’s. Every error body is `{ error: { message, type, param, code } }`.',
    },
  });
}

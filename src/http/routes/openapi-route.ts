import type { Context } from 'hono';
import type { AppEnvironment } from '../app-dependencies.ts';
import { ifNoneMatchMatches, strongEtag } from '../etag.ts';
import { docsPageSecurityPolicy, renderDocsPage } from '../openapi/docs-page.ts';
import { buildOpenApiDocument } from '../openapi/openapi-document.ts';

/**
 * `GET /openapi.json` and `GET /docs`. Both are built on first request and kept: they depend
 * only on the code, so a strong ETag of the text lets clients revalidate with a 304.
 */
export function openApiRoutes() {
  // Shared by requests, also on Workers: building it is computation and Web Crypto, no I/O.
  let built: Promise<{ json: Built; html: Built }> | undefined;
  const build = () => {
    built ??= (async () => {
      const document = buildOpenApiDocument();
      const json = JSON.stringify(document);
      const html = renderDocsPage(document);
      return {
        json: { text: json, etag: await strongEtag([json]) },
        html: { text: html, etag: await strongEtag([html]) },
      };
    })();
    // A failed build is not kept: the next request tries again.
    built.catch(() => {
      built = undefined;
    });
    return built;
  };
  const serve =
    (pick: 'json' | 'html', headers: Record<string, string>) =>
    async (c: Context<AppEnvironment>) => {
      const { text, etag } = (await build())[pick];
      const cache = { ETag: etag, 'Cache-Control': 'no-cache' };
      if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) {
        return c.body(null, 304, cache);
      }
      return c.body(text, 200, { ...headers, ...cache });
    };
  return {
    document: serve('json', { 'Content-Type': 'application/json; charset=utf-8' }),
    page: serve('html', {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': docsPageSecurityPolicy,
      'X-Content-Type-Options': 'nosniff',
    }),
  };
}

interface Built {
  text: string;
  etag: string;
}

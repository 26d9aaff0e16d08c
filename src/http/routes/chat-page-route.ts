import { type Context, Hono } from 'hono';
import type { ChatAsset } from '../../ui/chat-asset.ts';
import { chatIcon, chatPage, chatScript, chatStyle } from '../../ui/chat-assets.generated.ts';
import { ifNoneMatchMatches } from '../etag.ts';

/**
 * Everything the page may load comes from this server: no inline script or style, no CDN, no
 * external font, so it works offline and an injected script has nowhere to come from or report to.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const pageHeaders = {
  // Revalidated on every load (a 304 while unchanged), so a new release is seen at once.
  'Cache-Control': 'no-cache',
  'Content-Security-Policy': contentSecurityPolicy,
  // Source links open documents on other sites: they need not learn this server's address.
  'Referrer-Policy': 'no-referrer',
};

const assetHeaders = {
  // The path carries the content hash: a changed file is a new URL, so this one never changes.
  'Cache-Control': 'public, max-age=31536000, immutable',
};

/**
 * The chat page: `GET /` and its content-hashed assets under `/assets/`, served from the
 * strings built into `src/ui/chat-assets.generated.ts` (`npm run build:ui`), so no file is read
 * at run time. Mount with `app.route('/', chatPageRoutes())`.
 *
 * @example
 * const app = new Hono().route('/', chatPageRoutes());
 * const page = await app.request('/'); // text/html, with a Content-Security-Policy
 */
export function chatPageRoutes(): Hono {
  const routes = new Hono();
  routes.get(chatPage.path, (c) => serveAsset(c, chatPage, pageHeaders));
  for (const asset of [chatScript, chatStyle, chatIcon]) {
    routes.get(asset.path, (c) => serveAsset(c, asset, assetHeaders));
  }
  return routes;
}

function serveAsset(c: Context, asset: ChatAsset, headers: Record<string, string>): Response {
  const etag = `"${asset.hash}"`;
  const cacheHeaders = { ETag: etag, 'Cache-Control': headers['Cache-Control'] ?? 'no-cache' };
  if (ifNoneMatchMatches(c.req.header('if-none-match'), etag)) {
    return c.body(null, 304, cacheHeaders);
  }
  return c.body(asset.body, 200, {
    ...headers,
    ...cacheHeaders,
    'Content-Type': asset.contentType,
    'X-Content-Type-Options': 'nosniff',
  });
}

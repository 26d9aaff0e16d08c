import { StreamragError } from './errors.ts';

/** Inside Cloudflare Workers (workerd), whose `navigator.userAgent` says so. */
export function onWorkers(): boolean {
  return globalThis.navigator?.userAgent === 'Cloudflare-Workers';
}

/**
 * Refuses, with a message saying what to do instead, work that needs Node: a filesystem, a
 * worker thread, or a long-lived process (ingestion from files, the embedded database,
 * migrations and index builds).
 *
 * @example
 * refuseOnWorkers('Ingestion from files', 'run `npm run ingest -- <paths>` from Node');
 */
export function refuseOnWorkers(what: string, instead: string): void {
  if (!onWorkers()) return;
  throw new StreamragError(
    'unsupported_runtime',
    `${what} runs on Node, not on Cloudflare Workers: ${instead}.`,
  );
}

/**
 * `npm start`: the HTTP server on the embedded default (PGlite in ./.data, the local embedder
 * and the extractive generator) unless the environment configures PostgreSQL or a model.
 */
import { errorMessage, StreamragError } from '../core/errors.ts';
import { startNodeServer } from './node-server.ts';

try {
  const server = await startNodeServer(process.env);
  console.log(`streamrag listening on ${server.url} — ${server.description}`);
  if (!/^(127\.|localhost$|::1$|\[::1\]$)/.test(new URL(server.url).hostname)) {
    console.warn(
      'warning: listening beyond this machine, and streamrag has no authentication yet: ' +
        'put it behind a proxy that authenticates, or set HOST=127.0.0.1.',
    );
  }
  let signals = 0;
  const stop = async (signal: string) => {
    signals += 1;
    if (signals > 1) process.exit(1);
    console.log(`${signal}: finishing open answers, then closing the database…`);
    const { finished, ended } = await server.shutdown();
    console.log(`stopped (${finished} answers finished, ${ended} ended early)`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (error) {
  console.error(
    error instanceof StreamragError || (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `error: ${errorMessage(error)}`
      : error,
  );
  process.exit(1);
}

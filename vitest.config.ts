import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `node` (everything under Node) and `workers` (test/workers/, run inside
 * workerd by @cloudflare/vitest-plugin against the real entry, src/entry/worker.ts, with the
 * bindings of wrangler.toml pointed at a real PostgreSQL and the OpenAI stand-in that
 * test/workers/global-setup.ts starts under Node).
 */
// Miniflare would fetch `request.cf` data from Cloudflare at start; tests need none (and CI has
// no internet).
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file opens its own databases; two cores, so two files at a time.
    maxWorkers: 2,
    // postgres.js under workerd rejects once more after sql.end(), from its socket polyfill,
    // when the closed socket's stream is read (porsager/postgres#1202). Exactly that rejection
    // is ignored (a root option: vitest reads it from the root only); any other unhandled error
    // still fails the run.
    onUnhandledError: (error) =>
      !(
        /^(Stream was cancelled|This socket has been closed)\.$/.test(error.message) &&
        (error.stack ?? '').includes('postgres/cf/polyfills.js')
      ),
    // Under Node, for the workers project (its own setup would resolve packages as workerd
    // does): the stand-in and a PostgreSQL database holding the fixture corpus.
    globalSetup: ['test/workers/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: ['test/workers/**'],
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              hyperdrives: { HYPERDRIVE: inject('hyperdriveUrl') },
              bindings: inject('workerVariables'),
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
        },
      },
    ],
  },
});

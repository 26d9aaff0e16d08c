/**
 * npm run dev:worker — the Worker under `wrangler dev` (workerd, on this machine), against a
 * local PostgreSQL: DATABASE_URL, if set, replaces wrangler.toml's localConnectionString (the
 * Hyperdrive binding then connects directly, without Hyperdrive's pool). Every streamrag
 * setting in the environment (CHAT_MODEL, OPENAI_BASE_URL, OPENAI_API_KEY, …) reaches the
 * Worker through a private env file, not the command line. Never prompts, sends no metrics.
 *
 *   DATABASE_URL=postgres://… CHAT_MODEL=… npm run dev:worker    # PORT (default 8788), HOST
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configVariableNames } from '../src/core/config.ts';
import { withPassword } from './lib/hyperdrive-url.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port =
  process.env.PORT === undefined || process.env.PORT === '0' ? await freePort() : process.env.PORT;

// Node-only settings mean nothing to the Worker; the database arrives as Hyperdrive.
const nodeOnly = new Set([
  'DATABASE_URL',
  'DATA_DIR',
  'HOST',
  'PORT',
  'PG_POOL_MAX',
  'SHUTDOWN_GRACE_MS',
]);
const variables: string[] = [];
for (const name of configVariableNames) {
  const value = process.env[name];
  if (nodeOnly.has(name) || value === undefined) continue;
  // Single quotes: dotenv takes the value literally (no escapes, no $NAME expansion).
  if (/['\n\r]/.test(value)) {
    console.error(
      `error: ${name} contains a quote or a line break, which an env file cannot carry`,
    );
    process.exit(2);
  }
  variables.push(`${name}='${value}'`);
}
const directory = await mkdtemp(join(tmpdir(), 'streamrag-dev-worker-'));
const envFile = join(directory, 'worker.env');
await writeFile(envFile, `${variables.join('\n')}\n`, { mode: 0o600 });
await chmod(directory, 0o700);

const environment: NodeJS.ProcessEnv = {
  ...process.env,
  CI: 'true',
  WRANGLER_SEND_METRICS: 'false',
  // Local runs need no `request.cf` data from Cloudflare (and may have no internet).
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};
if (process.env.DATABASE_URL !== undefined) {
  environment.CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE = withPassword(
    process.env.DATABASE_URL,
  );
}
const wrangler = spawn(
  join(import.meta.dirname, '..', 'node_modules', '.bin', 'wrangler'),
  [
    'dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--env-file',
    envFile,
    '--show-interactive-dev-session=false',
  ],
  { env: environment, stdio: ['ignore', 'pipe', 'inherit'] },
);
wrangler.on('error', async (error) => {
  console.error(`error: could not start wrangler (${error.message}); run npm install first`);
  await rm(directory, { recursive: true, force: true });
  process.exit(1);
});
let announced = false;
wrangler.stdout.setEncoding('utf8');
wrangler.stdout.on('data', (text: string) => {
  process.stdout.write(text);
  if (!announced && /Ready on http/.test(text)) {
    announced = true;
    // The line scripts/bench waits for, as from `npm start`.
    console.log(`streamrag (workerd, wrangler dev) listening on http://${host}:${port}`);
  }
});
const stop = () => wrangler.kill('SIGTERM');
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
wrangler.on('exit', async (code, signal) => {
  await rm(directory, { recursive: true, force: true });
  process.exit(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1));
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
}

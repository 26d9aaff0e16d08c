import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);
const repositoryRoot = new URL('../../', import.meta.url);
const script = new URL('scripts/test-postgres.sh', repositoryRoot).pathname;

/**
 * The PostgreSQL server the benchmarks use: the one at BENCH_DATABASE_URL, or a throwaway
 * cluster started (and stopped) through scripts/test-postgres.sh with a state file of its own,
 * so a cluster someone else started is never reused or stopped. Every benchmark gets a new
 * database of its own; all of them are dropped on close.
 */
export interface PostgresServer {
  /** Whether this process started the cluster (and so stops it). */
  readonly managed: boolean;
  /** A new, empty database; returns its URL. */
  createDatabase(label: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  versions(): Promise<{ postgres: string; pgvector: string }>;
  close(): Promise<void>;
}

export async function startPostgresServer(givenUrl: string | undefined): Promise<PostgresServer> {
  let adminUrl: string;
  let stop: (() => Promise<void>) | undefined;
  if (givenUrl !== undefined) {
    adminUrl = givenUrl;
  } else {
    const stateDirectory = new URL('.data/', repositoryRoot).pathname;
    await mkdir(stateDirectory, { recursive: true });
    const environment = {
      ...process.env,
      TEST_POSTGRES_STATE: `${stateDirectory}bench-postgres-${process.pid}.env`,
    };
    console.error('bench: starting PostgreSQL (scripts/test-postgres.sh start)…');
    const started = await run(script, ['start'], { env: environment }).catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`scripts/test-postgres.sh start failed:\n${stderr}`, { cause: error });
    });
    adminUrl = started.stdout.trim();
    stop = async () => {
      await run(script, ['stop'], { env: environment });
    };
  }

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  const urlOf = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const nameOf = (url: string) => new URL(url).pathname.slice(1);

  return {
    managed: stop !== undefined,
    async createDatabase(label) {
      const name = `streamrag_bench_${process.pid}_${created.length}_${label.replace(/\W/g, '_')}`;
      // Identifiers cannot be parameters; the name is built from digits and \w only.
      await admin.unsafe(`CREATE DATABASE ${name}`);
      created.push(name);
      return urlOf(name);
    },
    async dropDatabase(url) {
      const name = nameOf(url);
      if (!created.includes(name)) throw new Error(`refusing to drop ${name}: not created here`);
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      created.splice(created.indexOf(name), 1);
    },
    async versions() {
      const [server] = await admin<
        { version: string }[]
      >`SELECT current_setting('server_version') AS version`;
      const [extension] = await admin<{ version: string }[]>`
        SELECT default_version AS version FROM pg_available_extensions WHERE name = 'vector'`;
      return { postgres: server?.version ?? '?', pgvector: extension?.version ?? 'not installed' };
    },
    async close() {
      try {
        for (const name of [...created]) {
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
        created.length = 0;
      } finally {
        await admin.end({ timeout: 5 });
        if (stop !== undefined) {
          console.error('bench: stopping PostgreSQL…');
          await stop();
        }
      }
    },
  };
}

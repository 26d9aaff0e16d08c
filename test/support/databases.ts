import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { type Config, parseConfig } from '../../src/core/config.ts';

/**
 * The engines every storage test runs on: PGlite always, PostgreSQL when TEST_DATABASE_URL is
 * set (REQUIRE_POSTGRES=1 turns its absence into a failure, as in CI). Each call to
 * `createDatabase` gives a new, empty database and a config pointing at it.
 */
export interface TestEngine {
  name: 'pglite' | 'postgres';
  createDatabase(environment?: Record<string, string>): Promise<Config>;
  /** Drops every database this engine created. */
  cleanup(): Promise<void>;
}

const postgresUrl = process.env.TEST_DATABASE_URL;
if (process.env.REQUIRE_POSTGRES === '1' && !postgresUrl) {
  throw new Error(
    'REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: start one with scripts/test-postgres.sh',
  );
}

export const testEngines: TestEngine[] = [pgliteEngine()];
if (postgresUrl) testEngines.push(postgresEngine(postgresUrl));

function pgliteEngine(): TestEngine {
  const directories: string[] = [];
  return {
    name: 'pglite',
    async createDatabase(environment = {}) {
      const directory = await mkdtemp(join(tmpdir(), 'streamrag-test-'));
      directories.push(directory);
      return parseConfig({ ...environment, DATA_DIR: directory });
    },
    async cleanup() {
      await Promise.all(
        directories.map((directory) => rm(directory, { recursive: true, force: true })),
      );
      directories.length = 0;
    },
  };
}

function postgresEngine(url: string): TestEngine {
  const databases: string[] = [];
  const admin = () => postgres(url, { max: 1, onnotice: () => {} });
  return {
    name: 'postgres',
    async createDatabase(environment = {}) {
      const name = `streamrag_test_${process.pid}_${Date.now()}_${databases.length}`;
      const sql = admin();
      try {
        await sql.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await sql.end();
      }
      databases.push(name);
      const databaseUrl = new URL(url);
      databaseUrl.pathname = `/${name}`;
      return parseConfig({ ...environment, DATABASE_URL: databaseUrl.toString() });
    },
    async cleanup() {
      const sql = admin();
      try {
        for (const name of databases)
          await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end();
      }
      databases.length = 0;
    },
  };
}

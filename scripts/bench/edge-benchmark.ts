/**
 * npm run bench:edge [-- options]   (needs PostgreSQL: TEST_DATABASE_URL, as from
 *                                    scripts/test-postgres.sh run -- npm run bench:edge)
 *
 * The same ask served by the Node entry (`npm start`) and by the Worker under `wrangler dev`
 * (workerd on this machine, through wrangler's local proxy), on one PostgreSQL database and one
 * stand-in model, one answer at a time, the two targets taking turns. Reports time to first
 * byte, to first token and to the end (p50 and p90), and the Worker's bundle size. Prints
 * Markdown; `--write` also puts it in docs/benchmarks.md.
 */
import { execFile } from 'node:child_process';
import postgres from 'postgres';
import { runCli, UsageError } from '../lib/run-cli.ts';
import {
  commandArguments,
  parseSequentialAskArguments,
  sequentialAskOptionsUsage,
} from './bench-arguments.ts';
import { writeBenchmarkSection } from './benchmarks-file.ts';
import { formatMilliseconds, markdownTable, percentile, summarize } from './statistics.ts';
import {
  cleanEnvironment,
  killAllChildren,
  repositoryRoot,
  runNodeScript,
  type ServiceChild,
  startServiceChild,
  startStandInChild,
} from './stream-children.ts';
import { streamQuestions } from './stream-questions.ts';
import { answerFormat, type Sample, takeTurns, timedAsk } from './timed-ask.ts';

const usage = `usage: npm run bench:edge -- [options]

  --runs N              answers per target (default 50)
${sequentialAskOptionsUsage}

Creates (and drops) a database on the PostgreSQL server of TEST_DATABASE_URL.`;

const sectionHeading = '## Node and Workers (`npm run bench:edge`)';

await runCli(usage, async () => {
  const { runs, timing, corpus, write } = parseSequentialAskArguments();
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl === undefined) {
    throw new UsageError(
      'TEST_DATABASE_URL is not set: run it under scripts/test-postgres.sh run --',
    );
  }

  const database = `streamrag_bench_edge_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${database}`);
  const urlOf = (name: string) =>
    Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const databaseUrl = urlOf(database);
  const children: ServiceChild[] = [];
  try {
    const standIn = await startStandInChild(timing);
    children.push(standIn);
    const settings = {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      CHAT_MODEL: 'stand-in-chat',
      OPENAI_BASE_URL: standIn.url,
      OPENAI_API_KEY: 'bench',
    };
    await runNodeScript('scripts/ingest.ts', [corpus], cleanEnvironment(settings));
    // A copy whose role has the search settings (npm run migrate -- --role-settings): its
    // Worker searches without a transaction around each query.
    await admin.unsafe(`CREATE DATABASE ${database}_role TEMPLATE ${database}`);
    const roleSettings = { ...settings, DATABASE_URL: urlOf(`${database}_role`) };
    await runNodeScript('scripts/migrate.ts', ['--role-settings'], cleanEnvironment(roleSettings));

    const targets: [string, ServiceChild][] = [];
    const start = async (name: string, script: string, environment: Record<string, string>) => {
      const child = await startServiceChild(name, script, [], cleanEnvironment(environment));
      children.push(child);
      targets.push([name, child]);
    };
    await start('Node (`npm start`)', 'src/entry/node.ts', settings);
    await start(
      'Workers (`wrangler dev`), SET LOCAL per search',
      'scripts/dev-worker.ts',
      settings,
    );
    await start('Workers (`wrangler dev`), role settings', 'scripts/dev-worker.ts', roleSettings);

    // Warm-up: JIT, the first connections, the Worker's first (schema-checking) request.
    for (const [, target] of targets) {
      for (let warm = 0; warm < 5; warm += 1) {
        await timedAsk(target.url, answerFormat, streamQuestions[warm] as string);
      }
    }
    const samples = new Map<string, Sample[]>(targets.map(([name]) => [name, []]));
    await takeTurns(targets, runs, async ([name, target], question) => {
      samples.get(name)?.push(await timedAsk(target.url, answerFormat, question));
    });

    const rows = targets.map(([name]) => {
      const taken = samples.get(name) ?? [];
      const cell = (pick: (sample: Sample) => number) => {
        const values = taken.map(pick);
        const sorted = values.sort((left, right) => left - right);
        return `${formatMilliseconds(percentile(sorted, 0.5))} / ${formatMilliseconds(percentile(sorted, 0.9))}`;
      };
      return [
        name,
        cell((sample) => sample.firstByteMs),
        cell((sample) => sample.firstTokenMs),
        cell((sample) => sample.totalMs),
        cell((sample) => sample.server?.retrieveMs ?? Number.NaN),
      ];
    });
    const bundle = await deployCheckLine();
    const connect = await connectionCost(databaseUrl);
    const report = [
      sectionHeading,
      '',
      `${runs} answers per target, one at a time, the targets taking turns, from \`npm run bench:edge${commandArguments()}\` on ${new Date().toISOString().slice(0, 10)}. One PostgreSQL 15 database (the manual sample, local embedder, hybrid search); the stand-in answers ${timing.tokenCount} tokens after ${timing.timeToFirstTokenMs} ms, ${timing.interTokenDelayMs} ms apart. Times in ms from sending \`POST /v1/answer\` (p50 / p90). The Worker runs in workerd behind \`wrangler dev\`'s local proxy, with a direct connection where Hyperdrive would pool: this compares runtimes on one machine, not Cloudflare's network.`,
      '',
      markdownTable(
        ['Target', 'First byte', 'First token', 'End', 'Server: retrieve (query + connect)'],
        rows,
      ),
      '',
      `What a client per request costs, measured apart on the same server (Node, postgres.js, 50 each, p50): a new client's first parameterized query ${formatMilliseconds(connect.fresh)} ms, the same query on an open connection ${formatMilliseconds(connect.pooled)} ms.`,
      '',
      `\`npm run deploy:check\`: ${bundle}`,
      '',
    ].join('\n');
    console.log(report);
    if (write) {
      await writeBenchmarkSection(sectionHeading, report);
      console.error('bench:edge: results written to docs/benchmarks.md');
    }
    return 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    killAllChildren();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${database}_role WITH (FORCE)`);
    await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
});

/** p50 of a fresh client's first query (connect, startup, describe, execute) and a pooled one. */
async function connectionCost(url: string): Promise<{ fresh: number; pooled: number }> {
  const query = 'SELECT $1::int + 1 AS next';
  const fresh: number[] = [];
  for (let run = 0; run < 50; run += 1) {
    const started = performance.now();
    const sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => {} });
    await sql.unsafe(query, [run], { prepare: true });
    fresh.push(performance.now() - started);
    await sql.end();
  }
  const pooled: number[] = [];
  const sql = postgres(url, { max: 1, fetch_types: false, onnotice: () => {} });
  await sql.unsafe(query, [0], { prepare: true });
  for (let run = 0; run < 50; run += 1) {
    const started = performance.now();
    await sql.unsafe(query, [run], { prepare: true });
    pooled.push(performance.now() - started);
  }
  await sql.end();
  return { fresh: summarize(fresh).p50, pooled: summarize(pooled).p50 };
}

/** The size line `npm run deploy:check` prints. */
async function deployCheckLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['scripts/deploy-check.ts'],
      { cwd: repositoryRoot },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`deploy:check failed: ${stdout}${stderr}`));
        else resolve(stdout.trim());
      },
    );
  });
}

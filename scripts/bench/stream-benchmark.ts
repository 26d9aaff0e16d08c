/**
 * npm run bench:stream [-- options]
 *
 * Streamed answers under load: time to first byte, to first token and to the end of
 * `POST /v1/answer`, for streamrag on PGlite and on PostgreSQL (the model path, against the
 * OpenAI stand-in) and for a bare node:http relay of the same stand-in (the floor). The load
 * client (this process), the stand-in and the server under test are separate processes sharing
 * the machine's cores, as in production. Prints Markdown; `--write` also puts it in
 * docs/benchmarks.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import postgres from 'postgres';
import { runCli, UsageError } from '../lib/run-cli.ts';
import { commandArguments, wholeNumber } from './bench-arguments.ts';
import { writeBenchmarkSection } from './benchmarks-file.ts';
import { cpuBusyFraction, readCpuTimes } from './statistics.ts';
import {
  cleanEnvironment,
  killAllChildren,
  processCpuMilliseconds,
  repositoryRoot,
  runNodeScript,
  type ServiceChild,
  startServiceChild,
  startStandInChild,
} from './stream-children.ts';
import {
  createLoadAgent,
  type LoadTarget,
  type ResponseMode,
  runBursts,
  runOpenLoop,
  type ShapeResult,
} from './stream-load.ts';
import { streamQuestions } from './stream-questions.ts';
import {
  type CpuUse,
  type ShapeMeasurement,
  type StreamBenchSettings,
  streamReport,
  type TargetName,
  targetLabels,
} from './stream-report.ts';

const usage = `usage: npm run bench:stream -- [options]

  --targets LIST          any of floor,pglite,postgres (default all three)
  --bursts LIST           burst sizes (default 1,10,50,100)
  --burst-rounds N        bursts of each size, pooled (default 5)
  --steady-seconds N      open-loop duration; 0 skips it (default 30)
  --steady-in-flight N    streams the open-loop rate aims to keep open (default 100)
  --skip-json             do not measure buffered (Accept: application/json) answers
  --ttft-ms N             stand-in time to first token (default 300)
  --token-delay-ms N      stand-in delay between tokens (default 20)
  --tokens N              stand-in tokens per reply (default 100)
  --fresh-connections     a new connection per answer (default: keep-alive, as behind a proxy)
  --floor-upstream KIND   how the floor calls the stand-in: http (default) or fetch
  --extractive            streamrag without CHAT_MODEL (the local extractive generator)
  --cpu-prof DIR          write a V8 CPU profile of each streamrag server into DIR
  --server-entry FILE     run this instead of src/entry/node.ts (to compare a variant: it must
                          print "listening on <url>" like npm start)
  --corpus DIR            documents to ingest (default samples/postgres-docs)
  --write                 put the results in docs/benchmarks.md (replacing an earlier run)
  --raw FILE              every sample as JSON (default .data/bench/stream-samples.json)

PostgreSQL: BENCH_DATABASE_URL, else the cluster in .data/test-postgres.env if it answers, else
one started with scripts/test-postgres.sh (and stopped). The database streamrag_bench_stream is
created on it and dropped at the end; PGlite gets a new temporary directory.`;

const sectionHeading = '## Streaming answers (`npm run bench:stream`)';
const benchDatabase = 'streamrag_bench_stream';

interface Cleanup {
  steps: (() => Promise<void>)[];
}

await runCli(usage, async () => {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string', default: 'floor,pglite,postgres' },
      bursts: { type: 'string', default: '1,10,50,100' },
      'burst-rounds': { type: 'string', default: '5' },
      'steady-seconds': { type: 'string', default: '30' },
      'steady-in-flight': { type: 'string', default: '100' },
      'skip-json': { type: 'boolean', default: false },
      'fresh-connections': { type: 'boolean', default: false },
      'ttft-ms': { type: 'string', default: '300' },
      'token-delay-ms': { type: 'string', default: '20' },
      tokens: { type: 'string', default: '100' },
      'floor-upstream': { type: 'string', default: 'http' },
      extractive: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'server-entry': { type: 'string', default: 'src/entry/node.ts' },
      corpus: { type: 'string', default: 'samples/postgres-docs' },
      write: { type: 'boolean', default: false },
      raw: { type: 'string', default: '.data/bench/stream-samples.json' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const targets = values.targets.split(',').map((name) => name.trim());
  for (const name of targets) {
    if (!(name in targetLabels)) throw new UsageError(`unknown target "${name}"`);
  }
  if (values['floor-upstream'] !== 'http' && values['floor-upstream'] !== 'fetch') {
    throw new UsageError('--floor-upstream must be http or fetch');
  }
  const settings: StreamBenchSettings = {
    timeToFirstTokenMs: wholeNumber('ttft-ms', values['ttft-ms'], 0),
    interTokenDelayMs: wholeNumber('token-delay-ms', values['token-delay-ms'], 0),
    tokenCount: wholeNumber('tokens', values.tokens, 1),
    steadySeconds: wholeNumber('steady-seconds', values['steady-seconds'], 0),
    steadyInFlight: wholeNumber('steady-in-flight', values['steady-in-flight'], 1),
    burstRounds: wholeNumber('burst-rounds', values['burst-rounds'], 1),
    generator: values.extractive ? 'extractive' : 'model',
    freshConnections: values['fresh-connections'],
  };
  const bursts = values.bursts.split(',').map((size) => wholeNumber('bursts', size, 1));

  const cleanup: Cleanup = { steps: [] };
  const runCleanup = async () => {
    for (const step of cleanup.steps.splice(0).reverse()) {
      await step().catch((error: unknown) => console.error('bench:stream: cleanup:', error));
    }
  };
  // Ctrl-C reaches the children too (same process group); this stops whatever is left.
  const interrupted = () => {
    console.error('bench:stream: interrupted, cleaning up…');
    killAllChildren();
    void runCleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  process.once('exit', killAllChildren);

  const started = new Date();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const measurements: ShapeMeasurement[] = [];
  let environmentLines: string[] = [];
  try {
    console.error('bench:stream: starting the stand-in…');
    const standIn = await startStandInChild(settings);
    cleanup.steps.push(() => standIn.stop());

    const facts: string[] = [];
    for (const name of targets as TargetName[]) {
      const server = await startTarget(name, {
        standIn,
        settings,
        corpus: values.corpus,
        floorUpstream: values['floor-upstream'],
        cpuProfileDirectory: values['cpu-prof'],
        serverEntry: values['server-entry'],
        cleanup,
        facts,
      });
      const modes: ResponseMode[] =
        name === 'floor' || values['skip-json'] ? ['stream'] : ['stream', 'json'];
      for (const mode of modes) {
        measurements.push(...(await measureTarget(name, mode, server, standIn, settings, bursts)));
      }
      console.error(`bench:stream: stopping ${server.name}…`);
      await server.stop();
    }
    environmentLines = [
      `- Date: ${started.toISOString()}; ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s in all`,
      `- Command: \`npm run bench:stream${commandArguments()}\``,
      `- Machine: ${availableParallelism()} CPUs (\`nproc\`), ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
        `${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${process.platform} ${process.arch}; ` +
        `load average ${loadBefore.toFixed(2)} at the start`,
      `- Node ${process.version}; ${facts.join('; ')}`,
      `- Stand-in: ${settings.timeToFirstTokenMs} ms to the first token, ${settings.interTokenDelayMs} ms ` +
        `between tokens, ${settings.tokenCount} tokens (one \`token\` frame each)`,
      `- Loads: bursts of ${bursts.join(', ')} answers opened at once, ${settings.burstRounds} rounds each ` +
        '(pooled; each round waits for the last to end)' +
        (settings.steadySeconds > 0
          ? `; open-loop arrivals for ${settings.steadySeconds} s at the rate that keeps ~${settings.steadyInFlight} ` +
            'streams open (requests start on schedule whatever the server does; answers issued during the ' +
            'first stream-length of ramp-up are left out of the percentiles, not out of the losses)'
          : ''),
      '- Separate processes on the same cores: this load client (node:http, one agent per target, no ' +
        `socket limit, ${settings.freshConnections ? 'a new connection per answer' : 'keep-alive connections (reused, as behind a reverse proxy)'}; ` +
        'times count from the moment each request is issued; a warm-up burst first), ' +
        `the stand-in, and the server under test. ${settings.generator === 'extractive' ? 'streamrag ran the extractive generator (no CHAT_MODEL).' : `streamrag runs ${values['server-entry'] === 'src/entry/node.ts' ? '`npm start`' : `\`node ${values['server-entry']}\` (a variant, not \`npm start\`)`} with CHAT_MODEL=stand-in-chat (LangChain ChatOpenAI \`.stream()\` to the stand-in).`} ` +
        `The floor is scripts/bench/bare-relay.ts (node:http, no framework, no retrieval; calls the stand-in with ${values['floor-upstream'] === 'http' ? 'node:http' : 'fetch'}, same frames).`,
    ];
  } finally {
    await runCleanup();
  }

  const report = [
    sectionHeading,
    '',
    ...environmentLines,
    '',
    'To see where the time goes: `--cpu-prof DIR` profiles each streamrag server, `--tokens 1` ' +
      'separates the cost per request from the cost per token, and `--server-entry FILE` runs a ' +
      'variant of the server under the same load.',
    '',
    streamReport(measurements, settings),
  ].join('\n');
  console.log(report);
  const rawPath = resolve(repositoryRoot, values.raw);
  await mkdir(dirname(rawPath), { recursive: true });
  await writeFile(rawPath, JSON.stringify({ settings, bursts, measurements }));
  console.error(`bench:stream: samples written to ${values.raw}`);
  if (values.write) {
    await writeBenchmarkSection(sectionHeading, report);
    console.error('bench:stream: results written to docs/benchmarks.md');
  }
  return 0;
});

interface TargetOptions {
  standIn: ServiceChild;
  settings: StreamBenchSettings;
  corpus: string;
  floorUpstream: string;
  cpuProfileDirectory: string | undefined;
  serverEntry: string;
  cleanup: Cleanup;
  /** Lines for the environment list (database versions, chunk counts). */
  facts: string[];
}

/** Builds the target's database (fresh), ingests the corpus and starts its server process. */
async function startTarget(name: TargetName, options: TargetOptions): Promise<ServiceChild> {
  const { standIn, cleanup } = options;
  if (name === 'floor') {
    console.error('bench:stream: starting the bare relay…');
    const relay = await startServiceChild(
      'floor',
      'scripts/bench/bare-relay.ts',
      ['--port', '0', '--upstream', standIn.url, '--upstream-client', options.floorUpstream],
      cleanEnvironment({}),
    );
    cleanup.steps.push(() => relay.stop());
    return relay;
  }

  let database: Record<string, string>;
  if (name === 'pglite') {
    const directory = await mkdtemp(join(tmpdir(), 'streamrag-bench-stream-'));
    cleanup.steps.push(() => rm(directory, { recursive: true, force: true }));
    database = { DATA_DIR: directory };
  } else {
    const url = await createPostgresDatabase(options.cleanup, options.facts);
    database = { DATABASE_URL: url };
  }
  console.error(`bench:stream: ingesting ${options.corpus} into ${name}…`);
  const ingestOutput = await runNodeScript(
    'scripts/ingest.ts',
    ['--json', '--quiet', options.corpus],
    cleanEnvironment(database),
  );
  const summary = JSON.parse(ingestOutput.trim().split('\n').at(-1) ?? '{}') as {
    chunks?: number;
    documents?: number;
  };
  options.facts.push(
    `${name === 'pglite' ? 'PGlite' : 'PostgreSQL'} holds ${options.corpus} (${JSON.stringify(summary).slice(0, 160)})`,
  );

  console.error(`bench:stream: starting streamrag on ${name}…`);
  const model: Record<string, string> =
    options.settings.generator === 'model'
      ? {
          CHAT_MODEL: 'stand-in-chat',
          OPENAI_BASE_URL: standIn.url,
          OPENAI_API_KEY: 'stand-in',
        }
      : {};
  // Node names each profile by date, process and thread (PGlite's worker gets its own).
  const nodeArguments =
    options.cpuProfileDirectory === undefined
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDirectory];
  const server = await startServiceChild(
    `streamrag ${name}`,
    options.serverEntry,
    [],
    cleanEnvironment({ ...database, ...model, HOST: '127.0.0.1', PORT: '0' }),
    nodeArguments,
  );
  cleanup.steps.push(() => server.stop());
  return server;
}

/**
 * The PostgreSQL server to use and a fresh `streamrag_bench_stream` database on it, dropped by
 * the cleanup (and the cluster stopped, when this run started it).
 */
async function createPostgresDatabase(cleanup: Cleanup, facts: string[]): Promise<string> {
  let adminUrl = process.env.BENCH_DATABASE_URL || undefined;
  if (adminUrl === undefined) {
    const shared = await readFile(join(repositoryRoot, '.data/test-postgres.env'), 'utf8').catch(
      () => '',
    );
    const sharedUrl = /^PG_URL=(.+)$/m.exec(shared)?.[1];
    if (sharedUrl !== undefined && (await answers(sharedUrl))) adminUrl = sharedUrl;
  }
  if (adminUrl === undefined) {
    // A state file of its own, so a cluster someone else started is never reused or stopped.
    const state = {
      TEST_POSTGRES_STATE: join(repositoryRoot, `.data/bench-stream-postgres-${process.pid}.env`),
    };
    console.error('bench:stream: starting PostgreSQL (scripts/test-postgres.sh start)…');
    adminUrl = (await runShell('scripts/test-postgres.sh', ['start'], state)).trim();
    cleanup.steps.push(async () => {
      console.error('bench:stream: stopping PostgreSQL…');
      await runShell('scripts/test-postgres.sh', ['stop'], state);
    });
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [version] = await admin<
    { version: string }[]
  >`SELECT current_setting('server_version') AS version`;
  // Identifiers cannot be parameters; the name is a constant.
  await admin.unsafe(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${benchDatabase}`);
  cleanup.steps.push(async () => {
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  facts.push(`PostgreSQL ${version?.version ?? '?'} on the same machine`);
  const url = new URL(adminUrl);
  url.pathname = `/${benchDatabase}`;
  return url.toString();
}

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function runShell(
  script: string,
  scriptArguments: string[],
  environment: Record<string, string>,
): Promise<string> {
  const { stdout } = await promisify(execFile)(join(repositoryRoot, script), scriptArguments, {
    env: { ...process.env, ...environment },
  });
  return stdout;
}

/** A warm-up burst, then every burst size, then the open-loop load, in one response mode. */
async function measureTarget(
  name: TargetName,
  mode: ResponseMode,
  server: ServiceChild,
  standIn: ServiceChild,
  settings: StreamBenchSettings,
  bursts: readonly number[],
): Promise<ShapeMeasurement[]> {
  const streamMs =
    settings.timeToFirstTokenMs + (settings.tokenCount - 1) * settings.interTokenDelayMs;
  const target: LoadTarget = {
    url: `${server.url}/v1/answer`,
    mode,
    agent: createLoadAgent(!settings.freshConnections),
    expectedTokens: settings.generator === 'model' ? settings.tokenCount : undefined,
    deadlineMs: Math.max(30_000, streamMs * 10),
  };
  const measurements: ShapeMeasurement[] = [];
  const measure = async (
    kind: 'burst' | 'steady',
    size: number,
    run: (onPlateau: (edge: 'start' | 'end') => void) => Promise<ShapeResult>,
  ) => {
    console.error(`bench:stream: ${name}, ${mode}, ${kind} ${size}…`);
    const before = await cpuReadings(server, standIn);
    let plateauStart: Promise<CpuReadings> | undefined;
    let plateauEnd: Promise<CpuReadings> | undefined;
    const result = await run((edge) => {
      if (edge === 'start') plateauStart = cpuReadings(server, standIn);
      else plateauEnd = cpuReadings(server, standIn);
    });
    const after = await cpuReadings(server, standIn);
    const measurement: ShapeMeasurement = {
      target: name,
      mode,
      kind,
      size,
      result,
      cpu: cpuUse(before, after),
      ...(plateauStart === undefined || plateauEnd === undefined
        ? {}
        : { plateauCpu: cpuUse(await plateauStart, await plateauEnd) }),
    };
    const lost = result.samples.filter((sample) => sample.failure !== undefined).length;
    console.error(
      `bench:stream:   ${result.samples.length} answers, ${lost} lost, ${(result.wallMs / 1000).toFixed(1)} s`,
    );
    measurements.push(measurement);
  };

  // Warm-up (not recorded): JIT, the database's caches, and the agent's sockets.
  const warmUp = Math.max(...bursts);
  await runBursts(target, warmUp, 1, streamQuestions.slice(5));
  for (const size of bursts) {
    await measure('burst', size, () =>
      runBursts(target, size, settings.burstRounds, streamQuestions),
    );
  }
  if (settings.steadySeconds > 0) {
    await measure('steady', settings.steadyInFlight, (onPlateau) =>
      runOpenLoop(
        target,
        {
          ratePerSecond: settings.steadyInFlight / (streamMs / 1000),
          seconds: settings.steadySeconds,
          rampUpMs: streamMs,
          onPlateau,
        },
        streamQuestions,
      ),
    );
  }
  target.agent.destroy();
  return measurements;
}

interface CpuReadings {
  at: number;
  server: { mainThread: number; otherThreads: number };
  standIn: { mainThread: number; otherThreads: number };
  client: number;
  machine: Awaited<ReturnType<typeof readCpuTimes>>;
}

async function cpuReadings(server: ServiceChild, standIn: ServiceChild): Promise<CpuReadings> {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    server: await processCpuMilliseconds(server.pid),
    standIn: await processCpuMilliseconds(standIn.pid),
    client: (usage.user + usage.system) / 1000,
    machine: await readCpuTimes(),
  };
}

function cpuUse(before: CpuReadings, after: CpuReadings): CpuUse {
  const wallMs = after.at - before.at;
  const standInTotal = (reading: CpuReadings) =>
    reading.standIn.mainThread + reading.standIn.otherThreads;
  return {
    wallMs,
    serverMainMs: after.server.mainThread - before.server.mainThread,
    serverOtherMs: after.server.otherThreads - before.server.otherThreads,
    standInMs: standInTotal(after) - standInTotal(before),
    clientMs: after.client - before.client,
    machineMs: cpuBusyFraction(before.machine, after.machine) * availableParallelism() * wallMs,
  };
}

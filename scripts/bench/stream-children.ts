/**
 * Child processes for the streaming benchmark: the stand-in, the server under test and the
 * ingestion runs each get a process of their own, as they would in production, so they compete
 * for the cores with the load client instead of sharing its event loop.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, the working directory of every child. */
export const repositoryRoot = new URL('../../', import.meta.url).pathname;

export interface ServiceChild {
  readonly name: string;
  readonly pid: number;
  /** The URL the child printed on its "listening on" line. */
  readonly url: string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Every child still running, so an interrupted benchmark can stop them all. */
const running = new Set<ChildProcess>();

/**
 * Starts `node <script> …arguments` and resolves once it prints `listening on <url>` on stdout.
 * Its stderr is forwarded with a `[name]` prefix, so a server error during a run is seen.
 *
 * @example
 * const standIn = await startServiceChild('stand-in', 'scripts/stand-in/main.ts', ['--port', '0'], process.env);
 */
export async function startServiceChild(
  name: string,
  script: string,
  scriptArguments: readonly string[],
  environment: NodeJS.ProcessEnv,
  nodeArguments: readonly string[] = [],
): Promise<ServiceChild> {
  const child = spawn(process.execPath, [...nodeArguments, script, ...scriptArguments], {
    cwd: repositoryRoot,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  forwardLines(child.stderr, (line) => console.error(`[${name}] ${line}`));

  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report "listening on" within 120 s:\n${output}`));
    }, 120_000);
    forwardLines(child.stdout, (line) => {
      output += `${line}\n`;
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1] === undefined) return;
      clearTimeout(timeout);
      resolve(match[1]);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      reject(new Error(`${name} exited (${signal ?? code}) before listening:\n${output}`));
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    name,
    pid: child.pid as number,
    url,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * The OpenAI stand-in as a child process on a free port, answering with the given timing.
 *
 * @example
 * const standIn = await startStandInChild({ timeToFirstTokenMs: 300, interTokenDelayMs: 20, tokenCount: 100 });
 * standIn.url; // http://127.0.0.1:41234/v1
 */
export function startStandInChild(timing: {
  timeToFirstTokenMs: number;
  interTokenDelayMs: number;
  tokenCount: number;
}): Promise<ServiceChild> {
  return startServiceChild(
    'stand-in',
    'scripts/stand-in/main.ts',
    [
      '--port',
      '0',
      '--ttft-ms',
      String(timing.timeToFirstTokenMs),
      '--token-delay-ms',
      String(timing.interTokenDelayMs),
      '--tokens',
      String(timing.tokenCount),
    ],
    cleanEnvironment({}),
  );
}

/** Runs `node <script> …arguments` to completion; rejects with its output if it fails. */
export async function runNodeScript(
  script: string,
  scriptArguments: readonly string[],
  environment: NodeJS.ProcessEnv,
): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [script, ...scriptArguments], {
      cwd: repositoryRoot,
      env: environment,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`node ${script} ${scriptArguments.join(' ')} failed:\n${stdout}${stderr}`, {
      cause: error,
    });
  }
}

/** Kills every child still running (SIGKILL): for an interrupted run, where waiting is wrong. */
export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * The environment of a child with every streamrag setting removed, so the caller's own
 * DATABASE_URL, CHAT_MODEL, … never leak into a target that should not have them.
 */
export function cleanEnvironment(settings: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  const streamragSettings =
    /^(DATABASE_URL|DATA_DIR|PG_POOL_MAX|OPENAI_|EMBEDDING|CHUNK_|INGEST_|HNSW_|INDEX_BUILD_MEMORY|HOST$|PORT$|CHAT_MODEL|LLM_|ANSWER_K|MAX_REQUEST_BYTES|SSE_KEEPALIVE_MS|SSE_STALL_TIMEOUT_MS|SHUTDOWN_GRACE_MS|SEARCH_CACHE_SECONDS|CORS_ORIGINS)/;
  for (const key of Object.keys(environment)) {
    if (streamragSettings.test(key)) delete environment[key];
  }
  return { ...environment, ...settings };
}

let ticksPerSecond: number | undefined;

/**
 * CPU time (user + system, milliseconds) a process has used so far, split into its main thread
 * (the event loop) and every other thread (PGlite's worker, V8's garbage collector and
 * compiler, libuv's pool), from `/proc/<pid>/stat`; NaN where there is no procfs.
 * The event loop's share is the one that delays responses when it nears a whole core.
 */
export async function processCpuMilliseconds(
  pid: number,
): Promise<{ mainThread: number; otherThreads: number }> {
  try {
    ticksPerSecond ??= Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    // The process's line counts every thread, including ones that have ended; the task's
    // line counts the main thread alone.
    const whole = await cpuOfStatFile(`/proc/${pid}/stat`, ticksPerSecond);
    const mainThread = await cpuOfStatFile(`/proc/${pid}/task/${pid}/stat`, ticksPerSecond);
    return { mainThread, otherThreads: whole - mainThread };
  } catch {
    return { mainThread: Number.NaN, otherThreads: Number.NaN };
  }
}

async function cpuOfStatFile(path: string, ticks: number): Promise<number> {
  const stat = await readFile(path, 'utf8');
  // The command name is in parentheses and may contain spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
  });
}

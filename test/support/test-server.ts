import { join } from 'node:path';
import type { Config } from '../../src/core/config.ts';
import { createEmbedder } from '../../src/embeddings/create-embedder.ts';
import { type RunningServer, startNodeServer } from '../../src/entry/node-server.ts';
import { loadPaths } from '../../src/ingest/load-files.ts';
import { ingest } from '../../src/ingest/pipeline.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { TestEngine } from './databases.ts';

export const corpusDirectory = join(import.meta.dirname, '..', 'fixtures', 'corpus');

/** The environment that points the server at a database made by `engine.createDatabase`. */
export function databaseEnvironment(config: Config): Record<string, string> {
  return config.databaseUrl === undefined
    ? { DATA_DIR: config.dataDir }
    : { DATABASE_URL: config.databaseUrl };
}

/**
 * A real server on a free port over a new database of `engine` holding the fixture corpus
 * (bees, bread, comets, lighthouses), ingested before the server starts.
 */
export async function startTestServer(
  engine: TestEngine,
  environment: Record<string, string> = {},
  options: { logError?: (message: string, error: unknown) => void } = {},
): Promise<RunningServer & { environment: Record<string, string> }> {
  const config = await engine.createDatabase(environment);
  await ingestCorpus(config);
  const serverEnvironment = {
    ...environment,
    ...databaseEnvironment(config),
    HOST: '127.0.0.1',
    PORT: '0',
  };
  const server = await startNodeServer(serverEnvironment, {
    logError: options.logError ?? (() => {}),
  });
  return Object.assign(server, { environment: serverEnvironment });
}

/** Migrates the database of `config` and loads the fixture corpus into it, as `npm run ingest` does. */
export async function ingestCorpus(config: Config): Promise<void> {
  const embedder = await createEmbedder(config);
  const store = await openStore(config, embedder.identity);
  try {
    await ingest(
      loadPaths([corpusDirectory], { maxFileBytes: config.ingestMaxFileBytes }),
      { store, embeddings: embedder.embeddings },
      {
        collection: 'default',
        chunkSize: config.chunkSize,
        chunkOverlap: config.chunkOverlap,
        batchSize: 16,
        writeConcurrency: 2,
      },
    );
  } finally {
    await store.close();
  }
}

export interface SseFrame {
  event: string;
  data: string;
}

/** Splits an SSE body into frames exactly as written (comments kept as event ':'). */
export function parseFrames(body: string): SseFrame[] {
  return body
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      if (frame.startsWith(':')) return { event: ':', data: frame.slice(1).trim() };
      const match = /^event: (.+)\ndata: (.*)$/.exec(frame);
      if (match === null) throw new Error(`Not a single-line SSE frame: ${JSON.stringify(frame)}`);
      return { event: match[1] as string, data: match[2] as string };
    });
}

/**
 * Reads an SSE response frame by frame, so a test can act between frames (release the
 * model, cancel the stream).
 */
export function frameReader(response: Response) {
  if (response.body === null) throw new Error('The response has no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    /** The next frame (keep-alive comments skipped), or undefined at the end of the stream. */
    async next(): Promise<SseFrame | undefined> {
      while (true) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const [frame] = parseFrames(buffer.slice(0, end + 2));
          buffer = buffer.slice(end + 2);
          if (frame === undefined || frame.event === ':') continue;
          return frame;
        }
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
      }
    },
    /** Every remaining frame. */
    async rest(): Promise<SseFrame[]> {
      const frames: SseFrame[] = [];
      for (let frame = await this.next(); frame !== undefined; frame = await this.next()) {
        frames.push(frame);
      }
      return frames;
    },
    cancel: () => reader.cancel(),
  };
}

export function postAnswer(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${url}/v1/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

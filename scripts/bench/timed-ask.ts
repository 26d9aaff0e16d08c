import { createParser } from 'eventsource-parser';
import { streamQuestions } from './stream-questions.ts';

/** How to ask in one wire format, and how to tell its token messages. */
export interface AskFormat {
  path: string;
  body: (question: string) => unknown;
  /** Whether an SSE message carries answer text. */
  isToken: (event: string | undefined, data: string) => boolean;
}

/** `POST /v1/answer`, our own events. */
export const answerFormat: AskFormat = {
  path: '/v1/answer',
  body: (question) => ({ question }),
  isToken: (event) => event === 'token',
};

export interface Sample {
  firstByteMs: number;
  firstTokenMs: number;
  totalMs: number;
  bytes: number;
  tokens: number;
  /** The server's own stage timings, from `/v1/answer`'s `done` event. */
  server?: { embedMs: number; retrieveMs: number; firstTokenMs: number | null; totalMs: number };
}

/**
 * One streamed answer, timed from the moment the request is sent: first byte, first token,
 * end, and the bytes on the wire.
 *
 * @example
 * const sample = await timedAsk('http://127.0.0.1:8787', answerFormat, 'What is VACUUM?');
 */
export async function timedAsk(
  baseUrl: string,
  format: AskFormat,
  question: string,
): Promise<Sample> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}${format.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(format.body(question)),
  });
  if (!response.ok || response.body === null) {
    throw new Error(`${format.path} answered ${response.status}: ${await response.text()}`);
  }
  const sample: Sample = {
    firstByteMs: Number.NaN,
    firstTokenMs: Number.NaN,
    totalMs: Number.NaN,
    bytes: 0,
    tokens: 0,
  };
  const parser = createParser({
    onEvent: ({ event, data }) => {
      if (event === 'done' && format === answerFormat) sample.server = JSON.parse(data).timings;
      if (!format.isToken(event, data)) return;
      sample.tokens += 1;
      if (Number.isNaN(sample.firstTokenMs)) sample.firstTokenMs = performance.now() - started;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    if (Number.isNaN(sample.firstByteMs)) sample.firstByteMs = performance.now() - started;
    sample.bytes += chunk.byteLength;
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  sample.totalMs = performance.now() - started;
  if (sample.tokens === 0) throw new Error(`${format.path} streamed no token`);
  return sample;
}

/**
 * `runs` rounds in which every contestant answers the round's question, one at a time; each
 * round starts with a different contestant, so a noisy neighbour hits all of them alike.
 *
 * @example
 * await takeTurns(targets, 50, async (target, question) => { samples.push(await timedAsk(…)); });
 */
export async function takeTurns<Contestant>(
  contestants: readonly Contestant[],
  runs: number,
  ask: (contestant: Contestant, question: string) => Promise<void>,
): Promise<void> {
  for (let run = 0; run < runs; run += 1) {
    const question = streamQuestions[run % streamQuestions.length] as string;
    for (let turn = 0; turn < contestants.length; turn += 1) {
      await ask(contestants[(run + turn) % contestants.length] as Contestant, question);
    }
  }
}

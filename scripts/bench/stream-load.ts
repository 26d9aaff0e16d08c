/**
 * The load client of the streaming benchmark: asks `POST /v1/answer`-style endpoints over
 * node:http (one keep-alive agent per target, no socket limit, so a hundred streams each get a
 * connection of their own) and times each answer from the moment the request is issued.
 */
import { Agent, request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';

export type ResponseMode = 'stream' | 'json';

export interface LoadTarget {
  /** The full URL to POST the question to. */
  url: string;
  mode: ResponseMode;
  agent: Agent;
  /** Token frames a complete stream carries (the stand-in's reply length); undefined: any. */
  expectedTokens: number | undefined;
  /** A stream that has not ended after this long is cut and counted as lost. */
  deadlineMs: number;
}

/** Timings the server reported itself: the `done` event (stream) or body (JSON). */
export interface ServerTimings {
  embedMs: number;
  retrieveMs: number;
  firstTokenMs: number | null;
  totalMs: number;
}

/** One answer as the client saw it; times are milliseconds from the request being issued. */
export interface AnswerSample {
  /** Issued this long after its scheduled time (client lateness, open-loop only). */
  lateMs: number;
  /** When it was issued, milliseconds after the start of its load shape. */
  issuedAtMs: number;
  status: number | undefined;
  /** First body chunk. */
  firstByteMs: number | undefined;
  /** First `token` frame (stream mode only). */
  firstTokenMs: number | undefined;
  /** The response ended. */
  endMs: number | undefined;
  tokens: number;
  /** Why the answer counts as lost; undefined when it arrived whole. */
  failure: string | undefined;
  server: ServerTimings | undefined;
}

/**
 * An agent with no socket limit, one per target so targets never share sockets. With
 * `keepAlive` (the default) connections are reused, as a reverse proxy's upstream connections
 * are; without it every answer opens a new connection, as separate browsers would.
 */
export function createLoadAgent(keepAlive = true): Agent {
  return new Agent({
    keepAlive,
    maxSockets: Number.POSITIVE_INFINITY,
    maxFreeSockets: 1024,
  });
}

/**
 * Asks one question and resolves when the answer has ended, failed or passed its deadline;
 * never rejects (a failure is recorded in the sample).
 */
export function ask(
  target: LoadTarget,
  question: string,
  scheduledAt: number,
  shapeStartedAt: number,
): Promise<AnswerSample> {
  const issuedAt = performance.now();
  const sample: AnswerSample = {
    lateMs: issuedAt - scheduledAt,
    issuedAtMs: issuedAt - shapeStartedAt,
    status: undefined,
    firstByteMs: undefined,
    firstTokenMs: undefined,
    endMs: undefined,
    tokens: 0,
    failure: undefined,
    server: undefined,
  };
  const since = () => performance.now() - issuedAt;
  const payload = JSON.stringify({ question });

  return new Promise<AnswerSample>((resolve) => {
    let settled = false;
    let done = false;
    let jsonBody = '';
    const settle = (failure?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      sample.endMs ??= since();
      if (failure !== undefined) sample.failure = failure;
      else if (target.mode === 'json') sample.failure = checkJsonBody(jsonBody, sample);
      else if (!done) sample.failure = 'ended without done';
      else if (target.expectedTokens !== undefined && sample.tokens !== target.expectedTokens) {
        sample.failure = `${sample.tokens} of ${target.expectedTokens} tokens`;
      }
      resolve(sample);
    };
    const parser = createParser({
      onEvent(event) {
        if (event.event === 'token') {
          sample.firstTokenMs ??= since();
          sample.tokens += 1;
        } else if (event.event === 'done') {
          done = true;
          sample.server = (JSON.parse(event.data) as { timings?: ServerTimings }).timings;
        } else if (event.event === 'error') {
          settle(`error event ${event.data}`);
        }
      },
    });

    const request = httpRequest(
      target.url,
      {
        method: 'POST',
        agent: target.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          accept: target.mode === 'json' ? 'application/json' : 'text/event-stream',
        },
      },
      (response) => {
        sample.status = response.statusCode;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          sample.firstByteMs ??= since();
          if (target.mode === 'json' || response.statusCode !== 200) jsonBody += chunk;
          else parser.feed(chunk);
        });
        response.on('end', () => {
          sample.endMs = since();
          settle(
            response.statusCode === 200
              ? undefined
              : `HTTP ${response.statusCode} ${jsonBody.slice(0, 200)}`,
          );
        });
        response.on('error', (error) => settle(`response ${error.message}`));
        response.on('close', () => settle('connection closed before the end'));
      },
    );
    const deadline = setTimeout(() => {
      settle(`no end after ${target.deadlineMs} ms`);
      request.destroy();
    }, target.deadlineMs);
    request.on('error', (error) => settle(`request ${error.message}`));
    request.end(payload);
  });
}

function checkJsonBody(body: string, sample: AnswerSample): string | undefined {
  try {
    const parsed = JSON.parse(body) as { answer?: unknown; timings?: ServerTimings };
    if (typeof parsed.answer !== 'string' || parsed.answer === '') return 'JSON without answer';
    sample.server = parsed.timings;
    return undefined;
  } catch {
    return `unparsable JSON body: ${body.slice(0, 200)}`;
  }
}

/** What the client measured about itself, so a slow client is not blamed on the server. */
export interface ClientHealth {
  /** Event-loop delay of the load client, milliseconds. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface ShapeResult {
  samples: AnswerSample[];
  wallMs: number;
  client: ClientHealth;
  /** Open-loop only: streams open at once, sampled every 50 ms after the ramp-up. */
  inFlight?: { mean: number; min: number; max: number };
  /** Open-loop only: arrivals per second asked for and achieved. */
  arrivalRate?: { target: number; achieved: number };
  /** Open-loop only: answers issued during the ramp-up, left out of `samples`… */
  rampUpSamples?: number;
  /** …except that their failures still count as lost streams. */
  rampUpFailures?: string[];
}

/**
 * `rounds` bursts of `size` questions opened at once; each burst waits for the previous one to
 * end, so every burst meets an idle server.
 */
export async function runBursts(
  target: LoadTarget,
  size: number,
  rounds: number,
  questions: readonly string[],
): Promise<ShapeResult> {
  const samples: AnswerSample[] = [];
  const started = performance.now();
  const client = await measureClient(async () => {
    for (let round = 0; round < rounds; round += 1) {
      const burstAt = performance.now();
      const answers = Array.from({ length: size }, (_, index) =>
        ask(target, questionAt(questions, round * size + index), burstAt, burstAt),
      );
      samples.push(...(await Promise.all(answers)));
      // A pause so the server's last writes and timers of this burst are not in the next one.
      await delay(300);
    }
  });
  return { samples, wallMs: performance.now() - started, client };
}

/**
 * Open-loop arrivals: `ratePerSecond` evenly spaced requests for `seconds`, each started on
 * schedule whether or not earlier ones have finished (a closed loop would slow down with the
 * server and hide its queueing). Samples issued during the first `rampUpMs` (before the
 * in-flight count reaches its plateau) are left out of the statistics, not out of the losses.
 */
export async function runOpenLoop(
  target: LoadTarget,
  options: {
    ratePerSecond: number;
    seconds: number;
    rampUpMs: number;
    /** Called when the ramp-up ends and when the schedule ends: the plateau in between. */
    onPlateau?: (edge: 'start' | 'end') => void;
  },
  questions: readonly string[],
): Promise<ShapeResult> {
  const { ratePerSecond, seconds, rampUpMs, onPlateau } = options;
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const answers: Promise<AnswerSample>[] = [];
  const inFlightSamples: number[] = [];
  let inFlight = 0;
  const started = performance.now();
  const client = await measureClient(async () => {
    if (onPlateau !== undefined && rampUpMs < seconds * 1000) {
      setTimeout(() => onPlateau('start'), rampUpMs);
      setTimeout(() => onPlateau('end'), seconds * 1000);
    }
    const sampler = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= rampUpMs && elapsed <= seconds * 1000) inFlightSamples.push(inFlight);
    }, 50);
    await new Promise<void>((resolve) => {
      let issued = 0;
      const tick = () => {
        const now = performance.now();
        while (issued < total && started + issued * intervalMs <= now) {
          const scheduledAt = started + issued * intervalMs;
          inFlight += 1;
          answers.push(
            ask(target, questionAt(questions, issued), scheduledAt, started).finally(() => {
              inFlight -= 1;
            }),
          );
          issued += 1;
        }
        if (issued >= total) return resolve();
        setTimeout(tick, Math.max(0, started + issued * intervalMs - performance.now()));
      };
      tick();
    });
    await Promise.all(answers);
    clearInterval(sampler);
  });
  const all = await Promise.all(answers);
  const lastIssue = Math.max(...all.map((sample) => sample.issuedAtMs));
  const counted = all.filter((sample) => sample.issuedAtMs >= rampUpMs);
  const rampUp = all.filter((sample) => sample.issuedAtMs < rampUpMs);
  return {
    samples: counted,
    wallMs: performance.now() - started,
    client,
    inFlight: {
      mean: inFlightSamples.reduce((sum, value) => sum + value, 0) / inFlightSamples.length,
      min: Math.min(...inFlightSamples),
      max: Math.max(...inFlightSamples),
    },
    arrivalRate: { target: ratePerSecond, achieved: (all.length - 1) / (lastIssue / 1000) },
    rampUpSamples: rampUp.length,
    rampUpFailures: rampUp.flatMap((sample) => (sample.failure ? [sample.failure] : [])),
  };
}

async function measureClient(work: () => Promise<void>): Promise<ClientHealth> {
  const resolutionMs = 1;
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  try {
    await work();
  } finally {
    histogram.disable();
  }
  // The histogram records whole sampling intervals (an idle loop reads ~1 ms); the delay is
  // what exceeds the interval.
  const beyondInterval = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - resolutionMs);
  return {
    loopDelayP99Ms: beyondInterval(histogram.percentile(99)),
    loopDelayMaxMs: beyondInterval(histogram.max),
  };
}

function questionAt(questions: readonly string[], index: number): string {
  return questions[index % questions.length] as string;
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

import type { MiddlewareHandler } from 'hono';
import type { AnswerTimings } from '../answer/answer-events.ts';

export type TimingVariables = {
  /** When the request reached the app (performance.now()): every timing counts from here. */
  startedAt: number;
};

/**
 * Records when the request arrived and, unless the handler reported its stages itself, adds
 * `Server-Timing: total;dur=…` (time until the response headers) to every response.
 */
export function serverTiming(): MiddlewareHandler<{ Variables: TimingVariables }> {
  return async (c, next) => {
    const startedAt = performance.now();
    c.set('startedAt', startedAt);
    await next();
    if (!c.res.headers.has('Server-Timing')) {
      c.res.headers.set(
        'Server-Timing',
        formatServerTiming({ total: performance.now() - startedAt }),
      );
    }
  };
}

/**
 * @example
 * formatServerTiming({ embed: 1.2, retrieve: 3.456 }); // 'embed;dur=1.2, retrieve;dur=3.46'
 */
export function formatServerTiming(metrics: Record<string, number | null>): string {
  return Object.entries(metrics)
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .map(([name, milliseconds]) => `${name};dur=${Math.round(milliseconds * 100) / 100}`)
    .join(', ');
}

/** The answer's stages as Server-Timing metrics, for responses sent after the answer ends. */
export function answerServerTiming(timings: AnswerTimings): string {
  return formatServerTiming({
    embed: timings.embedMs,
    retrieve: timings.retrieveMs,
    'first-token': timings.firstTokenMs,
    total: timings.totalMs,
  });
}

import { describe, expect, it } from 'vitest';
import { StreamStalledError, toSseStream } from '../src/http/sse-stream.ts';

describe('toSseStream', () => {
  it('stops the work behind a stream whose encoder throws, and keeps the process alive', async () => {
    const seen = { ended: 0, cancelled: [] as unknown[], generatorClosed: false };
    async function* events() {
      try {
        yield 'first';
        yield 'second';
        yield 'never reached';
      } finally {
        seen.generatorClosed = true;
      }
    }
    const stream = toSseStream(events(), {
      encode: (event) => {
        if (event === 'second') throw new Error('encoder failed');
        return `data: ${event}\n\n`;
      },
      // Fast enough that a leaked keep-alive timer would fire during the wait below.
      keepAliveMs: 100,
      onCancel: (reason) => seen.cancelled.push(reason),
      onEnd: () => {
        seen.ended += 1;
      },
    });
    const reader = stream.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    await expect(reader.read()).rejects.toThrow('encoder failed');
    // Several keep-alive periods: a timer left running would enqueue into the errored stream
    // and throw an uncaught exception, which fails this test run.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toEqual({
      ended: 1,
      cancelled: [expect.objectContaining({ message: 'encoder failed' })],
      generatorClosed: true,
    });
  });

  it('gives up on a consumer that stopped reading, and stops the work behind the stream', async () => {
    const seen = { ended: 0, cancelled: [] as unknown[], generatorClosed: false };
    async function* events() {
      try {
        for (let index = 0; ; index += 1) yield `event ${index}`;
      } finally {
        seen.generatorClosed = true;
      }
    }
    const stream = toSseStream(events(), {
      encode: (event) => `data: ${event}\n\n`,
      keepAliveMs: 60_000,
      stallTimeoutMs: 150,
      onCancel: (reason) => seen.cancelled.push(reason),
      onEnd: () => {
        seen.ended += 1;
      },
    });
    const reader = stream.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: event 0\n\n');
    // The reader takes nothing more, but keeps the stream: the stall timeout ends it.
    while (seen.ended === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.cancelled).toEqual([expect.any(StreamStalledError)]);
    expect(seen.generatorClosed).toBe(true);
    // The reader then gets the stall as the stream's error.
    await expect(reader.read()).rejects.toThrow('took nothing from the stream for 150 ms');
  });

  it('does not count a slow source as a stalled reader', async () => {
    async function* events() {
      yield 'first';
      // The source is silent for longer than the stall timeout while the reader waits.
      await new Promise((resolve) => setTimeout(resolve, 400));
      yield 'second';
    }
    const stream = toSseStream(events(), {
      encode: (event) => `data: ${event}\n\n`,
      keepAliveMs: 60_000,
      stallTimeoutMs: 150,
    });
    expect(await new Response(stream).text()).toBe('data: first\n\ndata: second\n\n');
  });

  it('skips events encoded as nothing without stalling the stream', async () => {
    async function* events() {
      yield* ['a', 'skip', 'skip', 'b'];
    }
    const stream = toSseStream(events(), {
      encode: (event) => (event === 'skip' ? '' : `data: ${event}\n\n`),
      keepAliveMs: 60_000,
    });
    expect(await new Response(stream).text()).toBe('data: a\n\ndata: b\n\n');
  });
});

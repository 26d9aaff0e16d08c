import { describe, expect, it } from 'vitest';
import { toSseStream } from '../src/http/sse-stream.ts';

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

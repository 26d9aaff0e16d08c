import { parseArgs } from 'node:util';
import { UsageError } from '../lib/run-cli.ts';

/** How the benchmark was run, for its report: ` -- --runs 5`, or '' without arguments. */
export function commandArguments(): string {
  const given = process.argv.slice(2);
  return given.length === 0 ? '' : ` -- ${given.join(' ')}`;
}

/**
 * A whole-number option, or a usage error that names it.
 *
 * @example
 * wholeNumber('runs', values.runs, 1); // 50 for --runs 50; throws for --runs 0 or --runs x
 */
export function wholeNumber(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, not "${text}"`);
  }
  return value;
}

/** The options of the benchmarks that time one answer at a time against the stand-in. */
export const sequentialAskOptionsUsage = `  --ttft-ms N           stand-in time to first token (default 50)
  --token-delay-ms N    stand-in delay between tokens (default 2)
  --tokens N            stand-in tokens per reply (default 100)
  --corpus DIR          documents to ingest (default samples/postgres-docs)
  --write               put the results in docs/benchmarks.md (replacing an earlier run)`;

/**
 * `--runs`, the stand-in's pacing, `--corpus` and `--write`, checked.
 *
 * @example
 * const { runs, timing, corpus, write } = parseSequentialAskArguments();
 */
export function parseSequentialAskArguments() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '50' },
      'ttft-ms': { type: 'string', default: '50' },
      'token-delay-ms': { type: 'string', default: '2' },
      tokens: { type: 'string', default: '100' },
      corpus: { type: 'string', default: 'samples/postgres-docs' },
      write: { type: 'boolean', default: false },
    },
  });
  return {
    runs: wholeNumber('runs', values.runs, 1),
    timing: {
      timeToFirstTokenMs: wholeNumber('ttft-ms', values['ttft-ms'], 0),
      interTokenDelayMs: wholeNumber('token-delay-ms', values['token-delay-ms'], 0),
      tokenCount: wholeNumber('tokens', values.tokens, 1),
    },
    corpus: values.corpus,
    write: values.write,
  };
}

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

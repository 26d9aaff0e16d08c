import type { MetadataFilter } from '../../src/core/types.ts';
import { UsageError } from './run-cli.ts';

/**
 * `--filter key=value` options (repeatable) as a metadata filter; values stay strings.
 *
 * @example
 * parseFilterOptions(['format=markdown']); // { format: 'markdown' }
 */
export function parseFilterOptions(pairs: readonly string[]): MetadataFilter {
  const filter: MetadataFilter = {};
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator < 1) throw new UsageError(`--filter takes key=value, not "${pair}"`);
    filter[pair.slice(0, separator)] = pair.slice(separator + 1);
  }
  return filter;
}

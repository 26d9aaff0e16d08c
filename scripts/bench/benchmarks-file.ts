import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryRoot } from './stream-children.ts';

/**
 * Replaces a benchmark's section of docs/benchmarks.md (from `heading` to the next `## `), or
 * appends it. A subsection headed `### Analysis by hand` (profiles, experiments) is kept at the
 * end of the new section: the tables are regenerated, what a person found out is not.
 *
 * @example
 * await writeBenchmarkSection('## Answer formats (`npm run bench:formats`)', markdown);
 */
export async function writeBenchmarkSection(heading: string, report: string): Promise<void> {
  const path = join(repositoryRoot, 'docs/benchmarks.md');
  const text = await readFile(path, 'utf8');
  const start = text.indexOf(`${heading}\n`);
  let updated: string;
  if (start === -1) {
    updated = `${text.trimEnd()}\n\n${report.trimEnd()}\n`;
  } else {
    const next = text.indexOf('\n## ', start + heading.length);
    const previous = text.slice(start, next === -1 ? undefined : next + 1);
    const handWritten = previous.indexOf('\n### Analysis by hand');
    const kept = handWritten === -1 ? '' : `\n${previous.slice(handWritten + 1).trimEnd()}\n`;
    const rest = next === -1 ? '' : `\n${text.slice(next + 1)}`;
    updated = `${text.slice(0, start)}${report.trimEnd()}\n${kept}${rest}`;
  }
  await writeFile(path, updated);
}

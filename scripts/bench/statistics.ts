/** Latency percentiles and Markdown formatting shared by the benchmarks. */
import { readFile } from 'node:fs/promises';

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted values (`fraction` from 0 to 1). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * @example
 * summarize([3, 1, 2]); // { count: 3, p50: 2, p99: 3, max: 3, mean: 2 }
 */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((left, right) => left - right);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
  };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((left, right) => left - right),
    0.5,
  );
}

/** Milliseconds with precision that suits their size: 0.42, 4.2, 42, 420. */
export function formatMilliseconds(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return '–';
  if (milliseconds < 10) return milliseconds.toFixed(2);
  if (milliseconds < 100) return milliseconds.toFixed(1);
  return Math.round(milliseconds).toLocaleString('en-US');
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}

/** A rate or count, rounded, with thousands separators. */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.round(value).toLocaleString('en-US');
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : '–';
}

/** A GitHub-flavoured Markdown table; numbers are right-aligned. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  // A column is numeric when every non-empty cell is a number (blank cells are allowed).
  const numeric = headers.map((_, column) => {
    const cells = rows.map((row) => row[column] ?? '').filter((cell) => cell !== '');
    return cells.length > 0 && cells.every((cell) => /^[-+]?[\d,.]+\s*(×|%|ms|s)?$|^–$/.test(cell));
  });
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `| ${headers.map(escapeCell).join(' | ')} |`,
    `|${numeric.map((right) => (right ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Whole-machine CPU busy fraction between two `/proc/stat` readings (Linux; NaN elsewhere). */
export async function readCpuTimes(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    // idle + iowait
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

export function cpuBusyFraction(
  before: { busy: number; total: number } | undefined,
  after: { busy: number; total: number } | undefined,
): number {
  if (before === undefined || after === undefined || after.total === before.total)
    return Number.NaN;
  return (after.busy - before.busy) / (after.total - before.total);
}

/**
 * A duration for people: milliseconds below a second (one decimal below 10 ms), else seconds.
 *
 * @example
 * formatDuration(3.14); // '3.1 ms'
 * formatDuration(412.6); // '413 ms'
 * formatDuration(2310); // '2.31 s'
 */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 10) return `${(Math.round(milliseconds * 10) / 10).toFixed(1)} ms`;
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

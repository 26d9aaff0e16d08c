/**
 * A strong ETag: the SHA-256 of everything that determines the response body.
 *
 * @example
 * await strongEtag(['42', 'q=vacuum', 'k=5']); // '"3f1c…"'
 */
export async function strongEtag(parts: readonly string[]): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(parts.join('\0')));
  const hex = Array.from(new Uint8Array(digest).subarray(0, 16), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
  return `"${hex}"`;
}

/**
 * Whether an If-None-Match header matches: `*`, or any listed tag by weak comparison
 * (RFC 9110 §13.1.2: W/ prefixes are ignored for If-None-Match).
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

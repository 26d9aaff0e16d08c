/**
 * A connection string Hyperdrive's local binding accepts: it insists on a password, which a
 * PostgreSQL that trusts loopback connections (tests, a local server) simply ignores.
 *
 * @example
 * withPassword('postgres://postgres@127.0.0.1:5432/db'); // 'postgres://postgres:unused@127.0.0.1:5432/db'
 */
export function withPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password === '') parsed.password = 'unused';
  return parsed.toString();
}

// The page to come back to after sign-in. Only a path on this site is accepted: anything that
// could leave the origin (absolute URLs, protocol-relative `//host`, backslash tricks, control
// characters, encoded slashes at the start) falls back to `/`.
const MAX_LENGTH = 2048;
const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';

export function safeReturnPath(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  if (/^\/(%2f|%5c)/i.test(value)) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (parsed.origin !== PLACEHOLDER_ORIGIN) return fallback;
  // Never come back into the sign-in machinery itself (loops, replays of the redirect URI). The
  // router matches paths case-insensitively and decoded, so compare them that way (issue 13 W6).
  let decoded: string;
  try {
    decoded = decodeURIComponent(parsed.pathname).toLowerCase();
  } catch {
    return fallback;
  }
  if (decoded === '/auth' || decoded.startsWith('/auth/')) return fallback;
  // Dot segments normalise away (`/.//host`, `/a/..//host`): check the path actually returned.
  if (parsed.pathname.startsWith('//')) return fallback;
  return `${parsed.pathname}${parsed.search}`;
}

// One logger (pino, JSON). Nothing secret is ever passed to it on purpose: request logs carry the
// path without its query string (the redirect URI's query holds the authorization code and
// state), never headers. Redaction is the second line of defence for anything logged by mistake.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.cookie',
  '*.authorization',
  '*.code',
  '*.state',
  '*.nonce',
  '*.codeVerifier',
  '*.accessToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.idToken',
  '*.token',
  '*.client_secret',
  '*.clientSecret',
  // ioredis puts the failed command's arguments on its errors: session data and token caches.
  'err.command.args',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'client' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

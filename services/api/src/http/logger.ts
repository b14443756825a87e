// The one logger: pino JSON lines. Credentials never reach it: request logs carry the path
// without the query string and no headers; redaction guards anything logged by mistake.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config.ts';

// Explicit paths only: wildcard redaction costs on every log line.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'cookie',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'api' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: the same log shape as the web app's.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

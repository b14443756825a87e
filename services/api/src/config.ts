// The one reader of the environment. Every other module receives a validated ApiConfig.
import { z } from 'zod';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type TokenVersion = '1.0' | '2.0';

export interface ApiConfig {
  port: number;
  host: string | undefined;
  tenantId: string | undefined;
  apiClientId: string;
  authority: string;
  oidcIssuer: string | undefined;
  allowedTenants: string[];
  acceptedTokenVersions: TokenVersion[];
  clockToleranceSeconds: number;
  tokenCacheMaxEntries: number;
  jwksRefreshSeconds: number;
  jwksCooldownSeconds: number;
  jwksStaleMaxSeconds: number;
  jwksFetchTimeoutMs: number;
  maxBodyBytes: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  logLevel: LogLevel;
  trustProxy: boolean;
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);

const httpsUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && new URL(v).protocol === 'https:', 'must be an https URL')
  .transform((v) => v.replace(/\/+$/, ''));

const list = <T extends z.ZodType<string, string>>(item: T, what: string) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item, `must be a comma-separated list of ${what}`));

const guid = z.string().regex(GUID, 'must be a GUID');

const schema = z
  .object({
    PORT: int(0, 65535, 8000),
    HOST: z.string().trim().min(1).optional(),
    TENANT_ID: guid.optional(),
    API_CLIENT_ID: z.string().trim().min(1, 'is required'),
    AUTHORITY: httpsUrl.default('https://login.microsoftonline.com'),
    OIDC_ISSUER: z
      .string()
      .trim()
      .refine((v) => URL.canParse(v) && new URL(v).protocol === 'https:', 'must be an https URL')
      .optional(),
    ALLOWED_TENANTS: list(z.string().regex(GUID, 'must be GUIDs'), 'tenant GUIDs').default([]),
    ACCEPTED_TOKEN_VERSIONS: list(
      z.enum(['1.0', '2.0'], 'must be 1.0 and/or 2.0'),
      'versions (1.0, 2.0)',
    )
      .pipe(z.array(z.enum(['1.0', '2.0'])).min(1, 'must name at least one version'))
      .default(['2.0']),
    CLOCK_TOLERANCE_SECONDS: int(0, 300, 30),
    TOKEN_CACHE_MAX_ENTRIES: int(0, 1_000_000, 10_000),
    JWKS_REFRESH_SECONDS: int(1, 7 * 86400, 600),
    JWKS_COOLDOWN_SECONDS: int(0, 3600, 30),
    JWKS_STALE_MAX_SECONDS: int(0, 7 * 86400, 21_600),
    JWKS_FETCH_TIMEOUT_MS: int(100, 60_000, 5000),
    MAX_BODY_BYTES: int(64, 10 * 1024 * 1024, 16_384),
    DATA_DIR: z.string().trim().min(1).default('.data'),
    DATABASE_URL: z
      .string()
      .trim()
      .refine(
        (v) => URL.canParse(v) && ['postgres:', 'postgresql:'].includes(new URL(v).protocol),
        'must be a postgres:// URL',
      )
      .optional(),
    DATABASE_POOL_MAX: int(1, 1000, 10),
    LOG_LEVEL: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).default('info'),
    TRUST_PROXY: z
      .enum(['true', 'false', '1', '0'], 'must be true or false')
      .transform((v) => v === 'true' || v === '1')
      .default(false),
    SHUTDOWN_TIMEOUT_MS: int(0, 9000, 8000),
  })
  .superRefine((env, ctx) => {
    if (!env.OIDC_ISSUER) {
      if (!env.TENANT_ID)
        ctx.addIssue({
          code: 'custom',
          path: ['TENANT_ID'],
          message: 'is required (a tenant GUID) unless OIDC_ISSUER is set',
        });
      if (!GUID.test(env.API_CLIENT_ID))
        ctx.addIssue({
          code: 'custom',
          path: ['API_CLIENT_ID'],
          message: 'must be a GUID (the API application id)',
        });
    }
  });

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  // An empty variable counts as unset, as in most deployment tools.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'environment');
      const message =
        i.code === 'invalid_type' && present[name] === undefined ? 'is required' : i.message;
      return `${name} ${message}`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    tenantId: e.TENANT_ID?.toLowerCase(),
    apiClientId: e.API_CLIENT_ID,
    authority: e.AUTHORITY,
    oidcIssuer: e.OIDC_ISSUER,
    allowedTenants: e.ALLOWED_TENANTS.map((t) => t.toLowerCase()),
    acceptedTokenVersions: e.ACCEPTED_TOKEN_VERSIONS,
    clockToleranceSeconds: e.CLOCK_TOLERANCE_SECONDS,
    tokenCacheMaxEntries: e.TOKEN_CACHE_MAX_ENTRIES,
    jwksRefreshSeconds: e.JWKS_REFRESH_SECONDS,
    jwksCooldownSeconds: e.JWKS_COOLDOWN_SECONDS,
    jwksStaleMaxSeconds: e.JWKS_STALE_MAX_SECONDS,
    jwksFetchTimeoutMs: e.JWKS_FETCH_TIMEOUT_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

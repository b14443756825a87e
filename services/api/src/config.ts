// The one reader of the environment. Every other module receives a validated ApiConfig.
import {
  ConfigError,
  envBool,
  envEnum,
  envGuid,
  envInt,
  envList,
  envLogLevel,
  envPort,
  envString,
  envUrl,
  readEnv,
  type LogLevel,
} from '@koa-entra/service-kit';

export { ConfigError };
export type { LogLevel };
export type TokenVersion = '1.0' | '2.0';

export interface ApiConfig {
  port: number;
  host: string | undefined;
  /** /metrics is served here only, never on the app port (an ingress routes that one). */
  metricsPort: number;
  /** Tenant GUID (lower case), or `organizations` / `common` for a multi-tenant API. */
  tenantId: string | undefined;
  apiClientId: string;
  authority: string;
  oidcIssuer: string | undefined;
  /** More accepted tenants (GUIDs), or `'*'`: any tenant. */
  allowedTenants: string[] | '*';
  acceptedTokenVersions: TokenVersion[];
  /** App role a signed-in user must be assigned to write (delegated tokens only). */
  writeAppRole: string | undefined;
  /** Conditional Access authentication context (c1-c99) a user's write token must carry in `acrs`. */
  writeAuthContext: string | undefined;
  /** Longest accepted access token, in bytes (characters). */
  maxTokenBytes: number;
  clockToleranceSeconds: number;
  tokenCacheMaxEntries: number;
  jwksRefreshSeconds: number;
  jwksCooldownSeconds: number;
  jwksFailureBackoffSeconds: number;
  jwksStaleMaxSeconds: number;
  jwksFetchTimeoutMs: number;
  maxBodyBytes: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  logLevel: LogLevel;
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  /** Per-owner item quota (count and stored bytes); writes past it answer 409 quota_exceeded. */
  itemsQuota: { items: number; bytes: number };
  /** Per-owner write rate: `limit` writes per `windowSeconds` (0 = off); 429 + Retry-After past it. */
  writeRate: { limit: number; windowSeconds: number };
  /** The authority as browsers reach it, for /docs sign-in (default AUTHORITY). */
  docsAuthority: string;
  /** The public (single-page) client /docs signs users in with; unset: typed in the dialog. */
  docsClientId: string | undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GUID_SOURCE = GUID.source.slice(1, -1);
const TENANT = new RegExp(`^(${GUID_SOURCE}|organizations|common)$`, 'i');
const https = () => envUrl({ protocols: ['https:'] });
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const variables = {
  PORT: envPort().default(8000),
  HOST: envString().optional(),
  // 9464: the port OpenTelemetry's Prometheus exporter uses; the web app takes 9465.
  METRICS_PORT: envPort().default(9464),
  TENANT_ID: envString({
    pattern: TENANT,
    message: 'must be a tenant GUID, organizations or common',
  })
    .transform((v) => v.toLowerCase())
    .optional(),
  API_CLIENT_ID: envString().describe('the API application (client) id'),
  AUTHORITY: envUrl({ protocols: ['https:'], trimTrailingSlash: true }).default(
    'https://login.microsoftonline.com',
  ),
  OIDC_ISSUER: https().optional(),
  // Tenant GUIDs (comma-separated), or * for any tenant.
  ALLOWED_TENANTS: envString()
    .transform((v, ctx): string[] | '*' => {
      if (v === '*') return '*';
      const tenants = v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean);
      if (tenants.length === 0 || !tenants.every((t) => GUID.test(t)))
        ctx.addIssue({ code: 'custom', message: 'must be tenant GUIDs separated by commas, or *' });
      return tenants;
    })
    .default([]),
  ACCEPTED_TOKEN_VERSIONS: envList({ item: envEnum(['1.0', '2.0']) }).default(['2.0']),
  WRITE_APP_ROLE: envString({
    pattern: /^[^\s]+$/,
    message: 'must be one app role name (no spaces)',
  }).optional(),
  WRITE_AUTH_CONTEXT: envString({
    pattern: /^c([1-9]|[1-9][0-9])$/,
    message: 'must be an authentication context id c1 to c99',
  }).optional(),
  // Entra's largest tokens (200 groups + roles) are about 12.2 KB; the HTTP header limit follows.
  MAX_TOKEN_BYTES: envInt({ min: 1024, max: 65_536 }).default(16_384),
  CLOCK_TOLERANCE_SECONDS: envInt({ min: 0, max: 300 }).default(30),
  TOKEN_CACHE_MAX_ENTRIES: envInt({ min: 0, max: 1_000_000 }).default(10_000),
  JWKS_REFRESH_SECONDS: envInt({ min: 1, max: 7 * 86400 }).default(600),
  JWKS_COOLDOWN_SECONDS: envInt({ min: 0, max: 3600 }).default(30),
  JWKS_FAILURE_BACKOFF_SECONDS: envInt({ min: 0, max: 60 }).default(1),
  JWKS_STALE_MAX_SECONDS: envInt({ min: 0, max: 7 * 86400 }).default(21_600),
  JWKS_FETCH_TIMEOUT_MS: envInt({ min: 100, max: 60_000 }).default(5000),
  MAX_BODY_BYTES: envInt({ min: 64, max: 10 * 1024 * 1024 }).default(16_384),
  DATA_DIR: envString().default('.data'),
  DATABASE_URL: envUrl({ protocols: ['postgres:', 'postgresql:'] }).optional(),
  DATABASE_POOL_MAX: envInt({ min: 1, max: 1000 }).default(10),
  LOG_LEVEL: envLogLevel().default('info'),
  TRUST_PROXY: envBool().default(false),
  // Below the 9.5 s hard exit of main, itself below the orchestrator's 10 s grace period.
  SHUTDOWN_TIMEOUT_MS: envInt({ min: 0, max: 9000 }).default(8000),
  ITEMS_QUOTA_COUNT: envInt({ min: 1, max: 100_000_000 }).default(1000),
  ITEMS_QUOTA_BYTES: envInt({ min: 1024, max: 1024 ** 4 }).default(5 * 1024 * 1024),
  WRITE_RATE_LIMIT: envInt({ min: 0, max: 1_000_000 }).default(60),
  WRITE_RATE_WINDOW_SECONDS: envInt({ min: 1, max: 86_400 }).default(60),
  // http only on loopback: the fake issuer's browser-facing pages on http://localhost:5050.
  DOCS_AUTHORITY: envUrl({ protocols: ['https:', 'http:'], trimTrailingSlash: true })
    .refine(
      (v) => v.startsWith('https:') || LOOPBACK.has(new URL(v).hostname),
      'must be https (http only on localhost)',
    )
    .optional(),
  DOCS_CLIENT_ID: envGuid().optional(),
};

/** Reads and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const e = readEnv(variables, env, {
    check: (v, report) => {
      if (v.METRICS_PORT !== undefined && v.METRICS_PORT !== 0 && v.METRICS_PORT === v.PORT)
        report('METRICS_PORT', 'must differ from PORT (metrics are kept off the app port)');
      if (v.OIDC_ISSUER !== undefined) return;
      if (v.TENANT_ID === undefined)
        report('TENANT_ID', 'is required (a tenant GUID) unless OIDC_ISSUER is set');
      const multiTenant = v.TENANT_ID === 'organizations' || v.TENANT_ID === 'common';
      if (multiTenant && v.ALLOWED_TENANTS !== '*' && (v.ALLOWED_TENANTS ?? []).length === 0)
        report(
          'ALLOWED_TENANTS',
          `is required with TENANT_ID=${v.TENANT_ID}: the tenant GUIDs whose tokens are accepted, or *`,
        );
      if (v.API_CLIENT_ID !== undefined && !GUID.test(v.API_CLIENT_ID))
        report(
          'API_CLIENT_ID',
          'must be a GUID (the API application id) unless OIDC_ISSUER is set',
        );
    },
  });
  return {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    tenantId: e.TENANT_ID,
    apiClientId: e.API_CLIENT_ID,
    authority: e.AUTHORITY,
    oidcIssuer: e.OIDC_ISSUER,
    allowedTenants: e.ALLOWED_TENANTS,
    acceptedTokenVersions: e.ACCEPTED_TOKEN_VERSIONS,
    writeAppRole: e.WRITE_APP_ROLE,
    writeAuthContext: e.WRITE_AUTH_CONTEXT,
    maxTokenBytes: e.MAX_TOKEN_BYTES,
    clockToleranceSeconds: e.CLOCK_TOLERANCE_SECONDS,
    tokenCacheMaxEntries: e.TOKEN_CACHE_MAX_ENTRIES,
    jwksRefreshSeconds: e.JWKS_REFRESH_SECONDS,
    jwksCooldownSeconds: e.JWKS_COOLDOWN_SECONDS,
    jwksFailureBackoffSeconds: e.JWKS_FAILURE_BACKOFF_SECONDS,
    jwksStaleMaxSeconds: e.JWKS_STALE_MAX_SECONDS,
    jwksFetchTimeoutMs: e.JWKS_FETCH_TIMEOUT_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    itemsQuota: { items: e.ITEMS_QUOTA_COUNT, bytes: e.ITEMS_QUOTA_BYTES },
    writeRate: { limit: e.WRITE_RATE_LIMIT, windowSeconds: e.WRITE_RATE_WINDOW_SECONDS },
    docsAuthority: e.DOCS_AUTHORITY ?? e.AUTHORITY,
    docsClientId: e.DOCS_CLIENT_ID,
  };
}

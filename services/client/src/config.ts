// The one reader of the environment. Everything the web app needs is validated here once, at
// start; a bad value stops the process with a message that names the variable.
import {
  ConfigError,
  envBool,
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

const httpUrl = () => envUrl({ protocols: ['http:', 'https:'] });
const positiveInt = (max: number) => envInt({ min: 1, max });
const scopes = () => envList({ separator: 'comma-or-space' });
// A delegated scope of one API, named in full (`api://<API client id>/data.read`): a bare name
// such as `data.read` would mean Microsoft Graph.
const apiScopes = () =>
  envList({
    separator: 'comma-or-space',
    item: envString().refine(
      (s) => /^[^/\s]+:\/\/.+\/[^/]+$|^[0-9a-f-]{36}\/[^/]+$/i.test(s),
      'every scope must be a full scope URI such as api://<API client id>/data.read',
    ),
  });

const variables = {
  PORT: envPort().default(5001),
  HOST: envString().optional(),
  // /metrics only here, never on the app port that an ingress routes (9464 is the API's).
  METRICS_PORT: envPort().default(9465),
  TENANT_ID: envString({
    pattern: /^[A-Za-z0-9.-]+$/,
    message: 'must be a tenant GUID or domain name',
  }).describe('the directory (tenant) id of the app registration'),
  CLIENT_ID: envGuid().describe("the web app's application (client) id"),
  CLIENT_SECRET: envString().describe("the web app's client secret"),
  // MSAL only talks to an issuer over TLS.
  AUTHORITY: envUrl({ protocols: ['https:'], trimTrailingSlash: true }).default(
    'https://login.microsoftonline.com',
  ),
  REDIRECT_URI: httpUrl().default('http://localhost:5001/auth/redirect'),
  POST_LOGOUT_REDIRECT_URI: httpUrl().optional(),
  API_BASE_URL: envUrl({ protocols: ['http:', 'https:'], trimTrailingSlash: true }).default(
    'http://localhost:8000',
  ),
  // What reading asks for (data.read) and what writing asks for (data.write), separately.
  API_READ_SCOPES: apiScopes()
    .optional()
    .describe('the scope a page that reads asks for, e.g. api://<API client id>/data.read'),
  API_WRITE_SCOPES: apiScopes()
    .optional()
    .describe('the scope a form that writes asks for, e.g. api://<API client id>/data.write'),
  // The API's scopes in one list (the tutorial's variable): `*.read` ones are asked for reading,
  // `*.write` ones for writing. API_READ_SCOPES/API_WRITE_SCOPES win where set.
  API_SCOPES: apiScopes().optional(),
  GRAPH_BASE_URL: envUrl({ protocols: ['http:', 'https:'], trimTrailingSlash: true }).default(
    'https://graph.microsoft.com',
  ),
  GRAPH_SCOPES: scopes().default(['User.Read']),
  SESSION_KEYS: envList({
    item: envString().refine(
      (k) => k.length >= 32,
      'every key must be at least 32 characters long',
    ),
  }).describe('comma-separated secrets of at least 32 characters; the first signs, all verify'),
  SESSION_IDLE_TIMEOUT_SECONDS: positiveInt(30 * 86400).default(3600),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: positiveInt(90 * 86400).default(8 * 3600),
  SESSION_COOKIE_NAME: envString({
    // The __Host- prefix is added by the app itself when the public origin is https.
    pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    message:
      'must be a cookie name (letters, digits, _ . -; no __Host- prefix: it is added on https)',
  }).default('webapp.sid'),
  REDIS_URL: envUrl({ protocols: ['redis:', 'rediss:'] }).optional(),
  TRUST_PROXY: envBool().default(false),
  // Sign-in starts per client address and minute (0: no limit); each start is an issuer round trip.
  SIGN_IN_LIMIT_PER_MINUTE: envInt({ min: 0, max: 100_000 }).default(60),
  // The memory store (no REDIS_URL) drops its least recently written entries above this size.
  MEMORY_STORE_MAX_MB: envInt({ min: 1, max: 65_536 }).default(64),
  UPSTREAM_TIMEOUT_MS: positiveInt(120_000).default(10_000),
  // Below the 9.5 s hard exit of main, itself below the orchestrator's 10 s grace period.
  SHUTDOWN_TIMEOUT_MS: envInt({ min: 0, max: 9000 }).default(8000),
  LOG_LEVEL: envLogLevel().default('info'),
};

export interface WebAppConfig {
  port: number;
  host: string | undefined;
  metricsPort: number;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Base URL of the issuer, without tenant (e.g. https://login.microsoftonline.com). */
  authorityBase: string;
  /** What MSAL takes: `${authorityBase}/${tenantId}`. */
  authority: string;
  /** `organizations` or `common`: users of any tenant sign in (a multi-tenant registration). */
  multiTenant: boolean;
  /** Hosts MSAL may trust without Microsoft's instance discovery; empty for Microsoft's own clouds. */
  knownAuthorities: string[];
  redirectUri: string;
  /** The origin people reach the app at (REDIRECT_URI's): decides Secure, `__Host-` and HSTS. */
  publicOrigin: string;
  /** The public origin is https: cookies are Secure and `__Host-` prefixed, HSTS is sent. */
  secureCookies: boolean;
  postLogoutRedirectUri: string;
  apiBaseUrl: string;
  /** What reading asks for (data.read), and what writing asks for (data.write). */
  apiReadScopes: string[];
  apiWriteScopes: string[];
  graphBaseUrl: string;
  graphScopes: string[];
  sessionKeys: string[];
  sessionIdleTimeoutSeconds: number;
  sessionAbsoluteTimeoutSeconds: number;
  /** The session cookie's name as sent (with `__Host-` on https). */
  sessionCookieName: string;
  redisUrl: string | undefined;
  trustProxy: boolean;
  signInLimitPerMinute: number;
  memoryStoreMaxBytes: number;
  upstreamTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

/**
 * The sign-in hosts of Microsoft's public and national clouds that MSAL Node knows itself (its
 * built-in instance metadata: `@azure/msal-common` authority/AuthorityMetadata), so that it needs
 * neither `knownAuthorities` nor a network call to login.microsoftonline.com for them. US
 * Government: login.microsoftonline.us; China (21Vianet): login.partner.microsoftonline.cn (its
 * old name login.chinacloudapi.cn is an alias). Source: learn.microsoft.com/entra/identity-platform/
 * authentication-national-cloud. Any other host (the fake issuer) is MSAL's only known authority.
 */
export const MICROSOFT_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'sts.windows.net',
  'login.partner.microsoftonline.cn',
  'login.chinacloudapi.cn',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login-us.microsoftonline.com',
  'login.sovcloud-identity.fr',
  'login.sovcloud-identity.de',
  'login.sovcloud-identity.sg',
]);

/** The resource part of a full scope URI (`api://id/data.read` → `api://id`). */
export const scopeResource = (scope: string): string => scope.slice(0, scope.lastIndexOf('/'));

/** The scopes reading and writing ask for: the explicit variables, else API_SCOPES by name. */
function splitApiScopes(
  all: string[] | undefined,
  read: string[] | undefined,
  write: string[] | undefined,
): { read: string[]; write: string[] } {
  return {
    read: read ?? (all ?? []).filter((s) => /\.read$/i.test(s)),
    write: write ?? (all ?? []).filter((s) => /\.write$/i.test(s)),
  };
}

/** Reads and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WebAppConfig {
  const e = readEnv(variables, env, {
    check: (v, report) => {
      if (v.METRICS_PORT !== undefined && v.METRICS_PORT !== 0 && v.METRICS_PORT === v.PORT)
        report('METRICS_PORT', 'must differ from PORT (metrics are kept off the app port)');
      const split = splitApiScopes(v.API_SCOPES, v.API_READ_SCOPES, v.API_WRITE_SCOPES);
      if (!split.read.length || !split.write.length) {
        const missing = !split.read.length ? 'API_READ_SCOPES' : 'API_WRITE_SCOPES';
        report(
          v.API_SCOPES ? 'API_SCOPES' : missing,
          v.API_SCOPES
            ? `must name a scope ending in .read and one ending in .write (or set ${missing}): reading asks only the read scope, writing only the write scope`
            : 'is required: the full scope URI a page that reads (API_READ_SCOPES) or a form that writes (API_WRITE_SCOPES) asks for, e.g. api://<API client id>/data.read (or API_SCOPES with both)',
        );
        return;
      }
      // One access token per resource: every API scope must be of the same API.
      const resources = new Set([...split.read, ...split.write].map(scopeResource));
      if (resources.size > 1) {
        report(
          v.API_SCOPES ? 'API_SCOPES' : 'API_WRITE_SCOPES',
          `must name scopes of one API (found ${[...resources].join(', ')})`,
        );
      }
    },
  });
  const authorityBase = e.AUTHORITY;
  const authorityHost = new URL(authorityBase).host;
  const redirect = new URL(e.REDIRECT_URI);
  const secureCookies = redirect.protocol === 'https:';
  return {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    tenantId: e.TENANT_ID,
    clientId: e.CLIENT_ID,
    clientSecret: e.CLIENT_SECRET,
    authorityBase,
    authority: `${authorityBase}/${e.TENANT_ID}`,
    multiTenant: ['organizations', 'common'].includes(e.TENANT_ID.toLowerCase()),
    knownAuthorities: MICROSOFT_HOSTS.has(authorityHost) ? [] : [authorityHost],
    redirectUri: e.REDIRECT_URI,
    publicOrigin: redirect.origin,
    secureCookies,
    postLogoutRedirectUri: e.POST_LOGOUT_REDIRECT_URI ?? `${redirect.origin}/`,
    apiBaseUrl: e.API_BASE_URL,
    ...(() => {
      const split = splitApiScopes(e.API_SCOPES, e.API_READ_SCOPES, e.API_WRITE_SCOPES);
      return { apiReadScopes: split.read, apiWriteScopes: split.write };
    })(),
    graphBaseUrl: e.GRAPH_BASE_URL,
    graphScopes: e.GRAPH_SCOPES,
    sessionKeys: e.SESSION_KEYS,
    sessionIdleTimeoutSeconds: e.SESSION_IDLE_TIMEOUT_SECONDS,
    sessionAbsoluteTimeoutSeconds: e.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
    // __Host-: only a Secure cookie of this very origin, Path=/, no Domain, can have this name, so
    // a sibling subdomain or another port cannot plant a session cookie (issue 13 W3). Browsers
    // refuse it on http, so http://localhost keeps the plain name.
    sessionCookieName: `${secureCookies ? '__Host-' : ''}${e.SESSION_COOKIE_NAME}`,
    redisUrl: e.REDIS_URL,
    trustProxy: e.TRUST_PROXY,
    signInLimitPerMinute: e.SIGN_IN_LIMIT_PER_MINUTE,
    memoryStoreMaxBytes: e.MEMORY_STORE_MAX_MB * 1024 * 1024,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  };
}

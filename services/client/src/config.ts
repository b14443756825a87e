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
  API_SCOPES: scopes().describe(
    "the API's scopes the web app asks for, e.g. api://<API client id>/data.read",
  ),
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
    pattern: /^[A-Za-z0-9_.-]+$/,
    message: 'must be a cookie name',
  }).default('webapp.sid'),
  REDIS_URL: envUrl({ protocols: ['redis:', 'rediss:'] }).optional(),
  TRUST_PROXY: envBool().default(false),
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
  /** Hosts MSAL may trust without Microsoft's instance discovery; empty for Microsoft's own clouds. */
  knownAuthorities: string[];
  redirectUri: string;
  postLogoutRedirectUri: string;
  apiBaseUrl: string;
  apiScopes: string[];
  graphBaseUrl: string;
  graphScopes: string[];
  sessionKeys: string[];
  sessionIdleTimeoutSeconds: number;
  sessionAbsoluteTimeoutSeconds: number;
  sessionCookieName: string;
  redisUrl: string | undefined;
  trustProxy: boolean;
  upstreamTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

/** Microsoft's public and national-cloud sign-in hosts: MSAL knows these itself. */
const MICROSOFT_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.windows.net',
  'login.microsoft.com',
  'sts.windows.net',
]);

/** Reads and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): WebAppConfig {
  const e = readEnv(variables, env, {
    check: (v, report) => {
      if (v.METRICS_PORT !== undefined && v.METRICS_PORT !== 0 && v.METRICS_PORT === v.PORT)
        report('METRICS_PORT', 'must differ from PORT (metrics are kept off the app port)');
    },
  });
  const authorityBase = e.AUTHORITY;
  const authorityHost = new URL(authorityBase).host;
  const redirect = new URL(e.REDIRECT_URI);
  return {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    tenantId: e.TENANT_ID,
    clientId: e.CLIENT_ID,
    clientSecret: e.CLIENT_SECRET,
    authorityBase,
    authority: `${authorityBase}/${e.TENANT_ID}`,
    knownAuthorities: MICROSOFT_HOSTS.has(authorityHost) ? [] : [authorityHost],
    redirectUri: e.REDIRECT_URI,
    postLogoutRedirectUri: e.POST_LOGOUT_REDIRECT_URI ?? `${redirect.origin}/`,
    apiBaseUrl: e.API_BASE_URL,
    apiScopes: e.API_SCOPES,
    graphBaseUrl: e.GRAPH_BASE_URL,
    graphScopes: e.GRAPH_SCOPES,
    sessionKeys: e.SESSION_KEYS,
    sessionIdleTimeoutSeconds: e.SESSION_IDLE_TIMEOUT_SECONDS,
    sessionAbsoluteTimeoutSeconds: e.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
    sessionCookieName: e.SESSION_COOKIE_NAME,
    redisUrl: e.REDIS_URL,
    trustProxy: e.TRUST_PROXY,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  };
}

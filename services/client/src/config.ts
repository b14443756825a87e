// The one reader of the environment. Everything the web app needs is validated here once, at
// start; a bad value stops the process with a message that names the variable.
import { z } from 'zod';

const httpUrl = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    if (!URL.canParse(v)) ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    else if (!['http:', 'https:'].includes(new URL(v).protocol))
      ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
  });

const positiveInt = (dflt: number, max: number) =>
  z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .default(dflt);

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  PORT: z.coerce
    .number()
    .int('must be a whole number')
    .min(0)
    .max(65535, 'must be a port number (0-65535)')
    .default(5001),
  HOST: z.string().trim().min(1).optional(),
  TENANT_ID: z
    .string({ message: 'is required (the directory (tenant) id of the app registration)' })
    .trim()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a tenant GUID or domain name'),
  CLIENT_ID: z
    .string({ message: "is required (the web app's application (client) id)" })
    .trim()
    .uuid('must be a GUID'),
  CLIENT_SECRET: z
    .string({ message: "is required (the web app's client secret)" })
    .min(1, 'must not be empty'),
  AUTHORITY: httpUrl
    .default('https://login.microsoftonline.com')
    .refine(
      (v) => !URL.canParse(v) || new URL(v).protocol === 'https:',
      'must be an https URL (MSAL only talks to an issuer over TLS)',
    ),
  REDIRECT_URI: httpUrl.default('http://localhost:5001/auth/redirect'),
  POST_LOGOUT_REDIRECT_URI: httpUrl.optional(),
  API_BASE_URL: httpUrl.default('http://localhost:8000'),
  API_SCOPES: z
    .string({
      message:
        "is required (the API's scopes the web app asks for, e.g. api://<API client id>/data.read)",
    })
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .refine((a) => a.length > 0, 'must name at least one scope'),
  GRAPH_BASE_URL: httpUrl.default('https://graph.microsoft.com'),
  GRAPH_SCOPES: z
    .string()
    .default('User.Read')
    .transform((v) => v.split(/[\s,]+/).filter(Boolean))
    .refine((a) => a.length > 0, 'must name at least one scope'),
  SESSION_KEYS: z
    .string({
      message:
        'is required (comma-separated secrets of at least 32 characters; the first signs, all verify)',
    })
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .refine((a) => a.length > 0, 'must contain at least one key')
    .refine((a) => a.every((k) => k.length >= 32), 'every key must be at least 32 characters long'),
  SESSION_IDLE_TIMEOUT_SECONDS: positiveInt(3600, 30 * 86400),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: positiveInt(8 * 3600, 90 * 86400),
  SESSION_COOKIE_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]+$/, 'must be a cookie name')
    .default('webapp.sid'),
  REDIS_URL: z
    .string()
    .trim()
    .refine(
      (v) => URL.canParse(v) && ['redis:', 'rediss:'].includes(new URL(v).protocol),
      'must be a redis:// or rediss:// URL',
    )
    .optional(),
  TRUST_PROXY: booleanFlag,
  UPSTREAM_TIMEOUT_MS: positiveInt(10_000, 120_000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(8000, 9500),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Parsed = z.infer<typeof schema>;

export interface WebAppConfig {
  port: number;
  host: string | undefined;
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
  logLevel: Parsed['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
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

const trimSlash = (u: string) => u.replace(/\/+$/, '');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WebAppConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'environment');
      const got = i.code === 'invalid_type' && env[name] === undefined ? ' (not set)' : '';
      return `${name}: ${i.message}${got}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = result.data;
  const authorityBase = trimSlash(e.AUTHORITY);
  const authorityHost = new URL(authorityBase).host;
  const redirect = new URL(e.REDIRECT_URI);
  return {
    port: e.PORT,
    host: e.HOST,
    tenantId: e.TENANT_ID,
    clientId: e.CLIENT_ID,
    clientSecret: e.CLIENT_SECRET,
    authorityBase,
    authority: `${authorityBase}/${e.TENANT_ID}`,
    knownAuthorities: MICROSOFT_HOSTS.has(authorityHost) ? [] : [authorityHost],
    redirectUri: e.REDIRECT_URI,
    postLogoutRedirectUri: e.POST_LOGOUT_REDIRECT_URI ?? `${redirect.origin}/`,
    apiBaseUrl: trimSlash(e.API_BASE_URL),
    apiScopes: e.API_SCOPES,
    graphBaseUrl: trimSlash(e.GRAPH_BASE_URL),
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

import { describe, expect, test } from '@jest/globals';
import { DEFAULTS } from '@koa-entra/fake-entra';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../src/config.ts';
import { Metrics } from '../src/http/metrics.ts';
import { createTokenVerifier } from '../src/token-verifier.ts';

const API_ID = DEFAULTS.apiClientId;
const base = {
  TENANT_ID: DEFAULTS.tenantId,
  API_CLIENT_ID: API_ID,
};
const error = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  test('defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      port: 8000,
      authority: 'https://login.microsoftonline.com',
      acceptedTokenVersions: ['2.0'],
      allowedTenants: [],
      clockToleranceSeconds: 30,
      tokenCacheMaxEntries: 10_000,
      jwksCooldownSeconds: 30,
      jwksFailureBackoffSeconds: 1,
      maxTokenBytes: 16_384,
      writeAppRole: undefined,
      writeAuthContext: undefined,
      maxBodyBytes: 16_384,
      dataDir: '.data',
      databaseUrl: undefined,
      logLevel: 'info',
      trustProxy: false,
    });
  });

  test('values are parsed; empty counts as unset; trailing slashes dropped', () => {
    const c = loadConfig({
      ...base,
      PORT: '0',
      AUTHORITY: 'https://fake-entra:5050/',
      ALLOWED_TENANTS: ' 11111111-2222-4333-8444-555555555555 ,',
      ACCEPTED_TOKEN_VERSIONS: '1.0,2.0',
      TOKEN_CACHE_MAX_ENTRIES: '0',
      TRUST_PROXY: 'true',
      DATABASE_URL: 'postgresql://u:p@db:5432/api',
      LOG_LEVEL: '',
    });
    expect(c).toMatchObject({
      port: 0,
      authority: 'https://fake-entra:5050',
      allowedTenants: ['11111111-2222-4333-8444-555555555555'],
      acceptedTokenVersions: ['1.0', '2.0'],
      tokenCacheMaxEntries: 0,
      trustProxy: true,
      databaseUrl: 'postgresql://u:p@db:5432/api',
      logLevel: 'info',
    });
  });

  test.each([
    [{ API_CLIENT_ID: '' }, 'API_CLIENT_ID: is required'],
    [{ API_CLIENT_ID: 'my-api' }, 'API_CLIENT_ID: must be a GUID'],
    [{ TENANT_ID: '' }, 'TENANT_ID: is required'],
    [{ PORT: '70000' }, 'PORT: must be at most 65535'],
    [{ PORT: '-1' }, 'PORT: must be a whole number'],
    [{ AUTHORITY: 'ftp://x' }, 'AUTHORITY: must be an absolute URL with scheme https'],
    [{ OIDC_ISSUER: 'http://issuer' }, 'OIDC_ISSUER: must be an absolute URL with scheme https'],
    [{ ALLOWED_TENANTS: 'contoso.com' }, 'ALLOWED_TENANTS'],
    [
      { ALLOWED_TENANTS: `${DEFAULTS.tenantId}, fabrikam` },
      'ALLOWED_TENANTS: must be tenant GUIDs separated by commas, or *',
    ],
    [
      { TENANT_ID: 'contoso.onmicrosoft.com' },
      'TENANT_ID: must be a tenant GUID, organizations or common',
    ],
    [
      { TENANT_ID: 'organizations' },
      'ALLOWED_TENANTS: is required with TENANT_ID=organizations: the tenant GUIDs whose tokens are accepted, or *',
    ],
    [{ TENANT_ID: 'consumers' }, 'TENANT_ID: must be a tenant GUID, organizations or common'],
    [{ ACCEPTED_TOKEN_VERSIONS: '3.0' }, 'ACCEPTED_TOKEN_VERSIONS'],
    [
      { WRITE_AUTH_CONTEXT: 'mfa' },
      'WRITE_AUTH_CONTEXT: must be an authentication context id c1 to c99',
    ],
    [
      { WRITE_AUTH_CONTEXT: 'c100' },
      'WRITE_AUTH_CONTEXT: must be an authentication context id c1 to c99',
    ],
    [{ WRITE_APP_ROLE: 'Data Writer' }, 'WRITE_APP_ROLE: must be one app role name (no spaces)'],
    [{ MAX_TOKEN_BYTES: '512' }, 'MAX_TOKEN_BYTES: must be at least 1024'],
    [{ JWKS_FAILURE_BACKOFF_SECONDS: '120' }, 'JWKS_FAILURE_BACKOFF_SECONDS: must be at most 60'],
    [{ CLOCK_TOLERANCE_SECONDS: '3600' }, 'CLOCK_TOLERANCE_SECONDS: must be at most 300'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: must be one of'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY: must be true or false'],
    [{ SHUTDOWN_TIMEOUT_MS: '20000' }, 'SHUTDOWN_TIMEOUT_MS: must be at most 9000'],
  ])('%j is refused naming the variable', (overrides, message) => {
    expect(error({ ...base, ...overrides })).toContain(message);
  });

  test('every bad or missing variable is named at once, in one message', () => {
    const m = error({ API_CLIENT_ID: API_ID, PORT: 'x', LOG_LEVEL: 'loud' });
    expect(m).toBe(
      'invalid configuration: PORT: must be a whole number from 0 to 65535; ' +
        'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent; ' +
        'TENANT_ID: is required (a tenant GUID) unless OIDC_ISSUER is set',
    );
    let caught: unknown;
    try {
      loadConfig({ PORT: 'x' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variables).toEqual(['PORT', 'API_CLIENT_ID', 'TENANT_ID']);
  });

  test('an empty variable means unset: the default applies', () => {
    expect(loadConfig({ ...base, PORT: '', TRUST_PROXY: '' })).toMatchObject({
      port: 8000,
      trustProxy: false,
    });
  });

  test('multi-tenant, step-up, app role and size settings', () => {
    expect(
      loadConfig({
        ...base,
        TENANT_ID: 'Organizations',
        ALLOWED_TENANTS: `${DEFAULTS.tenantId.toUpperCase()},${DEFAULTS.secondTenantId}`,
        WRITE_AUTH_CONTEXT: 'c1',
        WRITE_APP_ROLE: 'Data.Writer',
        MAX_TOKEN_BYTES: '32768',
        JWKS_FAILURE_BACKOFF_SECONDS: '2',
      }),
    ).toMatchObject({
      tenantId: 'organizations',
      allowedTenants: [DEFAULTS.tenantId, DEFAULTS.secondTenantId],
      writeAuthContext: 'c1',
      writeAppRole: 'Data.Writer',
      maxTokenBytes: 32_768,
      jwksFailureBackoffSeconds: 2,
    });
    expect(loadConfig({ ...base, TENANT_ID: 'common', ALLOWED_TENANTS: '*' })).toMatchObject({
      tenantId: 'common',
      allowedTenants: '*',
    });
  });

  test('OIDC_ISSUER replaces the Entra tenant settings', () => {
    const c = loadConfig({
      OIDC_ISSUER: 'https://issuer.example/realms/x',
      API_CLIENT_ID: 'my-api',
    });
    expect(c.oidcIssuer).toBe('https://issuer.example/realms/x');
    expect(c.tenantId).toBeUndefined();
  });
});

describe('national clouds and multi-tenant: where keys are discovered, which issuer is expected', () => {
  const telemetry = () => ({ metrics: new Metrics(), logger: pino({ level: 'silent' }) });
  const T = DEFAULTS.tenantId;
  test.each([
    ['https://login.microsoftonline.com', T, `https://login.microsoftonline.com/${T}/v2.0`],
    ['https://login.microsoftonline.us', T, `https://login.microsoftonline.us/${T}/v2.0`],
    [
      'https://login.partner.microsoftonline.cn',
      T,
      `https://login.partner.microsoftonline.cn/${T}/v2.0`,
    ],
    // The older China host is an alias: its tokens name login.partner.microsoftonline.cn.
    ['https://login.chinacloudapi.cn', T, `https://login.partner.microsoftonline.cn/${T}/v2.0`],
    [
      'https://login.microsoftonline.com',
      'organizations',
      'https://login.microsoftonline.com/{tenantid}/v2.0',
    ],
  ])('AUTHORITY=%s TENANT_ID=%s', (authority, tenant, issuer) => {
    const config = loadConfig({
      ...base,
      AUTHORITY: authority,
      TENANT_ID: tenant,
      ALLOWED_TENANTS: tenant === T ? '' : '*',
    });
    const verifier = createTokenVerifier(config, telemetry());
    expect(verifier.discoveryUrl).toBe(
      `${authority}/${tenant}/v2.0/.well-known/openid-configuration`,
    );
    expect(verifier.issuer).toBe(issuer);
  });
});

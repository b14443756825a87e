// OIDC discovery, JWKS and MSAL's instance discovery, with Entra's fields, values, order and
// cache headers (recorded documents: see the README's behaviour table).
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Harness } from '../context.ts';
import { errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { readParams } from '../params.ts';

/** Entra's alias groups of instance discovery (MSAL's built-in copy is the same). */
export const ENTRA_CLOUDS: readonly {
  preferred_network: string;
  preferred_cache: string;
  aliases: string[];
}[] = [
  {
    preferred_network: 'login.microsoftonline.com',
    preferred_cache: 'login.windows.net',
    aliases: [
      'login.microsoftonline.com',
      'login.windows.net',
      'login.microsoft.com',
      'sts.windows.net',
    ],
  },
  {
    preferred_network: 'login.partner.microsoftonline.cn',
    preferred_cache: 'login.partner.microsoftonline.cn',
    aliases: ['login.partner.microsoftonline.cn', 'login.chinacloudapi.cn'],
  },
  {
    preferred_network: 'login.microsoftonline.de',
    preferred_cache: 'login.microsoftonline.de',
    aliases: ['login.microsoftonline.de'],
  },
  {
    preferred_network: 'login.microsoftonline.us',
    preferred_cache: 'login.microsoftonline.us',
    aliases: ['login.microsoftonline.us', 'login.usgovcloudapi.net'],
  },
  {
    preferred_network: 'login-us.microsoftonline.com',
    preferred_cache: 'login-us.microsoftonline.com',
    aliases: ['login-us.microsoftonline.com'],
  },
];

/** Entra's headers on its public metadata (discovery, keys, instance discovery). */
function metadataHeaders(ctx: Context): void {
  ctx.set('Cache-Control', 'max-age=86400, private');
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Allow-Methods', 'GET, OPTIONS');
}

/** `microsoftonline.com` for login.microsoftonline.com: the issuer host without its first label. */
function cloudInstanceName(host: string): string {
  const labels = host.split('.');
  return labels.length > 1 ? labels.slice(1).join('.') : host;
}

export function openIdConfiguration(h: Harness, tenantSegment: string): Record<string, unknown> {
  const { tenantId } = h.directory.requireTenant(tenantSegment);
  const seg = tenantId ?? tenantSegment.toLowerCase();
  const api = `${h.baseUrl}/${seg}`;
  const browser = `${h.publicUrl}/${seg}`;
  // Entra's own field order; values for what the fake serves point at the fake.
  return {
    token_endpoint: `${api}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${api}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    // Multi-tenant documents carry Entra's literal placeholder.
    issuer: tenantId ? h.issuer(tenantId) : `${h.baseUrl}/{tenantid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${h.graphBaseUrl}/oidc/userinfo`,
    authorization_endpoint: `${browser}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${api}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${browser}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${api}/kerberos`,
    tenant_region_scope: tenantId
      ? (h.directory.tenantConfig(tenantId)?.regionScope ?? null)
      : null,
    cloud_instance_name: cloudInstanceName(new URL(h.baseUrl).hostname),
    // Azure AD Graph (retired) and Azure RBAC: Entra's values; the fake serves neither.
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: new URL(h.graphBaseUrl).host,
    rbac_url: 'https://pas.windows.net',
  };
}

/** The alias groups: the fake's hosts as their own cloud, unless it answers as one of Entra's. */
function aliasGroups(h: Harness) {
  const own = [...new Set([new URL(h.baseUrl).host, new URL(h.publicUrl).host])];
  if (ENTRA_CLOUDS.some((c) => c.aliases.includes(own[0]!))) return ENTRA_CLOUDS;
  return [{ preferred_network: own[0]!, preferred_cache: own[0]!, aliases: own }, ...ENTRA_CLOUDS];
}

export function registerDiscovery(router: Router, h: Harness): void {
  router.get('/:tenant/v2.0/.well-known/openid-configuration', (ctx) => {
    h.count('discovery');
    const queued = h.hooks.takeError('discovery');
    if (queued) throw entraErrorOf(queued);
    ctx.body = openIdConfiguration(h, ctx.params.tenant!);
    metadataHeaders(ctx);
  });

  router.get('/:tenant/discovery/v2.0/keys', (ctx) => {
    h.count('jwks');
    const queued = h.hooks.takeError('jwks');
    if (queued) throw entraErrorOf(queued);
    const { tenantId } = h.directory.requireTenant(ctx.params.tenant!);
    ctx.body = h.keys.jwks(tenantId ? h.issuer(tenantId) : `${h.baseUrl}/{tenantid}/v2.0`);
    metadataHeaders(ctx);
  });

  // MSAL's instance discovery (skipped by MSAL when the host is in knownAuthorities).
  router.get('/common/discovery/instance', (ctx) => {
    h.count('discovery');
    const queued = h.hooks.takeError('instance-discovery');
    if (queued) throw entraErrorOf(queued);
    const p = readParams(ctx.query);
    const endpoint = p.authorization_endpoint;
    if (!endpoint) throw errors.missingParameter('authorization_endpoint', 'request');
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw errors.malformed(`The authorization_endpoint '${endpoint}' is not a URL.`);
    }
    const tenant = url.pathname.split('/').filter(Boolean)[0];
    if (!tenant)
      throw errors.malformed(`The authorization_endpoint '${endpoint}' names no tenant.`);
    const groups = aliasGroups(h);
    // Entra knows its own clouds only (AADSTS50049 for any other host).
    if (!groups.some((g) => g.aliases.includes(url.host))) throw errors.unknownInstance();
    ctx.body = {
      tenant_discovery_endpoint: `${h.baseUrl}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: groups,
    };
    metadataHeaders(ctx);
  });
}

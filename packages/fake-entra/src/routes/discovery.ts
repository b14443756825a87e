// OIDC discovery, JWKS and MSAL's instance discovery, shaped like Entra's documents.
import type Router from '@koa/router';
import type { Harness } from '../context.ts';
import { errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { readParams } from '../params.ts';

export function openIdConfiguration(h: Harness, tenantSegment: string): Record<string, unknown> {
  const { tenantId } = h.directory.requireTenant(tenantSegment);
  const seg = tenantId ?? tenantSegment.toLowerCase();
  const api = `${h.baseUrl}/${seg}`;
  const browser = `${h.publicUrl}/${seg}`;
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
    tenant_region_scope: 'EU',
    cloud_instance_name: new URL(h.baseUrl).hostname,
    cloud_graph_host_name: new URL(h.baseUrl).host,
    msgraph_host: new URL(h.graphBaseUrl).host,
    rbac_url: h.baseUrl,
    code_challenge_methods_supported: ['plain', 'S256'],
  };
}

export function registerDiscovery(router: Router, h: Harness): void {
  router.get('/:tenant/v2.0/.well-known/openid-configuration', (ctx) => {
    h.count('discovery');
    const queued = h.hooks.takeError('discovery');
    if (queued) throw entraErrorOf(queued);
    ctx.body = openIdConfiguration(h, ctx.params.tenant!);
    ctx.set('Cache-Control', 'max-age=86400, private');
  });

  router.get('/:tenant/discovery/v2.0/keys', (ctx) => {
    h.count('jwks');
    const queued = h.hooks.takeError('jwks');
    if (queued) throw entraErrorOf(queued);
    const { tenantId } = h.directory.requireTenant(ctx.params.tenant!);
    ctx.body = h.keys.jwks(tenantId ? h.issuer(tenantId) : `${h.baseUrl}/{tenantid}/v2.0`);
    // Short cache so that key rotation shows up quickly for clients that honour it.
    ctx.set('Cache-Control', 'max-age=60, private');
  });

  // MSAL's instance discovery (skipped by MSAL when the host is in knownAuthorities).
  router.get('/common/discovery/instance', (ctx) => {
    h.count('discovery');
    const queued = h.hooks.takeError('instance-discovery');
    if (queued) throw entraErrorOf(queued);
    const p = readParams(ctx.query);
    const endpoint = p.authorization_endpoint;
    if (!endpoint) throw errors.missingParameter('authorization_endpoint', 'request');
    let tenant: string | undefined;
    try {
      const url = new URL(endpoint);
      tenant = url.pathname.split('/').filter(Boolean)[0];
    } catch {
      throw errors.malformed(`The authorization_endpoint '${endpoint}' is not a URL.`);
    }
    if (!tenant)
      throw errors.malformed(`The authorization_endpoint '${endpoint}' names no tenant.`);
    const hosts = [...new Set([new URL(h.baseUrl).host, new URL(h.publicUrl).host])];
    ctx.body = {
      tenant_discovery_endpoint: `${h.baseUrl}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`,
      'api-version': p['api-version'] ?? '1.1',
      metadata: [{ preferred_network: hosts[0], preferred_cache: hosts[0], aliases: hosts }],
    };
  });
}

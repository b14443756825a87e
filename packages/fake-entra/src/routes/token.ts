// /token: client authentication (client_secret_post, client_secret_basic, or private_key_jwt
// with a registered certificate) and the grants authorization_code (PKCE verified, single use,
// expiring), refresh_token (multi-resource, as Entra's refresh tokens are), client_credentials
// ({resource}/.default → app roles), on-behalf-of (jwt-bearer) and device_code.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientConfig } from '../config.ts';
import { CLIENT_ASSERTION_TYPE, verifyClientAssertion } from '../client-assertion.ts';
import { mergeClaimsRequests, parseClaimsRequest } from '../conditional-access.ts';
import type { Harness } from '../context.ts';
import { Directory } from '../directory.ts';
import { SPA_REFRESH_TOKEN_SECONDS } from '../grants.ts';
import { errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { JWT_BEARER_GRANT, onBehalfOfGrant } from '../on-behalf-of.ts';
import { formParams, required, type Params } from '../params.ts';
import { appResponse, delegatedResponse } from '../token-response.ts';
import type { ClientAuthMethod } from '../tokens.ts';
import { DEVICE_CODE_GRANT, DEVICE_CODE_GRANT_SHORT, deviceCodeGrant } from './device-code.ts';

const GRANTS = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  JWT_BEARER_GRANT,
  DEVICE_CODE_GRANT,
  DEVICE_CODE_GRANT_SHORT,
];

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function basicCredentials(ctx: Context): { id: string; secret: string } | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!match)
    throw errors.malformed(
      "The Authorization header must use the 'Basic' scheme with base64 'client_id:client_secret'.",
    );
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw errors.malformed("The Basic credentials must be 'client_id:client_secret'.");
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    throw errors.malformed('The Basic credentials are not valid URL-encoded values.');
  }
}

/** The client id of Basic credentials, if readable (for matching queued errors only). */
function basicClientId(ctx: Context): string | undefined {
  try {
    return basicCredentials(ctx)?.id;
  } catch {
    return undefined;
  }
}

/** The token endpoint URLs a client assertion may be addressed to (`aud`). */
function tokenEndpoints(h: Harness, tenantSegment: string, tenant: string | undefined): string[] {
  const segments = new Set([tenantSegment]);
  if (tenant) {
    segments.add(tenant);
    for (const t of h.directory.config.tenants)
      if (t.id.toLowerCase() === tenant.toLowerCase()) t.domains.forEach((d) => segments.add(d));
  }
  return [...segments].flatMap((seg) => [
    `${h.baseUrl}/${seg}/oauth2/v2.0/token`,
    `${h.baseUrl}/${seg}/oauth2/token`,
  ]);
}

export interface AuthenticatedClient {
  client: ClientConfig;
  /** `azpacr`/`appidacr`: 0 public, 1 secret, 2 certificate. */
  method: ClientAuthMethod;
}

/**
 * Identifies and authenticates the client: confidential clients present their secret or a
 * client assertion signed with a registered certificate; public clients present neither.
 */
export async function authenticateClient(
  ctx: Context,
  h: Harness,
  p: Params,
  tenant: string | undefined,
  tenantSegment: string,
): Promise<AuthenticatedClient> {
  const basic = basicCredentials(ctx);
  if (basic && p.client_id && p.client_id.toLowerCase() !== basic.id.toLowerCase()) {
    throw errors.malformed(
      'The client_id in the body differs from the one in the Authorization header.',
    );
  }
  const clientId = basic?.id ?? required(p, 'client_id');
  // Unknown or of another tenant: AADSTS700016; single-tenant on /common: AADSTS50194.
  const client = h.directory.clientAt(clientId, tenantSegment);
  const secret = basic?.secret ?? p.client_secret;
  const confidential = !!client.secret || client.certificates.length > 0;
  if (p.client_assertion !== undefined || p.client_assertion_type !== undefined) {
    if (!confidential) throw errors.publicClientSecret(client.clientId);
    if (secret !== undefined)
      throw errors.malformed("Present either 'client_secret' or 'client_assertion', not both.");
    const type = required(p, 'client_assertion_type');
    if (type !== CLIENT_ASSERTION_TYPE) throw errors.clientAssertionType(type);
    const assertion = required(p, 'client_assertion');
    await verifyClientAssertion(
      client,
      assertion,
      tokenEndpoints(h, tenantSegment, tenant),
      h.assertionReplay,
    );
    return { client, method: '2' };
  }
  if (!confidential) {
    if (secret) throw errors.publicClientSecret(client.clientId);
    return { client, method: '0' };
  }
  if (!secret) throw errors.missingSecret();
  if (!client.secret || !safeEqual(secret, client.secret)) throw errors.badSecret(client.clientId);
  return { client, method: '1' };
}

function verifyPkce(stored: string, verifier: string): boolean {
  const [method, challenge] = [
    stored.slice(0, stored.indexOf(':')),
    stored.slice(stored.indexOf(':') + 1),
  ];
  const computed =
    method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return safeEqual(computed, challenge);
}

function authorizationCodeGrant(
  h: Harness,
  { client, method }: AuthenticatedClient,
  p: Params,
  origin: string | undefined,
): Record<string, unknown> {
  const code = required(p, 'code');
  const redirectUri = required(p, 'redirect_uri');
  const requestClaims = parseClaimsRequest(p.claims);
  const entry = h.grants.codes.get(code);
  if (!entry) throw errors.invalidCode('The code is unknown to this issuer.');
  if (entry.clientId !== client.clientId)
    throw errors.invalidCode('The code was issued to another client.');
  if (entry.redeemed) throw errors.codeRedeemed();
  // Any redemption attempt by its client uses the code up, successful or not.
  entry.redeemed = true;
  if (entry.expiresAt < Date.now()) throw errors.codeExpired();
  if (entry.redirectUri !== redirectUri) throw errors.redirectMismatch();
  // Codes of a single-page app's redirect URI are redeemed from its page (with an Origin);
  // others never are (Entra: AADSTS9002327 and AADSTS9002326).
  const spa = Directory.uriMatches(client.spaRedirectUris, entry.redirectUri);
  if (spa && !origin) throw errors.spaNeedsCrossOrigin();
  if (!spa && origin) throw errors.crossOriginNotSpa(origin);
  if (entry.codeChallenge) {
    const verifier = required(p, 'code_verifier');
    if (!verifyPkce(entry.codeChallenge, verifier)) throw errors.pkceMismatch();
  }
  const user = h.directory.user(entry.userOid);
  if (!user) throw errors.invalidCode('The user of this code no longer exists.');
  // The token request's scope picks the (single) resource; without resource scopes there, the
  // first resource of the authorize request does (which may have named several, for consent).
  const fromCode = h.directory.resolveScopeGroups(entry.scope);
  const fromRequest = p.scope ? h.directory.resolveScopeGroups(p.scope) : undefined;
  const asksForResource =
    fromRequest && fromRequest.groups.some((g) => g.names.length || g.isDefault);
  const resolved = asksForResource ? h.directory.resolveScopes(p.scope!) : fromCode.groups[0]!;
  const oidc = [...new Set([...(fromRequest?.oidc ?? []), ...fromCode.oidc])];
  const grant = h.directory.grantDelegated(client, user, resolved);
  return delegatedResponse(h, client, 'authorization_code', {
    user,
    tenant: entry.tenant,
    grant,
    oidc,
    nonce: entry.nonce,
    auth: entry.auth,
    claims: mergeClaimsRequests(parseClaimsRequest(entry.claims), requestClaims),
    scopeParam: asksForResource ? p.scope : entry.scope,
    clientAuth: method,
    sid: entry.sid,
    ...(spa
      ? {
          spaExpiresAt:
            Date.now() +
            Math.min(h.tokens.lifetimes.refreshToken, SPA_REFRESH_TOKEN_SECONDS) * 1000,
        }
      : {}),
  });
}

function refreshTokenGrant(
  h: Harness,
  { client, method }: AuthenticatedClient,
  p: Params,
): Record<string, unknown> {
  const token = required(p, 'refresh_token');
  const scope = required(p, 'scope');
  const claims = parseClaimsRequest(p.claims);
  const entry = h.grants.refreshTokens.get(token);
  if (!entry) throw errors.invalidRefreshToken('The refresh token is unknown to this issuer.');
  if (entry.clientId !== client.clientId)
    throw errors.invalidRefreshToken('The refresh token was issued to another client.');
  if (entry.expiresAt < Date.now()) throw errors.refreshTokenExpired();
  const user = h.directory.user(entry.userOid);
  if (!user) throw errors.invalidRefreshToken('The user of this refresh token no longer exists.');
  const resolved = h.directory.resolveScopes(scope);
  const grant = h.directory.grantDelegated(client, user, resolved);
  // Entra returns a new refresh token with every redemption; it keeps the sign-in's methods.
  return delegatedResponse(h, client, 'refresh_token', {
    user,
    tenant: entry.tenant,
    grant,
    oidc: [...new Set([...resolved.oidc, 'offline_access'])],
    auth: entry.auth,
    claims,
    scopeParam: scope,
    clientAuth: method,
    sid: entry.sid,
    // A single-page app's refresh token keeps the sign-in's expiry (Entra does not extend it).
    ...(entry.spa ? { spaExpiresAt: entry.expiresAt } : {}),
  });
}

function clientCredentialsGrant(
  h: Harness,
  { client, method }: AuthenticatedClient,
  p: Params,
  tenant: string | undefined,
): Record<string, unknown> {
  if (method === '0') throw errors.missingSecret();
  const scope = required(p, 'scope');
  const claims = parseClaimsRequest(p.claims);
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default'))
    throw errors.clientCredentialsScope(scope);
  const resource = scopes[0]!.slice(0, -'/.default'.length);
  const tid = tenant ?? h.directory.clientTenant(client);
  const api = h.directory.api(resource);
  if (!api) throw errors.resourceNotFound(resource, tid);
  return appResponse(h, client, api, {
    tenant: tid,
    scopeParam: scope,
    claims,
    clientAuth: method,
  });
}

export function registerToken(router: Router, h: Harness): void {
  // CORS for single-page apps: the answer (errors too) is readable by the page that asked;
  // whether the request may be cross-origin at all is the grant's decision below.
  router.options('/:tenant/oauth2/v2.0/token', (ctx) => {
    const origin = ctx.get('origin');
    if (!origin) return;
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
    const asked = ctx.get('access-control-request-headers');
    if (asked) ctx.set('Access-Control-Allow-Headers', asked);
    ctx.set('Access-Control-Max-Age', '86400');
    ctx.set('Vary', 'Origin');
    ctx.status = 204;
  });
  router.post('/:tenant/oauth2/v2.0/token', async (ctx) => {
    h.count('token');
    const origin = ctx.get('origin') || undefined;
    if (origin) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Vary', 'Origin');
    }
    const tenantSegment = ctx.params.tenant!;
    const { tenantId } = h.directory.requireTenant(tenantSegment);
    const p = formParams(ctx);
    const queued = h.hooks.takeError('token', {
      clientId: p.client_id ?? basicClientId(ctx),
      grantType: p.grant_type,
    });
    if (queued) throw entraErrorOf(queued);
    const grantType = required(p, 'grant_type');
    if (!GRANTS.includes(grantType)) throw errors.unsupportedGrant(grantType);
    const authenticated = await authenticateClient(ctx, h, p, tenantId, tenantSegment);
    let body: Record<string, unknown>;
    if (origin && grantType !== 'authorization_code' && grantType !== 'refresh_token')
      throw errors.crossOriginNotSpa(origin);
    if (origin && grantType === 'refresh_token' && !authenticated.client.spaRedirectUris.length)
      throw errors.crossOriginNotSpa(origin);
    if (grantType === 'authorization_code')
      body = authorizationCodeGrant(h, authenticated, p, origin);
    else if (grantType === 'refresh_token') body = refreshTokenGrant(h, authenticated, p);
    else if (grantType === 'client_credentials')
      body = clientCredentialsGrant(h, authenticated, p, tenantId);
    else if (grantType === JWT_BEARER_GRANT)
      body = await onBehalfOfGrant(h, authenticated, p, tenantId);
    else body = deviceCodeGrant(h, authenticated, p, tenantId);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    ctx.body = body;
  });
}

// /token: client authentication (client_secret_post or client_secret_basic) and the grants
// authorization_code (PKCE verified, single use, expiring), refresh_token (multi-resource, as
// Entra's refresh tokens are) and client_credentials ({resource}/.default → app roles).
import type Router from '@koa/router';
import type { Context } from 'koa';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientConfig, UserConfig } from '../config.ts';
import type { Harness } from '../context.ts';
import type { DelegatedGrant } from '../directory.ts';
import { errors } from '../errors.ts';
import { applyEdits, entraErrorOf } from '../hooks.ts';
import { formParams, required, type Params } from '../params.ts';
import { clientInfo } from '../tokens.ts';

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

/** Identifies and authenticates the client; confidential clients must present their secret. */
function authenticateClient(
  ctx: Context,
  h: Harness,
  p: Params,
  tenant: string | undefined,
  tenantSegment: string,
): ClientConfig {
  const basic = basicCredentials(ctx);
  if (basic && p.client_id && p.client_id.toLowerCase() !== basic.id.toLowerCase()) {
    throw errors.malformed(
      'The client_id in the body differs from the one in the Authorization header.',
    );
  }
  const clientId = basic?.id ?? required(p, 'client_id');
  // Unknown or of another tenant: AADSTS700016; single-tenant on /common: AADSTS50194.
  const client = h.directory.clientAt(clientId, tenantSegment);
  if (p.client_assertion || p.client_assertion_type)
    throw errors.malformed(
      'client_assertion is not supported by the fake issuer; use a client secret.',
    );
  const secret = basic?.secret ?? p.client_secret;
  if (client.secret) {
    if (!secret) throw errors.missingSecret();
    if (!safeEqual(secret, client.secret)) throw errors.badSecret(client.clientId);
  } else if (secret) {
    throw errors.publicClientSecret(client.clientId);
  }
  return client;
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

interface DelegatedResult {
  user: UserConfig;
  tenant: string;
  grant: DelegatedGrant;
  oidc: string[];
  nonce?: string;
  /** The issuer session's id: the ID token's `sid`, kept across refreshes. */
  sid?: string;
}

function delegatedResponse(
  h: Harness,
  client: ClientConfig,
  grantType: string,
  r: DelegatedResult,
): Record<string, unknown> {
  const { accessToken, idToken, refreshToken } = h.tokens.lifetimes;
  const callback = h.hooks.takeToken({
    clientId: client.clientId,
    grantType,
    resource: r.grant.api,
    user: r.user,
  });
  const access = h.tokens.sign(
    applyEdits(
      h.tokens.userAccessClaims({
        user: r.user,
        client,
        api: r.grant.api,
        scopes: r.grant.scopes,
        tenant: r.tenant,
        lifetime: accessToken,
      }),
      callback?.accessTokenClaims,
    ),
  );
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: r.grant.responseScope,
    expires_in: accessToken,
    ext_expires_in: accessToken,
    access_token: access,
  };
  if (r.oidc.includes('offline_access')) {
    body.refresh_token = h.grants.refreshTokens.add('1.A', {
      clientId: client.clientId,
      userOid: r.user.oid,
      tenant: r.tenant,
      expiresAt: Date.now() + refreshToken * 1000,
      sid: r.sid,
    });
  }
  if (r.oidc.includes('openid')) {
    body.id_token = h.tokens.sign(
      applyEdits(
        {
          ...h.tokens.idTokenClaims({
            user: r.user,
            client,
            tenant: r.tenant,
            nonce: r.nonce,
            lifetime: idToken,
            email: r.oidc.includes('email'),
          }),
          // The session's sid and the app's optional claims (login_hint) come from the directory.
          ...(r.sid ? { sid: r.sid } : {}),
          ...h.directory.optionalIdTokenClaims(client, r.user),
        },
        callback?.idTokenClaims,
      ),
    );
  }
  body.client_info = clientInfo(r.user.oid, r.tenant);
  return applyEdits(body, callback?.response);
}

function authorizationCodeGrant(
  h: Harness,
  client: ClientConfig,
  p: Params,
): Record<string, unknown> {
  const code = required(p, 'code');
  const redirectUri = required(p, 'redirect_uri');
  const entry = h.grants.codes.get(code);
  if (!entry) throw errors.invalidCode('The code is unknown to this issuer.');
  if (entry.clientId !== client.clientId)
    throw errors.invalidCode('The code was issued to another client.');
  if (entry.redeemed) throw errors.codeRedeemed();
  // Any redemption attempt by its client uses the code up, successful or not.
  entry.redeemed = true;
  if (entry.expiresAt < Date.now()) throw errors.codeExpired();
  if (entry.redirectUri !== redirectUri) throw errors.redirectMismatch();
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
    sid: entry.sid,
  });
}

function refreshTokenGrant(h: Harness, client: ClientConfig, p: Params): Record<string, unknown> {
  const token = required(p, 'refresh_token');
  const scope = required(p, 'scope');
  const entry = h.grants.refreshTokens.get(token);
  if (!entry) throw errors.invalidRefreshToken('The refresh token is unknown to this issuer.');
  if (entry.clientId !== client.clientId)
    throw errors.invalidRefreshToken('The refresh token was issued to another client.');
  if (entry.expiresAt < Date.now()) throw errors.refreshTokenExpired();
  const user = h.directory.user(entry.userOid);
  if (!user) throw errors.invalidRefreshToken('The user of this refresh token no longer exists.');
  const resolved = h.directory.resolveScopes(scope);
  const grant = h.directory.grantDelegated(client, user, resolved);
  // Entra returns a new refresh token with every redemption.
  return delegatedResponse(h, client, 'refresh_token', {
    user,
    tenant: entry.tenant,
    grant,
    oidc: [...new Set([...resolved.oidc, 'offline_access'])],
    sid: entry.sid,
  });
}

function clientCredentialsGrant(
  h: Harness,
  client: ClientConfig,
  p: Params,
  tenant: string | undefined,
): Record<string, unknown> {
  if (!client.secret) throw errors.missingSecret();
  const scope = required(p, 'scope');
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default'))
    throw errors.clientCredentialsScope(scope);
  const resource = scopes[0]!.slice(0, -'/.default'.length);
  const tid = tenant ?? h.directory.clientTenant(client);
  const api = h.directory.api(resource);
  if (!api) throw errors.resourceNotFound(resource, tid);
  const lifetime = h.tokens.lifetimes.accessToken;
  const callback = h.hooks.takeToken({
    clientId: client.clientId,
    grantType: 'client_credentials',
    resource: api,
  });
  const token = h.tokens.sign(
    applyEdits(
      h.tokens.appAccessClaims({
        client,
        api,
        roles: h.directory.appRoles(client, api),
        tenant: tid,
        lifetime,
      }),
      callback?.accessTokenClaims,
    ),
  );
  return applyEdits(
    {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
    },
    callback?.response,
  );
}

export function registerToken(router: Router, h: Harness): void {
  router.post('/:tenant/oauth2/v2.0/token', (ctx) => {
    h.count('token');
    const tenantSegment = ctx.params.tenant!;
    const { tenantId } = h.directory.requireTenant(tenantSegment);
    const p = formParams(ctx);
    const queued = h.hooks.takeError('token', {
      clientId: p.client_id ?? basicClientId(ctx),
      grantType: p.grant_type,
    });
    if (queued) throw entraErrorOf(queued);
    const grantType = required(p, 'grant_type');
    if (!['authorization_code', 'refresh_token', 'client_credentials'].includes(grantType))
      throw errors.unsupportedGrant(grantType);
    const client = authenticateClient(ctx, h, p, tenantId, tenantSegment);
    let body: Record<string, unknown>;
    if (grantType === 'authorization_code') body = authorizationCodeGrant(h, client, p);
    else if (grantType === 'refresh_token') body = refreshTokenGrant(h, client, p);
    else body = clientCredentialsGrant(h, client, p, tenantId);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    ctx.body = body;
  });
}

// The token endpoint's success answers, shared by every grant: a delegated (user) answer with
// access token, refresh token and id token, and an app-only answer. Tokens are shaped by the
// resource (version, optional claims, groups), the sign-in (second factor, address) and the
// request (authentication contexts, client capabilities).
import type { ApiConfig, ClientConfig, UserConfig } from './config.ts';
import {
  enforceAtTokenEndpoint,
  satisfiedAuthContexts,
  type ClaimsRequest,
} from './conditional-access.ts';
import type { Harness } from './context.ts';
import type { DelegatedGrant } from './directory.ts';
import { applyEdits } from './hooks.ts';
import {
  audienceAsRequested,
  clientInfo,
  passwordOnly,
  type AuthState,
  type ClientAuthMethod,
} from './tokens.ts';

export interface DelegatedResult {
  user: UserConfig;
  tenant: string;
  grant: DelegatedGrant;
  oidc: string[];
  nonce?: string;
  /** How the user signed in (second factor, address); default a password. */
  auth?: AuthState;
  /** The request's claims (acrs, client capabilities). */
  claims: ClaimsRequest;
  /** The scope parameter that named the resource (the `aud` of v1.0 tokens). */
  scopeParam?: string;
  clientAuth: ClientAuthMethod;
  /** Issue an id token when `openid` was asked for (not in the on-behalf-of flow). */
  idToken?: boolean;
  /** The issuer session's id: the ID token's `sid`, kept across refreshes. */
  sid?: string;
  /**
   * A single-page app's grant: its refresh token expires at `spaExpiresAt` (24 h after the
   * sign-in, however often it is redeemed), not after the configured refresh-token lifetime.
   */
  spaExpiresAt?: number;
}

/**
 * A user token answer. Conditional Access is enforced first: a policy the sign-in did not
 * satisfy is a claims challenge (AADSTS50076), never a token.
 */
export function delegatedResponse(
  h: Harness,
  client: ClientConfig,
  grantType: string,
  r: DelegatedResult,
): Record<string, unknown> {
  const config = h.directory.config;
  const auth = r.auth ?? passwordOnly();
  enforceAtTokenEndpoint(config, r.user, r.grant.api, r.claims, auth);
  const callback = h.hooks.takeToken({
    clientId: client.clientId,
    grantType,
    resource: r.grant.api,
    user: r.user,
  });
  const { claims, expiresIn } = h.tokens.userAccessClaims({
    user: r.user,
    client,
    api: r.grant.api,
    scopes: r.grant.scopes,
    tenant: r.tenant,
    audience: audienceAsRequested(r.grant.api, r.scopeParam),
    auth,
    acrs: satisfiedAuthContexts(config, r.user, r.claims, auth),
    capabilities: r.claims.capabilities,
    clientAuth: r.clientAuth,
    sid: r.sid,
  });
  const access = h.tokens.signAccessToken(
    r.grant.api,
    applyEdits(claims, callback?.accessTokenClaims),
  );
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: r.grant.responseScope,
    expires_in: expiresIn,
    ext_expires_in: expiresIn,
    access_token: access,
  };
  if (r.oidc.includes('offline_access')) {
    body.refresh_token = h.grants.refreshTokens.add('1.A', {
      clientId: client.clientId,
      userOid: r.user.oid,
      tenant: r.tenant,
      expiresAt: r.spaExpiresAt ?? Date.now() + h.tokens.lifetimes.refreshToken * 1000,
      auth,
      sid: r.sid,
      ...(r.spaExpiresAt !== undefined ? { spa: true } : {}),
    });
    // What is left of a single-page app's 24 hours, as Entra says it (MSAL.js reads it).
    if (r.spaExpiresAt !== undefined)
      body.refresh_token_expires_in = Math.max(0, Math.floor((r.spaExpiresAt - Date.now()) / 1000));
  }
  if (r.idToken !== false && r.oidc.includes('openid')) {
    body.id_token = h.tokens.sign(
      applyEdits(
        {
          ...h.tokens.idTokenClaims({
            user: r.user,
            client,
            tenant: r.tenant,
            nonce: r.nonce,
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

/** An app-only answer (client credentials): the app's roles on `api`. */
export function appResponse(
  h: Harness,
  client: ClientConfig,
  api: ApiConfig,
  o: { tenant: string; scopeParam: string; claims: ClaimsRequest; clientAuth: ClientAuthMethod },
): Record<string, unknown> {
  const callback = h.hooks.takeToken({
    clientId: client.clientId,
    grantType: 'client_credentials',
    resource: api,
  });
  const { claims, expiresIn } = h.tokens.appAccessClaims({
    client,
    api,
    roles: h.directory.appRoles(client, api),
    tenant: o.tenant,
    audience: audienceAsRequested(api, o.scopeParam),
    capabilities: o.claims.capabilities,
    clientAuth: o.clientAuth,
  });
  const token = h.tokens.signAccessToken(api, applyEdits(claims, callback?.accessTokenClaims));
  return applyEdits(
    {
      token_type: 'Bearer',
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: token,
    },
    callback?.response,
  );
}

// Microsoft Graph stub: GET /v1.0/me and the membership calls apps make after a groups overage
// (getMemberObjects, transitiveMemberOf), for a Graph token this issuer signed. Graph's tokens
// carry a header nonce and are signed over its hash: the stub verifies them as Graph does (no
// one else can). Graph's error shape (InvalidAuthenticationToken, Authorization_RequestDenied)
// otherwise.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, type JWTPayload } from 'jose';
import type { UserConfig } from '../config.ts';
import type { Harness } from '../context.ts';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from '../directory.ts';
import { applyEdits } from '../hooks.ts';
import { verifyIssuedToken } from '../issued-tokens.ts';
import { bearerClient } from '../recorder.ts';

const PROFILE_SCOPES = [
  'User.Read',
  'User.ReadWrite',
  'User.ReadBasic.All',
  'User.Read.All',
  'Directory.Read.All',
];

function graphError(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  if (status === 401) {
    ctx.set(
      'WWW-Authenticate',
      `Bearer realm="", authorization_uri="${ctx.state.authorizationUri as string}", client_id="${GRAPH_APP_ID}"`,
    );
  }
  const clientRequestId = ctx.get('client-request-id') || randomUUID();
  ctx.body = {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d+Z$/, ''),
        'request-id': randomUUID(),
        'client-request-id': clientRequestId,
      },
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired)
    return 'Lifetime validation failed, the token is expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'Invalid audience.';
    if (error.claim === 'iss') return 'Invalid issuer.';
    if (error.claim === 'nbf') return 'Lifetime validation failed, the token is not yet valid.';
    return `Access token validation failure: claim ${error.claim} is invalid.`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'Access token validation failure. Signature is invalid.';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return 'IDX14100: JWT is not well formed.';
  return 'Access token validation failure.';
}

/** Verifies a Graph token this issuer signed; answers Graph's error and returns undefined otherwise. */
async function anyGraphClaims(ctx: Context, h: Harness): Promise<JWTPayload | undefined> {
  ctx.state.authorizationUri = `${h.publicUrl}/common/oauth2/authorize`;
  const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!match)
    return void graphError(ctx, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
  try {
    return await verifyIssuedToken(h, match[1]!, {
      graphNonce: true,
      audience: [GRAPH_APP_ID, GRAPH_RESOURCE],
      requiredClaims: ['exp', 'tid'],
    });
  } catch (error) {
    return void graphError(ctx, 401, 'InvalidAuthenticationToken', describe(error));
  }
}

/** An app-only Graph token (client credentials) carries roles and no scp. */
const isAppToken = (claims: JWTPayload) => claims.scp === undefined;

/** Verifies a delegated Graph token this issuer signed; answers Graph's error and returns undefined otherwise. */
async function graphClaims(ctx: Context, h: Harness): Promise<JWTPayload | undefined> {
  const claims = await anyGraphClaims(ctx, h);
  if (!claims) return undefined;
  if (isAppToken(claims))
    return void graphError(
      ctx,
      400,
      'BadRequest',
      '/me request is only valid with delegated authentication flow.',
    );
  return claims;
}

// Who may read whose memberships: /me with a delegated profile scope; /users/{id} with a
// directory-reading delegated scope or application role.
const OTHER_USERS_SCOPES = [
  'User.ReadBasic.All',
  'User.Read.All',
  'GroupMember.Read.All',
  'Directory.Read.All',
];
const OTHER_USERS_ROLES = ['User.Read.All', 'GroupMember.Read.All', 'Directory.Read.All'];

function memberSubject(
  ctx: Context & { params: Record<string, string> },
  h: Harness,
  claims: JWTPayload,
): UserConfig | undefined {
  const scopes = String(claims.scp ?? '').split(' ');
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  const denied = () =>
    void graphError(
      ctx,
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
  const id = ctx.params.id;
  if (id === undefined) {
    if (isAppToken(claims))
      return void graphError(
        ctx,
        400,
        'BadRequest',
        '/me request is only valid with delegated authentication flow.',
      );
    if (!scopes.some((s) => PROFILE_SCOPES.includes(s))) return denied();
  } else if (
    !scopes.some((s) => OTHER_USERS_SCOPES.includes(s)) &&
    !roles.some((r) => OTHER_USERS_ROLES.includes(r))
  ) {
    return denied();
  }
  const user = h.directory.user(id ?? String(claims.oid ?? ''));
  if (!user || h.directory.userTenant(user).toLowerCase() !== String(claims.tid).toLowerCase())
    return void graphError(
      ctx,
      404,
      'Request_ResourceNotFound',
      `Resource '${id ?? String(claims.oid)}' does not exist or one of its queried reference-property objects are not present.`,
    );
  return user;
}

/** Answers a queued Graph error for this call, if one is queued; returns whether it did. */
function queuedGraphError(ctx: Context, h: Harness, endpoint: 'graph' | 'userinfo'): boolean {
  const queued = h.hooks.takeError(endpoint, { clientId: bearerClient(ctx.get('authorization')) });
  if (!queued) return false;
  ctx.state.authorizationUri = `${h.publicUrl}/common/oauth2/authorize`;
  graphError(
    ctx,
    queued.status ?? 400,
    queued.error,
    queued.description ?? `The test harness answered this request with ${queued.error}.`,
  );
  return true;
}

export function registerGraph(router: Router, h: Harness): void {
  router.get('/v1.0/me', async (ctx) => {
    h.count('graph');
    if (queuedGraphError(ctx, h, 'graph')) return;
    const claims = await graphClaims(ctx, h);
    if (!claims) return;
    const scopes = String(claims.scp ?? '').split(' ');
    if (!scopes.some((s) => PROFILE_SCOPES.includes(s)))
      return graphError(
        ctx,
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
    const user = h.directory.user(String(claims.oid ?? ''));
    if (!user)
      return graphError(
        ctx,
        404,
        'Request_ResourceNotFound',
        `Resource '${String(claims.oid)}' does not exist or one of its queried reference-property objects are not present.`,
      );
    ctx.set('Cache-Control', 'no-store');
    const callback = h.hooks.takeGraph({
      clientId: typeof claims.azp === 'string' ? claims.azp : undefined,
      user,
    });
    ctx.body = applyEdits(
      {
        '@odata.context': `${h.graphBaseUrl}/v1.0/$metadata#users/$entity`,
        businessPhones: [],
        displayName: user.name,
        givenName: user.givenName ?? null,
        jobTitle: user.jobTitle ?? null,
        mail: user.upn,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: null,
        surname: user.surname ?? null,
        userPrincipalName: user.upn,
        id: user.oid,
      },
      callback?.profile,
    );
  });

  // Group membership: where apps go when a token carries the groups overage claim (Entra's
  // _claim_sources names the retired Azure AD Graph; Microsoft documents these calls instead).
  const member = async (ctx: Context & { params: Record<string, string> }) => {
    h.count('graph');
    if (queuedGraphError(ctx, h, 'graph')) return;
    const claims = await anyGraphClaims(ctx, h);
    if (!claims) return;
    const user = memberSubject(ctx, h, claims);
    if (!user) return;
    const ids = [...user.groups];
    ctx.set('Cache-Control', 'no-store');
    if (ctx.method === 'POST') {
      const body = (ctx.request as unknown as { body?: unknown }).body;
      const securityEnabledOnly =
        body && typeof body === 'object'
          ? (body as Record<string, unknown>).securityEnabledOnly
          : undefined;
      if (typeof securityEnabledOnly !== 'boolean')
        return graphError(
          ctx,
          400,
          'Request_BadRequest',
          "The request body must be JSON with the boolean 'securityEnabledOnly'.",
        );
      ctx.body = {
        '@odata.context': `${h.graphBaseUrl}/v1.0/$metadata#Collection(Edm.String)`,
        value: ids,
      };
      return;
    }
    // transitiveMemberOf: pages of directory objects ($top default 100, at most 999).
    const top = Number(ctx.query.$top ?? 100);
    const skip = Number(ctx.query.$skiptoken ?? 0);
    if (!Number.isInteger(top) || top < 1 || top > 999 || !Number.isInteger(skip) || skip < 0)
      return graphError(ctx, 400, 'Request_BadRequest', 'Invalid $top or $skiptoken.');
    const page = ids.slice(skip, skip + top);
    const next = skip + top < ids.length ? skip + top : undefined;
    const url = new URL(`${h.graphBaseUrl}${ctx.path}`);
    url.searchParams.set('$top', String(top));
    if (next !== undefined) url.searchParams.set('$skiptoken', String(next));
    ctx.body = {
      '@odata.context': `${h.graphBaseUrl}/v1.0/$metadata#directoryObjects`,
      ...(next !== undefined ? { '@odata.nextLink': url.toString() } : {}),
      value: page.map((id) => ({ '@odata.type': '#microsoft.graph.group', id })),
    };
  };
  router.post('/v1.0/me/getMemberObjects', member);
  router.post('/v1.0/users/:id/getMemberObjects', member);
  router.get('/v1.0/me/transitiveMemberOf', member);
  router.get('/v1.0/users/:id/transitiveMemberOf', member);

  // The discovery document's userinfo_endpoint (Graph serves it at /oidc/userinfo).
  router.get('/oidc/userinfo', async (ctx) => {
    h.count('graph');
    if (queuedGraphError(ctx, h, 'userinfo')) return;
    const claims = await graphClaims(ctx, h);
    if (!claims) return;
    const user = h.directory.user(String(claims.oid ?? ''));
    if (!user)
      return graphError(ctx, 404, 'Request_ResourceNotFound', 'The user no longer exists.');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      sub: claims.sub,
      name: user.name,
      ...(user.givenName ? { given_name: user.givenName } : {}),
      ...(user.surname ? { family_name: user.surname } : {}),
      email: user.upn,
    };
  });
}

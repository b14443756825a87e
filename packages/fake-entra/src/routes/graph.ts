// Microsoft Graph stub: GET /v1.0/me for a Graph token this issuer signed; Graph's error shape
// (InvalidAuthenticationToken, Authorization_RequestDenied) otherwise.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Harness } from '../context.ts';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from '../directory.ts';
import { applyEdits } from '../hooks.ts';
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

/** Verifies a delegated Graph token this issuer signed; answers Graph's error and returns undefined otherwise. */
async function graphClaims(ctx: Context, h: Harness): Promise<JWTPayload | undefined> {
  ctx.state.authorizationUri = `${h.publicUrl}/common/oauth2/authorize`;
  const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!match)
    return void graphError(ctx, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
  let claims: JWTPayload;
  try {
    const issuers = h.directory.config.tenants.map((t) => h.issuer(t.id));
    ({ payload: claims } = await jwtVerify(
      match[1]!,
      async (header) => {
        const key = header.kid ? h.keys.find(header.kid) : undefined;
        if (!key) throw new joseErrors.JWKSNoMatchingKey();
        return key.publicKey;
      },
      {
        algorithms: ['RS256'],
        issuer: issuers,
        audience: [GRAPH_APP_ID, GRAPH_RESOURCE],
        requiredClaims: ['exp', 'tid'],
      },
    ));
  } catch (error) {
    return void graphError(ctx, 401, 'InvalidAuthenticationToken', describe(error));
  }
  if (claims.idtyp === 'app')
    return void graphError(
      ctx,
      400,
      'BadRequest',
      '/me request is only valid with delegated authentication flow.',
    );
  return claims;
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
        '@odata.context': `${h.baseUrl}/v1.0/$metadata#users/$entity`,
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

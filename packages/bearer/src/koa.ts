// The Koa adapter: the request layer (rfc6750.ts) on ctx, the verifier, and the principal in
// ctx.state. Errors are thrown, never answered here: Koa's default error handler already
// sends their status, WWW-Authenticate and (exposed) message; an application's own error
// middleware can map them to its body. Koa is only a type dependency.
import type { Middleware, Next, ParameterizedContext } from 'koa';
import { createEntraVerifier, type EntraVerifierOptions } from './entra.ts';
import { MissingTokenError } from './errors.ts';
import {
  checkPermission,
  validRequirement,
  type PermissionCheckOptions,
  type PermissionRequirement,
} from './permissions.ts';
import type { Principal } from './principal.ts';
import {
  assertNoBodyToken,
  assertNoQueryToken,
  authorizationHeaderOf,
  plainBearerToken,
  tokenFromAuthorization,
} from './rfc6750.ts';
import type { TokenVerifier } from './verifier.ts';

// ctx.state.principal is typed for every Koa app that imports this package (as
// express-oauth2-jwt-bearer types req.auth): optional, since unprotected routes have none.
declare module 'koa' {
  interface DefaultState {
    /** The verified caller, set by entraBearer() on the requests it lets through. */
    principal?: Principal;
  }
}

type Ctx = ParameterizedContext;

/** The middleware entraBearer() returns, with the verifier it uses. */
export type BearerMiddleware = Middleware & {
  /** The verifier (its key cache: `verifier.keys.status()` for readiness probes). */
  readonly verifier: TokenVerifier;
};

/**
 * Koa middleware: requires a valid bearer token and puts its principal on
 * `ctx.state.principal`. Refuses (throws, for Koa's error handler) a missing token (401), a
 * token also in the query or the already-parsed body, two Authorization headers or a malformed
 * one (400), an invalid token (401), no usable keys (503).
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { entraBearer, requireScopes } from '@koa-entra/bearer';
 *
 * const app = new Koa();
 * app.use(entraBearer({ tenantId: TENANT_ID, audience: [CLIENT_ID, `api://${CLIENT_ID}`] }));
 * app.use(requireScopes('data.read'));
 * app.use((ctx) => {
 *   ctx.body = { hello: ctx.state.principal?.objectId };
 * });
 * ```
 */
export function entraBearer(
  verifierOrOptions: TokenVerifier | EntraVerifierOptions,
): BearerMiddleware {
  const verifier = isVerifier(verifierOrOptions)
    ? verifierOrOptions
    : createEntraVerifier(verifierOrOptions);
  const options = { realm: verifier.realm };
  // Not an async function: a token verified before goes on to next() with no asynchronous
  // step of its own. Refusals come back as a rejected promise, as from any Koa middleware.
  const middleware = function entraBearerMiddleware(ctx: Ctx, next: Next): Promise<void> {
    try {
      const query = ctx.querystring;
      if (query !== '') assertNoQueryToken(query, options);
      const body = (ctx.request as { body?: unknown }).body;
      if (body !== undefined) assertNoBodyToken(body, options);
      const header = authorizationHeaderOf(ctx.req.rawHeaders, options);
      const plain = header === undefined ? undefined : plainBearerToken(header);
      const known = plain === undefined ? undefined : verifier.verifiedBefore(plain);
      if (known !== undefined) {
        ctx.state.principal = known;
        return next();
      }
      const token = tokenFromAuthorization(header, options);
      return verifier.verify(token).then((principal) => {
        ctx.state.principal = principal;
        return next();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.assign(middleware, { verifier });
}

/**
 * Koa middleware after entraBearer(): the caller's delegated token must carry every scope
 * (403 insufficient_scope otherwise; app-only tokens carry none).
 *
 * @example
 * ```ts
 * router.get('/data', entraBearer(verifier), requireScopes('data.read'), readData);
 * ```
 */
export function requireScopes(...scopes: string[]): Middleware {
  return requirePermission({ scopes });
}

/**
 * Koa middleware after entraBearer(): the caller's app-only token must carry every
 * application permission (`roles`); delegated tokens are refused, whatever roles their user has.
 *
 * @example
 * ```ts
 * router.post('/jobs', entraBearer(verifier), requireAppRoles('Jobs.Run.All'), runJob);
 * ```
 */
export function requireAppRoles(...roles: string[]): Middleware {
  return requirePermission({ appRoles: roles });
}

/**
 * Koa middleware after entraBearer(): user tokens need `scopes` (and the `userRoles` and
 * `authContext` when the requirement names them), app-only tokens `appRoles`.
 *
 * @example
 * ```ts
 * const READ = { scopes: ['data.read'], appRoles: ['Data.Read.All'] };
 * router.get('/data', entraBearer(verifier), requirePermission(READ), readData);
 * // Writes need a step-up: 401 insufficient_claims with the claims challenge for c1.
 * const WRITE = { scopes: ['data.write'], appRoles: ['Data.Write.All'], authContext: 'c1' };
 * router.post('/data', entraBearer(verifier), requirePermission(WRITE), writeData);
 * ```
 */
export function requirePermission(
  requirement: PermissionRequirement,
  options?: PermissionCheckOptions,
): Middleware {
  const checked = validRequirement(requirement);
  const checkOptions = options?.authorizationUri ? { ...options } : undefined;
  return function requirePermissionMiddleware(ctx: Ctx, next: Next): Promise<void> {
    try {
      const principal = ctx.state.principal;
      // Placed without entraBearer() before it: refuse rather than serve unauthenticated.
      if (principal === undefined) throw new MissingTokenError();
      checkPermission(principal, checked, checkOptions);
      return next();
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * The principal entraBearer() set, for handlers of protected routes; throws MissingTokenError
 * (401) when the route is not behind entraBearer(), so a wiring mistake never serves a request
 * unauthenticated.
 *
 * @example
 * ```ts
 * router.get('/me', bearer, (ctx) => {
 *   ctx.body = { oid: getPrincipal(ctx).objectId };
 * });
 * ```
 */
export function getPrincipal(ctx: { state: { principal?: Principal } }): Principal {
  const principal = ctx.state.principal;
  if (principal === undefined) throw new MissingTokenError();
  return principal;
}

function isVerifier(value: TokenVerifier | EntraVerifierOptions): value is TokenVerifier {
  return typeof (value as Partial<TokenVerifier>).verify === 'function';
}

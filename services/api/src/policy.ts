// This API's permissions: delegated scopes for users, application permissions (app roles)
// for daemons. A user's app roles never count as application permissions (the requirement
// names roles for app-only tokens only). Writes may also need, of a signed-in user, an app role
// assignment (WRITE_APP_ROLE) and a Conditional Access authentication context
// (WRITE_AUTH_CONTEXT, a step-up: 401 insufficient_claims with Microsoft's claims challenge).
import { requirePermission, type PermissionRequirement, type Principal } from '@koa-entra/bearer';
import type { Middleware, Next, ParameterizedContext } from 'koa';
import type { ApiConfig } from './config.ts';

export const READ: PermissionRequirement = Object.freeze({
  scopes: Object.freeze(['data.read']),
  appRoles: Object.freeze(['Data.Read.All']),
});

export const WRITE: PermissionRequirement = Object.freeze({
  scopes: Object.freeze(['data.write']),
  appRoles: Object.freeze(['Data.Write.All']),
});

/** What a write needs under this configuration: WRITE, plus the user's app role and step-up if configured. */
export function writeRequirement(
  config: Pick<ApiConfig, 'writeAppRole' | 'writeAuthContext'>,
): PermissionRequirement {
  return Object.freeze({
    ...WRITE,
    ...(config.writeAppRole ? { userRoles: Object.freeze([config.writeAppRole]) } : {}),
    ...(config.writeAuthContext ? { authContext: config.writeAuthContext } : {}),
  });
}

/**
 * Koa middleware after authentication: the caller may write (scope data.write or app role
 * Data.Write.All; a user also WRITE_APP_ROLE → 403 insufficient_role, and WRITE_AUTH_CONTEXT in
 * `acrs` → 401 insufficient_claims with the claims challenge). The server applies it to every
 * write request through authenticateWithWritePolicy; a route may also place it itself.
 */
export function requireWrite(
  config: Pick<ApiConfig, 'writeAppRole' | 'writeAuthContext'>,
): Middleware {
  return requirePermission(writeRequirement(config));
}

/** Request methods that change data: they get requireWrite (GET, HEAD, OPTIONS read). */
export const isWriteMethod = (method: string) =>
  method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';

/**
 * Authentication that also applies the write policy to every write request, so that no write
 * route can miss WRITE_APP_ROLE or WRITE_AUTH_CONTEXT (routes still check their own
 * permissions: READ, WRITE).
 */
export function authenticateWithWritePolicy(
  authenticate: Middleware,
  config: Pick<ApiConfig, 'writeAppRole' | 'writeAuthContext'>,
): (ctx: ParameterizedContext, next: Next) => Promise<void> {
  const write = requireWrite(config);
  return (ctx, next) =>
    authenticate(ctx, isWriteMethod(ctx.method) ? () => write(ctx, next) : next) as Promise<void>;
}

/** What the caller was granted, as the API reports it (`current-user-scopes`). */
export function grantedPermissions(principal: Principal): readonly string[] {
  return principal.kind === 'user' ? principal.scopes : principal.roles;
}

/** The owner of the items a principal writes and reads (an app's reads span its tenant). */
export const ownerOf = (principal: Principal) => ({
  tid: principal.tenantId,
  oid: principal.objectId,
});

// This API's permissions: delegated scopes for users, application permissions (app roles)
// for daemons. A user's app roles never count as application permissions (the requirement
// names roles for app-only tokens only).
import type { PermissionRequirement, Principal } from '@koa-entra/bearer';

export const READ: PermissionRequirement = Object.freeze({
  scopes: Object.freeze(['data.read']),
  appRoles: Object.freeze(['Data.Read.All']),
});

export const WRITE: PermissionRequirement = Object.freeze({
  scopes: Object.freeze(['data.write']),
  appRoles: Object.freeze(['Data.Write.All']),
});

/** What the caller was granted, as the API reports it (`current-user-scopes`). */
export function grantedPermissions(principal: Principal): readonly string[] {
  return principal.kind === 'user' ? principal.scopes : principal.roles;
}

/** The owner of the items a principal writes and reads (an app's reads span its tenant). */
export const ownerOf = (principal: Principal) => ({
  tid: principal.tenantId,
  oid: principal.objectId,
});

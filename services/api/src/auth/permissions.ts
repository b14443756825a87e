// Delegated scopes (`scp`) and application permissions (`roles` of app tokens) are separate
// grants: a user's app roles never count as application permissions.

export interface Principal {
  /** `user`: delegated token (scopes); `app`: app-only token (application permissions). */
  kind: 'user' | 'app';
  tenantId: string;
  /** Object id of the user or of the client's service principal. */
  objectId: string;
  /** Client that requested the token (`azp`/`appid`), for logs. */
  clientId: string | undefined;
  /** Scopes for users, application permissions for apps. Case-sensitive. */
  permissions: string[];
}

export interface Requirement {
  /** Delegated scope that grants access, e.g. `data.read`. */
  scope: string;
  /** Application permission that grants access to app-only tokens, e.g. `Data.Read.All`. */
  appRole: string;
}

export function isGranted(principal: Principal, requirement: Requirement): boolean {
  const needed = principal.kind === 'user' ? requirement.scope : requirement.appRole;
  return principal.permissions.includes(needed);
}

/** The permission the caller is missing, as RFC 6750 `scope` names it for this kind of token. */
export function missingPermission(principal: Principal, requirement: Requirement): string {
  return principal.kind === 'user' ? requirement.scope : requirement.appRole;
}

export const READ: Requirement = { scope: 'data.read', appRole: 'Data.Read.All' };
export const WRITE: Requirement = { scope: 'data.write', appRole: 'Data.Write.All' };

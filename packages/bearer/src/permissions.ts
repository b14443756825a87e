// Permission checks on a verified principal, framework-free. Delegated scopes (`scp` of user
// tokens) and application permissions (`roles` of app-only tokens) are separate grants: a
// user's app roles never count as application permissions. A requirement may also ask a user
// for app roles assigned to them (`userRoles`) and for a Conditional Access authentication
// context (`authContext`, the `acrs` claim), which only a step-up sign-in can satisfy.
import {
  InsufficientClaimsError,
  InsufficientRoleError,
  InsufficientScopeError,
  InvalidOptionError,
} from './errors.ts';
import { realmOf, type Principal } from './principal.ts';

/**
 * What a resource needs. A user token must carry every scope in `scopes` (and, when given, be
 * of a user assigned every role in `userRoles`, signed in with the authentication context
 * `authContext`); an app-only token every role in `appRoles`. A kind of token whose list is
 * absent is refused.
 */
export interface PermissionRequirement {
  /** Delegated scopes, e.g. `['data.read']`. */
  scopes?: readonly string[];
  /** Application permissions (app roles granted to a client), e.g. `['Data.Read.All']`. */
  appRoles?: readonly string[];
  /**
   * App roles the signed-in user must be assigned (`roles` of a delegated token), besides the
   * scopes; e.g. `['Data.Writer']`. A user without one gets InsufficientRoleError (403).
   */
  userRoles?: readonly string[];
  /**
   * Conditional Access authentication context a user token must carry in `acrs`, `c1` to `c99`.
   * Without it: InsufficientClaimsError (401 `insufficient_claims` with Microsoft's claims
   * challenge). App-only tokens are not asked (authentication contexts apply to user sign-ins).
   */
  authContext?: string;
}

/** How the challenges of a failed check are written. */
export interface PermissionCheckOptions {
  /** `authorization_uri` of an `insufficient_claims` challenge (Entra's authorize endpoint); omitted by default. */
  authorizationUri?: string;
}

/**
 * Throws InsufficientScopeError (403) unless `principal` is granted `requirement`'s scopes or
 * app roles, InsufficientRoleError (403) when a user lacks one of its `userRoles`, and
 * InsufficientClaimsError (401) when a user token lacks its `authContext`. The challenge's
 * `scope` lists what the resource requires of this kind of token.
 *
 * @example
 * ```ts
 * const WRITE = { scopes: ['data.write'], appRoles: ['Data.Write.All'], authContext: 'c1' };
 * checkPermission(principal, WRITE);
 * ```
 */
export function checkPermission(
  principal: Principal,
  requirement: PermissionRequirement,
  options?: PermissionCheckOptions,
): void {
  const user = principal.kind === 'user';
  const required = user ? requirement.scopes : requirement.appRoles;
  if (required === undefined) {
    const other = (requirement.scopes ?? requirement.appRoles) as readonly string[];
    throw new InsufficientScopeError(other, other, { realm: realmOf(principal) });
  }
  const granted = user ? principal.scopes : principal.roles;
  for (let i = 0; i < required.length; i++) {
    if (!granted.includes(required[i] as string)) {
      throw new InsufficientScopeError(
        required,
        required.filter((r) => !granted.includes(r)),
        { realm: realmOf(principal) },
      );
    }
  }
  if (!user) return;
  const { userRoles, authContext } = requirement;
  if (userRoles !== undefined && !userRoles.every((r) => principal.roles.includes(r))) {
    throw new InsufficientRoleError(
      userRoles,
      userRoles.filter((r) => !principal.roles.includes(r)),
      { realm: realmOf(principal) },
    );
  }
  if (authContext !== undefined && !hasAuthContext(principal, authContext)) {
    throw new InsufficientClaimsError(authContext, {
      realm: realmOf(principal),
      authorizationUri: options?.authorizationUri,
    });
  }
}

/**
 * Whether `principal` is granted `requirement` (see {@link checkPermission}).
 *
 * @example
 * ```ts
 * if (hasPermission(principal, { scopes: ['data.write'] })) showEditButton();
 * ```
 */
export function hasPermission(principal: Principal, requirement: PermissionRequirement): boolean {
  try {
    checkPermission(principal, requirement);
    return true;
  } catch {
    return false;
  }
}

/** Whether the token's `acrs` (Conditional Access authentication contexts satisfied) holds `context`. */
function hasAuthContext(principal: Principal, context: string): boolean {
  const acrs = (principal.claims as { acrs?: unknown }).acrs;
  return Array.isArray(acrs) && acrs.includes(context);
}

/** Entra's authentication context ids (Graph authContext: c1 through c99). */
const AUTH_CONTEXT = /^c([1-9]|[1-9][0-9])$/;

/** @internal A requirement checked once, when a middleware is created. */
export function validRequirement(requirement: PermissionRequirement): PermissionRequirement {
  const lists = [
    ['scopes', requirement?.scopes],
    ['appRoles', requirement?.appRoles],
    ['userRoles', requirement?.userRoles],
  ] as const;
  for (const [name, list] of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0)
      throw new InvalidOptionError(name, 'must be a non-empty list of names');
    for (const item of list) {
      if (typeof item !== 'string' || item === '' || /\s|["\\]/.test(item))
        throw new InvalidOptionError(name, `must hold names without spaces, got ${String(item)}`);
    }
  }
  if (requirement.scopes === undefined && requirement.appRoles === undefined)
    throw new InvalidOptionError('requirement', 'needs scopes or appRoles');
  const { authContext } = requirement;
  if (
    authContext !== undefined &&
    (typeof authContext !== 'string' || !AUTH_CONTEXT.test(authContext))
  )
    throw new InvalidOptionError(
      'authContext',
      `must be an authentication context id c1 to c99, got ${String(authContext)}`,
    );
  const frozen = (list: readonly string[] | undefined) => list && Object.freeze([...list]);
  return Object.freeze({
    scopes: frozen(requirement.scopes),
    appRoles: frozen(requirement.appRoles),
    userRoles: frozen(requirement.userRoles),
    authContext,
  });
}

// Permission checks on a verified principal, framework-free. Delegated scopes (`scp` of user
// tokens) and application permissions (`roles` of app-only tokens) are separate grants: a
// user's app roles never count as application permissions.
import { InsufficientScopeError, InvalidOptionError } from './errors.ts';
import { realmOf, type Principal } from './principal.ts';

/**
 * What a resource needs. A user token must carry every scope in `scopes`, an app-only token
 * every role in `appRoles`; a kind of token whose list is absent is refused.
 */
export interface PermissionRequirement {
  /** Delegated scopes, e.g. `['data.read']`. */
  scopes?: readonly string[];
  /** Application permissions (app roles granted to a client), e.g. `['Data.Read.All']`. */
  appRoles?: readonly string[];
}

/**
 * Throws InsufficientScopeError (403) unless `principal` is granted `requirement`. The
 * challenge's `scope` lists what the resource requires of this kind of token.
 *
 * @example
 * ```ts
 * const READ = { scopes: ['data.read'], appRoles: ['Data.Read.All'] };
 * checkPermission(principal, READ);
 * ```
 */
export function checkPermission(principal: Principal, requirement: PermissionRequirement): void {
  const required = principal.kind === 'user' ? requirement.scopes : requirement.appRoles;
  if (required === undefined) {
    const other = (requirement.scopes ?? requirement.appRoles) as readonly string[];
    throw new InsufficientScopeError(other, other, { realm: realmOf(principal) });
  }
  const granted = principal.kind === 'user' ? principal.scopes : principal.roles;
  for (let i = 0; i < required.length; i++) {
    if (!granted.includes(required[i] as string)) {
      throw new InsufficientScopeError(
        required,
        required.filter((r) => !granted.includes(r)),
        { realm: realmOf(principal) },
      );
    }
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
  const required = principal.kind === 'user' ? requirement.scopes : requirement.appRoles;
  if (required === undefined) return false;
  const granted = principal.kind === 'user' ? principal.scopes : principal.roles;
  return required.every((r) => granted.includes(r));
}

/** @internal A requirement checked once, when a middleware is created. */
export function validRequirement(requirement: PermissionRequirement): PermissionRequirement {
  const lists = [
    ['scopes', requirement?.scopes],
    ['appRoles', requirement?.appRoles],
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
  if (lists.every(([, list]) => list === undefined))
    throw new InvalidOptionError('requirement', 'needs scopes or appRoles');
  return Object.freeze({
    scopes: requirement.scopes && Object.freeze([...requirement.scopes]),
    appRoles: requirement.appRoles && Object.freeze([...requirement.appRoles]),
  });
}

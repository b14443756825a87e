// The verified caller, built from a token whose signature and issuer already passed. Frozen:
// the verified-token cache hands the same object to every request that reuses the token.
import type { JWTPayload } from 'jose';
import { DEFAULT_REALM, InvalidTokenError } from './errors.ts';

/**
 * Who called, as proven by a verified access token.
 *
 * @example
 * ```ts
 * const principal = await verifier.verify(token);
 * if (principal.kind === 'user') console.log(principal.scopes); // ['data.read']
 * else console.log(principal.roles); // ['Data.Read.All'] (application permissions)
 * ```
 */
export interface Principal {
  /**
   * `app`: app-only token (client credentials): `idtyp` is `app`, or, without `idtyp`, the token
   * has no `scp` and its `oid` equals its `sub`. `user`: every other token (delegated).
   */
  readonly kind: 'user' | 'app';
  /** Tenant (`tid`, lower case); for a non-Entra OIDC issuer without `tid`, the issuer. */
  readonly tenantId: string;
  /** Object id (`oid`) of the user or of the client's service principal; `sub` for OIDC issuers without `oid`. */
  readonly objectId: string;
  /** The client that requested the token (`azp`, or `appid` of v1 tokens). */
  readonly clientId: string | undefined;
  /** Delegated scopes (`scp`, split); empty for app-only tokens. Case-sensitive. */
  readonly scopes: readonly string[];
  /**
   * `roles`: application permissions of an app-only token, or the app roles assigned to the
   * user of a delegated token. The two are different grants: check `kind` before using them.
   */
  readonly roles: readonly string[];
  /** Every verified claim (deep-frozen), for what the fields above do not cover (e.g. `acrs`). */
  readonly claims: Readonly<JWTPayload>;
}

/** Rules about the subject that differ between Entra and other OIDC issuers. */
export interface SubjectRules {
  /** The tenant id of a payload whose issuer rules already passed. */
  tenantId: string;
  /** Whether `sub` may stand in for a missing `oid` (issuers that are not Entra). */
  subIsObjectId: boolean;
  realm: string;
}

/**
 * The claim rules every issuer shares: audience, the shape of `scp`/`roles`/`idtyp`, user vs
 * app, object id. The issuer-specific rules (iss, tid, ver) ran before this.
 */
export function buildPrincipal(
  p: JWTPayload,
  audiences: ReadonlySet<string>,
  subject: SubjectRules,
): Principal {
  const reject = (reason: 'wrong_audience' | 'invalid_claims', message: string) =>
    new InvalidTokenError(reason, message, { realm: subject.realm });
  const aud = p.aud;
  if (!(Array.isArray(aud) ? aud : [aud]).some((a) => typeof a === 'string' && audiences.has(a))) {
    throw reject('wrong_audience', 'The token is not meant for this API (aud)');
  }

  const { scp, roles, idtyp } = p as { scp?: unknown; roles?: unknown; idtyp?: unknown };
  if (scp !== undefined && typeof scp !== 'string') {
    throw reject('invalid_claims', 'The token scopes (scp) are not a string');
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    throw reject('invalid_claims', 'The token roles are not a list of strings');
  }
  if (idtyp !== undefined && idtyp !== 'app' && idtyp !== 'user') {
    throw reject('invalid_claims', 'The token type (idtyp) is neither user nor app');
  }
  // Entra (access-tokens, "idtyp"): the optional claim when present; without it a token is
  // app-only only when it carries no scp and its oid is its sub (the client's service principal
  // is both). Anything else is a user: a user's token with `roles` but no `scp` stays a user's.
  const kind: Principal['kind'] =
    idtyp === 'app' ||
    (idtyp === undefined && scp === undefined && typeof p.oid === 'string' && p.oid === p.sub)
      ? 'app'
      : 'user';
  if (kind === 'app' && scp !== undefined) {
    throw reject(
      'invalid_claims',
      'An app-only token (idtyp app) must not carry delegated scopes (scp)',
    );
  }
  const objectId =
    typeof p.oid === 'string' && p.oid
      ? p.oid
      : subject.subIsObjectId && typeof p.sub === 'string' && p.sub
        ? p.sub
        : undefined;
  if (!objectId) throw reject('invalid_claims', 'The token has no object id (oid)');
  const clientId =
    typeof p.azp === 'string' ? p.azp : typeof p.appid === 'string' ? p.appid : undefined;
  const principal: Principal = Object.freeze({
    kind,
    tenantId: subject.tenantId,
    objectId,
    clientId,
    scopes: Object.freeze(scp === undefined ? [] : (scp as string).split(' ').filter(Boolean)),
    roles: Object.freeze(roles === undefined ? [] : [...(roles as string[])]),
    claims: deepFreeze(p),
  });
  // Only another realm than the default costs a map entry (set once per verified token).
  if (subject.realm !== DEFAULT_REALM) realms.set(principal, subject.realm);
  return principal;
}

const realms = new WeakMap<Principal, string>();

/** The realm of the verifier that produced `principal`, for the challenges of permission checks. */
export function realmOf(principal: Principal): string {
  return realms.get(principal) ?? DEFAULT_REALM;
}

/** Freezes a JSON value and everything in it (iterative: payloads nest as deep as a token allows). */
function deepFreeze<T>(value: T): Readonly<T> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || Object.isFrozen(node)) continue;
    Object.freeze(node);
    for (const child of Object.values(node)) stack.push(child);
  }
  return value;
}

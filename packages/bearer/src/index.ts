// @koa-entra/bearer: Entra ID / OpenID Connect access-token verification with RFC 6750
// errors, and a thin Koa adapter (see README.md).
export {
  createEntraVerifier,
  entraEndpoints,
  DEFAULT_AUTHORITY,
  TENANT_ID_TEMPLATE,
  type EntraEndpoints,
  type MultiTenantSegment,
  type EntraTokenVersion,
  type EntraVerifierOptions,
} from './entra.ts';
export { createOidcVerifier, oidcDiscoveryUrl, type OidcVerifierOptions } from './oidc.ts';
export {
  MAX_TOKEN_LENGTH,
  type TokenVerifier,
  type VerifierHooks,
  type VerifierOptions,
} from './verifier.ts';
export type { Principal } from './principal.ts';
export type { SigningKeys, KeyStatus, JwksTimings, IssuerFetchEvent } from './signing-keys.ts';
export {
  BearerError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  InsufficientScopeError,
  KeysUnavailableError,
  InsufficientRoleError,
  InsufficientClaimsError,
  InvalidOptionError,
  DEFAULT_REALM,
  authContextClaimsRequest,
  type BearerErrorOptions,
  type InvalidRequestReason,
  type KeysUnavailableReason,
  type TokenRejectionReason,
} from './errors.ts';
export {
  getBearerToken,
  authorizationHeaderOf,
  tokenFromAuthorization,
  assertNoQueryToken,
  assertNoBodyToken,
  type BearerRequest,
  type RealmOption,
} from './rfc6750.ts';
export {
  checkPermission,
  hasPermission,
  type PermissionCheckOptions,
  type PermissionRequirement,
} from './permissions.ts';
export {
  entraBearer,
  requireScopes,
  requireAppRoles,
  requirePermission,
  getPrincipal,
  type BearerMiddleware,
} from './koa.ts';

// Conditional Access: policies that require multifactor authentication for an API or for an
// authentication context, the `claims` request parameter (acrs, capolids, client capabilities),
// and the claims challenge Entra answers a silent request with when a policy is not satisfied.
import type { ApiConfig, HarnessConfig, PolicyConfig, UserConfig } from './config.ts';
import { errors } from './errors.ts';
import { hasMfa, type AuthState } from './tokens.ts';

/** What a `claims` request parameter asks of the access token. */
export interface ClaimsRequest {
  /** Authentication contexts asked for (`access_token.acrs`). */
  acrs: string[];
  /** Conditional Access policy ids asked to be satisfied (`access_token.capolids`). */
  policyIds: string[];
  /** Client capabilities declared (`access_token.xms_cc`), e.g. `cp1` (MSAL's `clientCapabilities`). */
  capabilities: string[];
}

export const EMPTY_CLAIMS_REQUEST: ClaimsRequest = { acrs: [], policyIds: [], capabilities: [] };

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** `{ value }` or `{ values }` of one requested claim (OpenID Connect's claims parameter). */
function requestedValues(entry: unknown): string[] {
  if (!entry || typeof entry !== 'object') return [];
  const { value, values, Values } = entry as {
    value?: unknown;
    values?: unknown;
    Values?: unknown;
  };
  return [...(typeof value === 'string' ? [value] : []), ...strings(values), ...strings(Values)];
}

/** Parses the `claims` parameter (JSON); a malformed one is AADSTS90100. */
export function parseClaimsRequest(param: string | undefined): ClaimsRequest {
  if (param === undefined || param === '') return EMPTY_CLAIMS_REQUEST;
  let json: unknown;
  try {
    json = JSON.parse(param);
  } catch {
    throw errors.invalidClaimsParameter('It is not a JSON object.');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw errors.invalidClaimsParameter('It is not a JSON object.');
  const access = (json as { access_token?: unknown }).access_token;
  if (access === undefined || access === null) return EMPTY_CLAIMS_REQUEST;
  if (typeof access !== 'object' || Array.isArray(access))
    throw errors.invalidClaimsParameter("Its 'access_token' member is not an object.");
  const a = access as Record<string, unknown>;
  return {
    acrs: requestedValues(a.acrs),
    policyIds: requestedValues(a.capolids).map((v) => v.toLowerCase()),
    capabilities: requestedValues(a.xms_cc),
  };
}

/** Both requests together (an authorization code's and its redemption's). */
export function mergeClaimsRequests(...requests: ClaimsRequest[]): ClaimsRequest {
  const union = (pick: (r: ClaimsRequest) => string[]) => [...new Set(requests.flatMap(pick))];
  return {
    acrs: union((r) => r.acrs),
    policyIds: union((r) => r.policyIds),
    capabilities: union((r) => r.capabilities),
  };
}

const appliesTo = (policy: PolicyConfig, user: UserConfig) =>
  !policy.users || policy.users.some((u) => u.toLowerCase() === user.upn.toLowerCase());

const targetsApi = (policy: PolicyConfig, api: ApiConfig) =>
  policy.apis.some((a) => {
    const key = a.replace(/\/+$/, '').toLowerCase();
    return key === api.identifier.toLowerCase() || key === api.clientId.toLowerCase();
  });

export interface PolicyDemand {
  /** Policies targeting the requested resources that require MFA. */
  resourcePolicies: PolicyConfig[];
  /** Requested authentication contexts whose policies require MFA. */
  authContexts: string[];
  /** Requested policy ids (capolids) that require MFA. */
  requestedPolicies: PolicyConfig[];
}

/** The policies that apply to `user` asking for `apis` with `request`, each requiring MFA. */
export function policyDemand(
  config: HarnessConfig,
  user: UserConfig,
  apis: readonly ApiConfig[],
  request: ClaimsRequest,
): PolicyDemand {
  const mine = config.conditionalAccessPolicies.filter((p) => appliesTo(p, user));
  return {
    resourcePolicies: mine.filter((p) => apis.some((api) => targetsApi(p, api))),
    authContexts: request.acrs.filter((acr) =>
      mine.some((p) => p.authenticationContexts.includes(acr)),
    ),
    requestedPolicies: mine.filter((p) => request.policyIds.includes(p.id.toLowerCase())),
  };
}

export const demandsMfa = (d: PolicyDemand) =>
  d.resourcePolicies.length > 0 || d.authContexts.length > 0 || d.requestedPolicies.length > 0;

/** Whether the sign-in must ask for a second factor before it may answer. */
export function needsSecondFactor(
  config: HarnessConfig,
  user: UserConfig,
  apis: readonly ApiConfig[],
  request: ClaimsRequest,
  auth: AuthState | undefined,
): boolean {
  return demandsMfa(policyDemand(config, user, apis, request)) && !hasMfa(auth);
}

/**
 * The claims challenge for an unsatisfied demand: the policies by id (`capolids`, as Entra
 * answers for a policy on the resource) and the authentication contexts asked for (`acrs`).
 */
export function claimsChallenge(d: PolicyDemand): string {
  const access: Record<string, unknown> = {};
  const ids = [...new Set([...d.resourcePolicies, ...d.requestedPolicies].map((p) => p.id))];
  if (ids.length) access.capolids = { essential: true, values: ids };
  if (d.authContexts.length === 1) access.acrs = { essential: true, value: d.authContexts[0] };
  else if (d.authContexts.length > 1) access.acrs = { essential: true, values: d.authContexts };
  return JSON.stringify({ access_token: access });
}

/**
 * At the token endpoint (refresh token, on-behalf-of, device code): a policy the grant's sign-in
 * did not satisfy answers invalid_grant, suberror basic_action, AADSTS50076 with a claims value.
 */
export function enforceAtTokenEndpoint(
  config: HarnessConfig,
  user: UserConfig,
  api: ApiConfig,
  request: ClaimsRequest,
  auth: AuthState | undefined,
): void {
  const demand = policyDemand(config, user, [api], request);
  if (demandsMfa(demand) && !hasMfa(auth))
    throw errors.mfaRequired(api.clientId, claimsChallenge(demand));
}

/** The authentication contexts asked for that the sign-in satisfies (`acrs` of the token). */
export function satisfiedAuthContexts(
  config: HarnessConfig,
  user: UserConfig,
  request: ClaimsRequest,
  auth: AuthState | undefined,
): string[] {
  const demanded = new Set(policyDemand(config, user, [], request).authContexts);
  return request.acrs.filter((acr) => !demanded.has(acr) || hasMfa(auth));
}

// Errors in the shape Entra ID returns them: `error`, `error_description` starting with the
// AADSTS code, `error_codes`, `timestamp`, `trace_id`, `correlation_id` (+ `suberror` for consent).
import { randomUUID } from 'node:crypto';

export class EntraError extends Error {
  override name = 'EntraError';
  readonly status: number;
  readonly error: string;
  readonly code: number;
  readonly suberror: string | undefined;
  /** A claims challenge (JSON) for the interactive request that resolves this error. */
  readonly claims: string | undefined;

  constructor(
    status: number,
    error: string,
    code: number,
    description: string,
    suberror?: string,
    claims?: string,
  ) {
    super(`AADSTS${code}: ${description}`);
    this.status = status;
    this.error = error;
    this.code = code;
    this.suberror = suberror;
    this.claims = claims;
  }
}

/** `2026-11-28 20:55:01Z`, Entra's timestamp format. */
export function entraTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
  claims?: string;
}

export function errorBody(
  err: EntraError,
  correlationId: string | undefined,
  baseUrl: string,
): EntraErrorBody {
  const timestamp = entraTimestamp();
  const traceId = randomUUID();
  const correlation =
    correlationId && /^[0-9a-f-]{36}$/i.test(correlationId) ? correlationId : randomUUID();
  return {
    error: err.error,
    error_description: `${err.message} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
    error_codes: [err.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlation,
    error_uri: `${baseUrl}/error?code=${err.code}`,
    ...(err.suberror ? { suberror: err.suberror } : {}),
    ...(err.claims ? { claims: err.claims } : {}),
  };
}

// The errors the fake raises, by situation; codes and wording follow Entra's.
export const errors = {
  missingParameter: (name: string, where = 'request body') =>
    new EntraError(
      400,
      'invalid_request',
      900144,
      `The ${where} must contain the following parameter: '${name}'.`,
    ),
  malformed: (detail: string) =>
    new EntraError(
      400,
      'invalid_request',
      9002313,
      `Invalid request. Request is malformed or invalid. ${detail}`,
    ),
  tenantNotFound: (tenant: string) =>
    new EntraError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  unknownClient: (clientId: string, tenant: string) =>
    new EntraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
    ),
  missingSecret: () =>
    new EntraError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  badSecret: (clientId: string) =>
    new EntraError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  publicClientSecret: (clientId: string) =>
    new EntraError(
      401,
      'invalid_client',
      700025,
      `Client is public so neither 'client_assertion' nor 'client_secret' should be presented. App '${clientId}'.`,
    ),
  unsupportedGrant: (grant: string) =>
    new EntraError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grant}'.`,
    ),
  unsupportedResponseType: (type: string) =>
    new EntraError(
      400,
      'unsupported_response_type',
      700054,
      `response_type '${type}' is not enabled for the application.`,
    ),
  invalidScope: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope '${scope}' is not valid.`,
    ),
  multipleResources: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      28000,
      `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`,
    ),
  scopeNotInRegistration: (scope: string) =>
    new EntraError(
      400,
      'invalid_client',
      650057,
      `Invalid resource. The client has requested access to a resource which is not listed in the requested permissions in the client's application registration. Scope: '${scope}'.`,
    ),
  clientCredentialsScope: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  resourceNotFound: (resource: string, tenant: string) =>
    new EntraError(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    ),
  consentRequired: (clientId: string, clientName: string) =>
    new EntraError(
      400,
      'invalid_grant',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' named '${clientName}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    ),
  invalidCode: (detail: string) =>
    new EntraError(
      400,
      'invalid_grant',
      70000,
      `The provided value for the 'code' parameter is not valid. ${detail}`,
    ),
  crossOriginNotSpa: (origin: string) =>
    new EntraError(
      400,
      'invalid_request',
      9002326,
      `Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '${origin}'.`,
    ),
  spaNeedsCrossOrigin: () =>
    new EntraError(
      400,
      'invalid_request',
      9002327,
      "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
    ),
  spaNeedsPkce: () =>
    new EntraError(
      400,
      'invalid_request',
      9002325,
      'Proof Key for Code Exchange is required for cross-origin authorization code redemption.',
    ),
  codeRedeemed: () =>
    new EntraError(
      400,
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    ),
  codeExpired: () =>
    new EntraError(
      400,
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    ),
  pkceMismatch: () =>
    new EntraError(
      400,
      'invalid_grant',
      501481,
      'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
    ),
  redirectMismatch: () =>
    new EntraError(
      400,
      'invalid_grant',
      500112,
      'The reply address does not match the reply address provided when requesting Authorization code.',
    ),
  invalidRefreshToken: (detail: string) =>
    new EntraError(
      400,
      'invalid_grant',
      9002313,
      `Invalid request. Request is malformed or invalid. ${detail}`,
    ),
  refreshTokenExpired: () =>
    new EntraError(
      400,
      'invalid_grant',
      700082,
      'The refresh token has expired due to inactivity. The token was issued on a date beyond its lifetime.',
    ),
  redirectUriNotRegistered: (uri: string, clientId: string) =>
    new EntraError(
      400,
      'invalid_request',
      50011,
      `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`,
    ),
  loginRequired: () =>
    new EntraError(
      400,
      'login_required',
      50058,
      'A silent sign-in request was sent but no user is signed in.',
    ),
  loginHintNotSignedIn: () =>
    new EntraError(
      400,
      'login_required',
      50058,
      'A silent sign-in request was sent but none of the currently signed in user(s) match the requested login hint.',
    ),
  selectAccount: () =>
    new EntraError(
      400,
      'interaction_required',
      16000,
      'SelectUserAccount - This is an interrupt thrown by Microsoft Entra ID, which results in UI that allows the user to select from among multiple valid SSO sessions.',
    ),
  userDeclinedConsent: () =>
    new EntraError(400, 'access_denied', 65004, 'User declined to consent to access the app.'),
  notMultiTenant: (clientId: string, clientName: string) =>
    new EntraError(
      400,
      'invalid_request',
      50194,
      `Application '${clientId}'(${clientName}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.`,
    ),
  unknownInstance: () =>
    new EntraError(400, 'invalid_instance', 50049, 'Unknown or invalid instance.'),
  unavailable: () =>
    new EntraError(
      503,
      'temporarily_unavailable',
      90033,
      'A transient error has occurred. Please try again.',
    ),
  notFound: (path: string) =>
    new EntraError(
      404,
      'invalid_request',
      90010,
      `The request is not supported: no endpoint at '${path}'.`,
    ),
  // Conditional Access, grants and client assertions (fake-advanced).
  mfaRequired: (resourceAppId: string, claims: string) =>
    new EntraError(
      400,
      'invalid_grant',
      50076,
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resourceAppId}'.`,
      'basic_action',
      claims,
    ),
  invalidClaimsParameter: (detail: string) =>
    new EntraError(
      400,
      'invalid_request',
      90100,
      `The parameter 'claims' is empty or not valid. ${detail}`,
    ),
  clientAssertionType: (type: string) =>
    new EntraError(
      400,
      'invalid_request',
      9002313,
      `Invalid request. Request is malformed or invalid. The client_assertion_type '${type}' is not supported; use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.`,
    ),
  assertionKeyNotFound: (thumbprint: string, clientId: string) =>
    new EntraError(
      401,
      'invalid_client',
      700027,
      `Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.)`,
    ),
  assertionSignature: (reason: string) =>
    new EntraError(
      401,
      'invalid_client',
      700027,
      `Client assertion failed signature validation. (Reason - ${reason})`,
    ),
  assertionTime: (current: number, nbf: unknown, exp: unknown) =>
    new EntraError(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(current * 1000).toISOString()}, assertion valid from ${typeof nbf === 'number' ? new Date(nbf * 1000).toISOString() : 'unspecified'}, expiry time of assertion ${typeof exp === 'number' ? new Date(exp * 1000).toISOString() : 'unspecified'}.`,
    ),
  assertionInvalid: (detail: string) =>
    new EntraError(401, 'invalid_client', 50027, `JWT token is invalid or malformed. ${detail}`),
  assertionSubjectMismatch: () =>
    new EntraError(
      401,
      'invalid_client',
      50048,
      'Subject mismatches Issuer claim in the client assertion.',
    ),
  assertionClientMismatch: () =>
    new EntraError(
      401,
      'invalid_client',
      700021,
      "Client assertion application identifier doesn't match 'client_id' parameter.",
    ),
  oboSignature: (reason: string) =>
    new EntraError(
      400,
      'invalid_grant',
      50013,
      `Assertion failed signature validation. [Reason - ${reason}]`,
    ),
  oboInvalid: (detail: string) =>
    new EntraError(400, 'invalid_grant', 50013, `Assertion is invalid. ${detail}`),
  oboExpired: (current: number, exp: number) =>
    new EntraError(
      400,
      'invalid_grant',
      500133,
      `Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: ${new Date(current * 1000).toISOString()}, expiry time of assertion ${new Date(exp * 1000).toISOString()}.`,
    ),
  oboAudience: (audience: string, clientId: string, clientName: string) =>
    new EntraError(
      400,
      'invalid_grant',
      500131,
      `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${audience}' and the expected audience is '${clientId}' or one of the Application Uris of this application with App ID '${clientId}'(${clientName}). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.`,
    ),
  oboAppToken: (clientId: string) =>
    new EntraError(
      400,
      'invalid_grant',
      7000114,
      `Application '${clientId}' is not allowed to make application on-behalf-of calls.`,
    ),
  oboIdToken: () =>
    new EntraError(
      400,
      'invalid_grant',
      240002,
      "The id_token can't be used as urn:ietf:params:oauth:grant-type:jwt-bearer grant.",
    ),
  requestedTokenUse: (value: string) =>
    new EntraError(
      400,
      'invalid_request',
      9002313,
      `Invalid request. Request is malformed or invalid. The requested_token_use '${value}' is not supported; the on-behalf-of flow uses 'on_behalf_of'.`,
    ),
  authorizationPending: () =>
    new EntraError(
      400,
      'authorization_pending',
      70016,
      'OAuth 2.0 device flow error. Authorization is pending. Continue polling.',
    ),
  authorizationDeclined: () =>
    new EntraError(
      400,
      'authorization_declined',
      65004,
      'User declined to consent to access the app.',
    ),
  deviceCodeExpired: () =>
    new EntraError(400, 'expired_token', 70019, 'Verification code expired.'),
  badDeviceCode: (detail: string) =>
    new EntraError(
      400,
      'bad_verification_code',
      70018,
      `The provided value for the 'device_code' parameter is not valid. ${detail}`,
    ),
  deviceCodeRedeemed: () =>
    new EntraError(
      400,
      'invalid_grant',
      70000,
      "The provided value for the 'device_code' parameter is not valid. It was already redeemed.",
    ),
  methodNotAllowed: (method: string) =>
    new EntraError(
      405,
      'invalid_request',
      90056,
      `The ${method} method is not supported by this endpoint.`,
    ),
} as const;

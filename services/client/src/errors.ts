// Errors a person can act on. Each becomes a readable page (http/errors.ts maps them); `detail`
// is shown to the user, so it never carries tokens, codes or secrets.
export class PageError extends Error {
  override name = 'PageError';
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly advice: string | undefined;

  constructor(
    status: number,
    title: string,
    detail: string,
    advice?: string,
    options?: ErrorOptions,
  ) {
    super(`${title}: ${detail}`, options);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.advice = advice;
  }
}

/** Sign-in could not be completed (bad/missing state, issuer error, code redemption failed). */
export class SignInError extends PageError {
  override name = 'SignInError';
  readonly reason: string;
  constructor(reason: string, detail: string, options?: ErrorOptions) {
    super(400, 'Sign-in failed', detail, 'Start again from the home page and sign in.', options);
    this.reason = reason;
  }
}

/** What an interactive request must get from the user. */
export type InteractionNeed =
  /** Consent to a scope not granted yet (AADSTS65001, consent_required). */
  | 'consent'
  /** A stronger sign-in: a claims challenge (MFA, Conditional Access, an authentication context). */
  | 'step-up'
  /** A sign-in at all: no cached account, a refresh token expired or revoked, signed out. */
  | 'sign-in';

export interface InteractionDetails {
  need: InteractionNeed;
  /** The resource and exactly the scopes the interactive request asks for. */
  resource?: 'graph' | 'api' | undefined;
  scopes?: readonly string[] | undefined;
  /** The claims challenge (JSON) to pass on to the interactive request. */
  claims?: string | undefined;
}

/**
 * MSAL cannot get a token without the user (consent missing, a claims challenge, refresh token
 * expired/revoked, cache empty). The interaction middleware (http/errors.ts) turns it into an
 * interactive request for exactly `scopes`/`claims` and back.
 */
export class InteractionRequiredError extends Error {
  override name = 'InteractionRequiredError';
  /** The protocol reason, e.g. `invalid_grant/consent_required (AADSTS65001)`; never shown raw. */
  readonly reason: string;
  readonly need: InteractionNeed;
  readonly resource: 'graph' | 'api' | undefined;
  readonly scopes: readonly string[] | undefined;
  readonly claims: string | undefined;
  /** Set by the pending-write mechanism: the kept write to perform after the round trip. */
  pendingWrite: string | undefined;
  /** Where to come back to when the round trip does not complete (default: the page asked). */
  returnTo: string | undefined;
  constructor(
    reason: string,
    details: InteractionDetails = { need: 'sign-in' },
    options?: ErrorOptions,
  ) {
    super(`interaction required: ${reason}`, options);
    this.reason = reason;
    this.need = details.need;
    this.resource = details.resource;
    this.scopes = details.scopes;
    this.claims = details.claims;
    this.pendingWrite = undefined;
    this.returnTo = undefined;
  }
}

/** The authentication context ids (`acrs`) a claims challenge asks for, e.g. `['c1']`. */
export function authenticationContexts(claims: string | undefined): string[] {
  if (!claims) return [];
  try {
    const acrs = (
      JSON.parse(claims) as { access_token?: { acrs?: { value?: unknown; values?: unknown } } }
    ).access_token?.acrs;
    const values = [acrs?.value, ...(Array.isArray(acrs?.values) ? acrs.values : [])];
    return values.filter((v): v is string => typeof v === 'string');
  } catch {
    return [];
  }
}

/** The AADSTS codes named in an error text (`AADSTS65001: ...` → `['65001']`). */
export const aadstsCodes = (text: string | undefined): string[] =>
  [...(text ?? '').matchAll(/AADSTS(\d+)/g)].map((m) => m[1] as string);

/** Who can grant admin consent, and where (learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent). */
const WHO_GRANTS =
  'ask an administrator of your organization with the Cloud Application Administrator, Application Administrator or Privileged Role Administrator role to grant admin consent for this app (Microsoft Entra admin center › Enterprise applications › this app › Permissions › Grant admin consent), then try again.';

/**
 * The user chose Cancel on the consent page (access_denied, AADSTS65004). The app keeps the
 * user signed in; what they typed is shown so that nothing is lost.
 */
export class ConsentDeclinedError extends PageError {
  override name = 'ConsentDeclinedError';
  constructor(scopes: readonly string[], signedIn: boolean, kept?: string) {
    const named = scopes.length ? scopes.map(shortScope).join(', ') : 'a permission';
    super(
      403,
      'Permission not granted',
      signedIn
        ? `You did not give this app the permission “${named}”, so it did not do what you asked.` +
            (kept ? ` Nothing was saved; what you typed: “${kept}”.` : '')
        : `You did not give this app the permission “${named}” that it needs to sign you in.`,
      `To try again, repeat the action and choose Accept on the permission page. If the page said “Need admin approval”, only an administrator can grant it: ${WHO_GRANTS}`,
    );
  }
}

/**
 * The permission needs an administrator (AADSTS90094: admin-only scope; AADSTS90093: users may
 * not consent in this tenant). Who can grant it: learn.microsoft.com/entra/identity/enterprise-apps/grant-admin-consent
 */
export class AdminApprovalRequiredError extends PageError {
  override name = 'AdminApprovalRequiredError';
  constructor(scopes: readonly string[], code: string, kept?: string) {
    const named = scopes.length ? scopes.map(shortScope).join(', ') : 'the permissions it asks for';
    super(
      403,
      'Administrator approval needed',
      `Your organization lets only an administrator grant this app “${named}” (AADSTS${code}).` +
        (kept ? ` Nothing was saved; what you typed: “${kept}”.` : ''),
      `Only an administrator can grant it: ${WHO_GRANTS}`,
    );
  }
}

/** `api://id/data.write` → `data.write` (what people recognise on the consent page). */
const shortScope = (scope: string) => scope.slice(scope.lastIndexOf('/') + 1);

/**
 * Graph or the API answered 401 with a claims challenge (`error="insufficient_claims",
 * claims="<base64 JSON>"`): the token lacks something the resource's policy needs (an
 * authentication context, MFA, a revoked session under continuous access evaluation).
 * `withAccessToken` follows it; shown as a page only when nothing did.
 */
export class ClaimsChallengeError extends PageError {
  override name = 'ClaimsChallengeError';
  /** The decoded claims (JSON) to ask for. */
  readonly claims: string;
  constructor(service: string, claims: string) {
    const contexts = authenticationContexts(claims);
    super(
      401,
      'Additional verification required',
      contexts.length
        ? `${service} requires the authentication context ${contexts.join(', ')} for this action, and the sign-in service did not include it in the access token.`
        : `${service} asks for a stronger sign-in (a claims challenge) than the sign-in service provided.`,
      'An administrator should check the Conditional Access policy for this action (authentication context and grant controls).',
    );
    this.claims = claims;
  }
}

/**
 * Graph or the API refused the access token itself (401 invalid_token). `kind` names why, from
 * the resource's error description: a token version the API does not accept (its registration's
 * accessTokenAcceptedVersion and the API's configuration disagree), a token too large for it,
 * or anything else (revoked, wrong audience or issuer). Only `other` is worth a fresh token.
 */
export class TokenRejectedError extends PageError {
  override name = 'TokenRejectedError';
  readonly kind: 'version' | 'too_large' | 'other';
  constructor(service: string, description: string, kind: 'version' | 'too_large' | 'other') {
    const detail =
      kind === 'version'
        ? `${service} does not accept the version of the access token the sign-in service issued (${description}). The API's app registration (accessTokenAcceptedVersion in its manifest) and the API's accepted token versions must agree.`
        : kind === 'too_large'
          ? `${service} refused the access token because it is larger than it accepts (${description}); users in many groups get large tokens.`
          : `${service} refused the access token (${description || 'invalid_token'}).`;
    super(
      502,
      `${service} refused the sign-in`,
      detail,
      kind === 'other'
        ? 'Try again; if it keeps happening, an administrator should compare the API’s and the web app’s configuration (audience, issuer, tenant).'
        : 'Signing in again will not change this: an administrator must align the configuration.',
    );
    this.kind = kind;
  }
}

/** Too many sign-in starts from one client address (issue 13 W1). */
export class TooManySignInsError extends PageError {
  override name = 'TooManySignInsError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(
      429,
      'Too many sign-in attempts',
      'This network started more sign-ins than the web app allows per minute.',
      `Wait ${retryAfterSeconds} seconds, then try again.`,
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The API answered 403 insufficient_scope. */
export class InsufficientScopeError extends PageError {
  override name = 'InsufficientScopeError';
  readonly missingScopes: string[];
  constructor(missingScopes: string[], apiDescription: string | undefined) {
    const named = missingScopes.length ? missingScopes.join(' ') : 'a permission';
    super(
      403,
      'Permission missing',
      `The API refused this action because your sign-in does not include the permission “${named}”.` +
        (apiDescription ? ` (API: ${apiDescription})` : ''),
      `Ask an administrator to grant “${named}” to this app for your account (or consent to it when you sign in again), then sign out and sign in.`,
    );
    this.missingScopes = missingScopes;
  }
}

/** Graph or the API could not be reached or failed (5xx, timeout, unexpected answer). */
export class UpstreamError extends PageError {
  override name = 'UpstreamError';
  constructor(service: string, detail: string, options?: ErrorOptions) {
    super(
      502,
      `${service} is not available`,
      detail,
      'You are still signed in. Try again in a moment.',
      options,
    );
  }
}

/** A POST without a valid, unused form token (forged cross-site or replayed). */
export class ForbiddenFormError extends PageError {
  override name = 'ForbiddenFormError';
  constructor(detail: string) {
    super(
      403,
      'Form refused',
      detail,
      'Open the page again from this site and submit the form once.',
    );
  }
}

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

/** MSAL cannot get a token without the user (consent missing, refresh token expired/revoked, cache empty). */
export class InteractionRequiredError extends Error {
  override name = 'InteractionRequiredError';
  readonly reason: string;
  constructor(reason: string, options?: ErrorOptions) {
    super(`interaction required: ${reason}`, options);
    this.reason = reason;
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

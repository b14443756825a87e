// Which token a page asks for, and what the user may do with items, in one place: reads use
// the API's read permission, writes its write permission. The pages show what a user without
// the write permission can do (ask for consent) instead of a form that would fail.
import type { AuthenticationResult } from '@azure/msal-node';
import { decodeJwt, type JWTPayload } from 'jose';
import type { SignedInUser } from '../auth/authenticator.ts';
import { InteractionRequiredError } from '../errors.ts';
import type { WriteAccess } from '../views/items.ts';
import type { TokenSummary } from '../views/me.ts';
import type { RouteDeps } from './common.ts';

export const WRITE_SCOPE = 'data.write';

type User = Pick<SignedInUser, 'homeAccountId'>;

/** An API token for reading items. */
export async function readToken(deps: RouteDeps, user: User): Promise<AuthenticationResult> {
  return deps.auth.accessToken(user, 'api', deps.auth.scopes.apiRead);
}

/** An API token for writing items. */
export async function writeToken(deps: RouteDeps, user: User): Promise<AuthenticationResult> {
  return deps.auth.accessToken(user, 'api', deps.auth.scopes.apiWrite);
}

/** Calls the API with a token for reading (following a claims challenge once). */
export const withReadToken = <T>(deps: RouteDeps, user: User, use: (token: string) => Promise<T>) =>
  deps.auth.withAccessToken(user, 'api', deps.auth.scopes.apiRead, use);

/** Calls the API with a token for writing (following a claims challenge once). */
export const withWriteToken = <T>(
  deps: RouteDeps,
  user: User,
  use: (token: string) => Promise<T>,
) => deps.auth.withAccessToken(user, 'api', deps.auth.scopes.apiWrite, use);

/**
 * The scopes and roles a token carries, from its claims (decoded for display only: the
 * resource verifies it). A token that is no JWT to the app (Microsoft may encrypt or change
 * the format of tokens for its own APIs) is summarized from the token response instead.
 */
export function summarize(purpose: string, result: AuthenticationResult): TokenSummary {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(result.accessToken);
  } catch {
    claims = {};
  }
  const words = (v: unknown) =>
    typeof v === 'string' ? v.split(' ').filter(Boolean) : Array.isArray(v) ? v.map(String) : [];
  const fromResponse = result.expiresOn ? Math.floor(result.expiresOn.getTime() / 1000) : undefined;
  return {
    purpose,
    audience: Array.isArray(claims.aud) ? claims.aud.join(' ') : String(claims.aud ?? ''),
    scopes: claims.scp === undefined ? result.scopes.map(shortScope) : words(claims.scp),
    roles: words(claims.roles),
    expiresAt: claims.exp ?? fromResponse,
    issuedAt: claims.iat,
    version: typeof claims.ver === 'string' ? claims.ver : undefined,
    authenticationContexts: words(claims.acrs),
  };
}

/** The delegated permissions (scp) an access token carries, decoded for display. */
export function scopesOf(accessToken: string): string[] {
  try {
    const scp = decodeJwt(accessToken).scp;
    return typeof scp === 'string' ? scp.split(' ').filter(Boolean) : [];
  } catch {
    return [];
  }
}

/** `api://id/data.read` → `data.read`, as the token's `scp` claim names it. */
const shortScope = (scope: string) => scope.slice(scope.lastIndexOf('/') + 1);

/** The page that asks for the write permission (interactively when needed), then returns. */
export const ALLOW_WRITING_PATH = '/allow-writing';

/** Where "Allow writing" leads: an interactive request for the write permission, then back. */
export function consentUrl(returnTo: string): string {
  return `${ALLOW_WRITING_PATH}?returnTo=${encodeURIComponent(returnTo)}`;
}

/** Whether the token needs the user's consent to a permission first (AADSTS65001). */
export function isConsentMissing(error: unknown): boolean {
  return error instanceof InteractionRequiredError && error.need === 'consent';
}

/**
 * How long pages take a missing consent to the write permission as still missing, without
 * asking Entra again. Each silent request for it is a refresh-token grant at the token endpoint
 * (MSAL caches no refusal), so without this a user who has not consented would cost one failed
 * round trip to Entra on every page that shows a form. Consent given elsewhere (an admin's, or
 * in another session) shows within this time; "Allow writing" asks at once.
 */
export const CONSENT_RECHECK_MS = 5 * 60_000;

/**
 * Whether writing would work now: a write token is available silently and carries the write
 * permission. Missing consent is a state the pages show (with the button that asks for it),
 * not an error; anything else that needs the user (expired sign-in) still goes to sign-in.
 * `user` is the session's user: a missing consent is recorded on it (writeConsentMissingAt).
 */
export async function writeAccess(
  deps: RouteDeps,
  user: Pick<SignedInUser, 'homeAccountId' | 'writeConsentMissingAt'>,
  returnTo: string,
): Promise<{ access: WriteAccess; token?: AuthenticationResult }> {
  const consent: WriteAccess = {
    state: 'consent_required',
    scope: WRITE_SCOPE,
    consentUrl: consentUrl(returnTo),
  };
  const missingAt = user.writeConsentMissingAt;
  if (missingAt !== undefined && Math.abs(Date.now() - missingAt) < CONSENT_RECHECK_MS)
    return { access: consent };
  try {
    const token = await writeToken(deps, user);
    const granted = summarize('writing', token).scopes.includes(WRITE_SCOPE);
    delete user.writeConsentMissingAt;
    return granted ? { access: { state: 'granted' }, token } : { access: consent };
  } catch (error) {
    if (isConsentMissing(error)) {
      user.writeConsentMissingAt = Date.now();
      return { access: consent };
    }
    // A claims challenge (Conditional Access): the form is shown; saving steps up and comes back.
    if (error instanceof InteractionRequiredError && error.need === 'step-up')
      return { access: { state: 'step_up_required' } };
    throw error;
  }
}

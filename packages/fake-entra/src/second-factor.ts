// The second-factor step of a sign-in: when a Conditional Access policy requires multifactor
// authentication, the signed-in user approves the sign-in ("Approve sign-in", as in Microsoft
// Authenticator) before the issuer answers the app. The page posts back everything it was given
// plus SECOND_FACTOR_FIELD, so the step it interrupted continues where it was.
import type { Context } from 'koa';
import type { ClientConfig, UserConfig } from './config.ts';
import { needsSecondFactor, parseClaimsRequest } from './conditional-access.ts';
import type { Harness } from './context.ts';
import type { ResolvedScopes } from './directory.ts';
import { EntraError } from './errors.ts';
import { escapeHtml, sendPage } from './html.ts';
import type { Params } from './params.ts';
import { passwordOnly, type AuthState } from './tokens.ts';

/** The field the second-factor page posts when the user approves. */
export const SECOND_FACTOR_FIELD = 'fake_entra_second_factor';
export const SECOND_FACTOR_APPROVED = 'approved';

/** The accessible name of the approval button (tests and the browser suite press it). */
export const APPROVE_BUTTON = 'Approve sign-in';

export function secondFactorApproved(params: Record<string, string | undefined>): boolean {
  return params[SECOND_FACTOR_FIELD] === SECOND_FACTOR_APPROVED;
}

/** The sign-in after an approved second factor: `amr` gains `mfa`. */
export function withSecondFactor(auth: AuthState): AuthState {
  return {
    ...auth,
    amr: [...new Set([...auth.amr.filter((m) => m !== 'mfa'), 'mfa'])],
    authTime: Math.floor(Date.now() / 1000),
  };
}

export function sendSecondFactorPage(
  ctx: Context,
  o: {
    action: string;
    hidden: Record<string, string | undefined>;
    userName: string;
    upn: string;
    appName: string;
    backUrl?: string;
  },
): void {
  const inputs = Object.entries(o.hidden)
    .filter((e): e is [string, string] => e[1] !== undefined && e[0] !== SECOND_FACTOR_FIELD)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  sendPage(
    ctx,
    200,
    'Approve sign in request',
    `<main><h1>Approve sign in request</h1>
<p><strong>${escapeHtml(o.userName)}</strong> (${escapeHtml(o.upn)}), your organization requires a second factor to sign in to <strong>${escapeHtml(o.appName)}</strong>.</p>
<p>Fake Entra ID: approving here stands for the prompt a person answers in the Microsoft Authenticator app.</p>
<form method="post" action="${escapeHtml(o.action)}">${inputs}
<button type="submit" name="${SECOND_FACTOR_FIELD}" value="${SECOND_FACTOR_APPROVED}">${APPROVE_BUTTON}</button>
</form>${o.backUrl ? `\n<p><a href="${escapeHtml(o.backUrl)}">Back to the application</a></p>` : ''}</main>`,
  );
}

/**
 * The second-factor step of /authorize: returns how the user signed in when the sign-in may go
 * on, or undefined after sending the approval page. A silent request (prompt=none) that needs a
 * second factor is refused with interaction_required (AADSTS50076), as Entra does.
 */
export function secondFactorStep(
  ctx: Context,
  h: Harness,
  p: Params,
  client: ClientConfig,
  user: UserConfig,
  groups: readonly ResolvedScopes[],
  interactive: boolean,
): AuthState | undefined {
  const auth = passwordOnly(ctx.ip);
  const claims = parseClaimsRequest(p.claims);
  const apis = groups.map((g) => g.api);
  if (!needsSecondFactor(h.directory.config, user, apis, claims, auth)) return auth;
  if (!interactive)
    throw new EntraError(
      400,
      'interaction_required',
      50076,
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${apis[0]!.clientId}'.`,
    );
  if (secondFactorApproved(p)) return withSecondFactor(auth);
  sendSecondFactorPage(ctx, {
    action: ctx.path,
    hidden: p,
    userName: user.name,
    upn: user.upn,
    appName: client.name,
  });
  return undefined;
}

// The second-factor step of a sign-in: when a Conditional Access policy requires multifactor
// authentication, the signed-in user approves the sign-in ("Approve sign-in", as in Microsoft
// Authenticator) before the issuer answers the app. The page posts back everything it was given
// plus SECOND_FACTOR_FIELD, so the step it interrupted continues where it was.
import type { Context } from 'koa';
import { escapeHtml, sendPage } from './html.ts';
import type { AuthState } from './tokens.ts';

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

// The second-factor step of a sign-in: when a Conditional Access policy requires multifactor
// authentication (for an API asked for, or an authentication context in the `claims`
// parameter), the signed-in user approves the sign-in ("Approve sign-in", as in Microsoft
// Authenticator) before the issuer answers the app. It is the first of the sign-in steps (Entra
// authenticates before it asks for consent); the issuer session remembers the second factor, so
// later sign-ins of that account (prompt=none included) need none.
import type { Context } from 'koa';
import { needsSecondFactor, parseClaimsRequest } from './conditional-access.ts';
import { EntraError } from './errors.ts';
import { backToApp, escapeHtml, sendPage } from './html.ts';
import type { SessionAccount, SignInFlow } from './sessions.ts';
import { FIELD, type SignInRequest, type SignInStep, type StepState } from './steps.ts';
import { passwordOnly, type AuthState } from './tokens.ts';

export const SECOND_FACTOR_STEP = 'second-factor';
/** The answer the approval button posts. */
export const SECOND_FACTOR_APPROVED = 'approve';
/** The accessible name of the approval button (tests and the browser suite press it). */
export const APPROVE_BUTTON = 'Approve sign-in';

/** When each session account completed a second factor (seconds); forgotten with the account. */
const secondFactorAt = new WeakMap<SessionAccount, number>();

const now = () => Math.floor(Date.now() / 1000);

/** How the user of this sign-in authenticated: a password, and a second factor if done. */
export function authStateOf(
  account: SessionAccount | undefined,
  flow: SignInFlow | undefined,
  ipaddr: string | undefined,
): AuthState {
  const base = passwordOnly(ipaddr);
  const mfaAt = account ? secondFactorAt.get(account) : undefined;
  const done = flow?.done.includes(SECOND_FACTOR_STEP) || mfaAt !== undefined;
  return {
    ...base,
    amr: done ? ['pwd', 'mfa'] : ['pwd'],
    authTime: account?.authTime ?? base.authTime,
  };
}

/** The sign-in after an approved second factor: `amr` gains `mfa`. */
export function withSecondFactor(auth: AuthState): AuthState {
  return { ...auth, amr: [...new Set([...auth.amr.filter((m) => m !== 'mfa'), 'mfa'])] };
}

export const mfaRequiredAtSignIn = (resourceAppId: string) =>
  new EntraError(
    400,
    'interaction_required',
    50076,
    `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resourceAppId}'.`,
  );

function sessionAccount(r: SignInRequest, s: StepState): SessionAccount | undefined {
  return r.h.sessions.of(r.ctx)?.accounts.find((a) => a.userOid === s.user.oid);
}

/** The page: who signs in, to which app, and the one button that approves. */
export function secondFactorPage(
  ctx: Context,
  o: { userName: string; upn: string; appName: string; back?: { name: string; href: string } },
  form: string,
  button: { name: string; value: string },
): void {
  sendPage(
    ctx,
    200,
    'Approve sign in request',
    `<h1>Approve sign in request</h1>
<p class="muted">Signed in as ${escapeHtml(o.userName)} (${escapeHtml(o.upn)})</p>
<div class="card"><p>Your organization requires a second factor to sign in to <strong>${escapeHtml(o.appName)}</strong>.</p>
<p class="muted">Fake Entra ID: approving here stands for the prompt a person answers in the Microsoft Authenticator app.</p></div>
${form}<div class="actions"><button type="submit" name="${escapeHtml(button.name)}" value="${escapeHtml(button.value)}">${APPROVE_BUTTON}</button></div></form>`,
    o.back ? { back: o.back } : {},
  );
}

/** The sign-in step: pending while a policy asks for MFA that this sign-in has not done. */
export const secondFactorStep: SignInStep = {
  name: SECOND_FACTOR_STEP,
  pending(r, s) {
    if (s.flow.done.includes(SECOND_FACTOR_STEP)) return false;
    const auth = authStateOf(sessionAccount(r, s), s.flow, undefined);
    return needsSecondFactor(
      r.h.directory.config,
      s.user,
      r.groups.map((g) => g.api),
      parseClaimsRequest(r.params.claims),
      auth,
    );
  },
  silentError(r) {
    return mfaRequiredAtSignIn((r.groups[0]?.api ?? r.h.directory.graph())?.clientId ?? '');
  },
  render(r, s, form) {
    secondFactorPage(
      r.ctx,
      {
        userName: s.user.name,
        upn: s.user.upn,
        appName: r.client.name,
        back: backToApp(r.client.name, r.redirectUri),
      },
      form,
      { name: FIELD.answer, value: SECOND_FACTOR_APPROVED },
    );
  },
  answer(r, s, value) {
    if (value !== SECOND_FACTOR_APPROVED)
      throw new EntraError(
        400,
        'invalid_request',
        9002313,
        `Invalid request. Request is malformed or invalid. The answer '${value}' is not one this page offers.`,
      );
    const account = sessionAccount(r, s);
    if (account) secondFactorAt.set(account, now());
  },
};

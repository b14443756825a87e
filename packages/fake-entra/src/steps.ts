// The steps of an interactive sign-in after the user is known, in order: each one may need a
// page (and the user's answer) before the code is issued. Consent is the first; a step is one
// entry of SIGN_IN_STEPS (e.g. a second factor before consent, as Entra authenticates first).
import type { Context } from 'koa';
import type { ClientConfig, UserConfig } from './config.ts';
import type { Harness } from './context.ts';
import type { Permission, ResolvedScopes } from './directory.ts';
import { EntraError, errors } from './errors.ts';
import { backToApp, escapeHtml, sendPage } from './html.ts';
import type { Params } from './params.ts';
import { secondFactorStep } from './second-factor.ts';
import type { SignInFlow } from './sessions.ts';

/** Form fields of the sign-in pages (the authorize request's own parameters travel hidden). */
export const FIELD = {
  /** Sign-in page: the UPN of the user picked. */
  user: 'fake_entra_user',
  /** The signed sign-in flow (who signed in, which steps are done). */
  flow: 'fake_entra_flow',
  /** Which step's page answers. */
  step: 'fake_entra_step',
  /** The button pressed on a step's page (e.g. `accept`, `cancel`). */
  answer: 'fake_entra_answer',
} as const;

/** One authorize request, validated (client, redirect URI, scopes). */
export interface SignInRequest {
  h: Harness;
  ctx: Context;
  /** The request's own parameters (without the FIELD ones). */
  params: Params;
  client: ClientConfig;
  /** The tenant of the path; undefined for `/common` and `/organizations`. */
  pathTenant: string | undefined;
  groups: ResolvedScopes[];
  oidc: string[];
  redirectUri: string;
  prompt: string | undefined;
}

export interface StepState {
  user: UserConfig;
  flow: SignInFlow;
}

/** An error for the app that carries more response parameters than Entra's usual three. */
export class AppError extends EntraError {
  readonly extra: Record<string, string>;

  constructor(base: EntraError, extra: Record<string, string>) {
    super(base.status, base.error, base.code, base.message.replace(/^AADSTS\d+: /, ''));
    this.extra = extra;
  }
}

export interface SignInStep {
  readonly name: string;
  /** Whether this sign-in needs the step (it is not done yet and its condition holds). */
  pending(r: SignInRequest, s: StepState): boolean;
  /** The error for the app when the step needs the user but `prompt=none` forbids a page. */
  silentError(r: SignInRequest, s: StepState): EntraError;
  /** Sends the step's page; `form` opens its form (hidden fields included), close with </form>. */
  render(r: SignInRequest, s: StepState, form: string): void;
  /** Handles the answer pressed on the page; throws an EntraError to refuse the app a code. */
  answer(r: SignInRequest, s: StepState, value: string): void;
}

const permissionLabel = (p: Permission) =>
  `<li><strong>${escapeHtml(p.api.name)}</strong>: <code>${escapeHtml(p.name)}</code></li>`;

/**
 * Consent (Entra's "Permissions requested" / "Need admin approval"): requested permissions the
 * user (or an admin) has not granted the app yet. Accept records the consent; Cancel sends the
 * app `access_denied` (AADSTS65004). Admin-only permissions, or a tenant where users may not
 * consent, get the admin approval page, whose only way on is back to the app without consent.
 */
export const consentStep: SignInStep = {
  name: 'consent',
  pending(r, s) {
    if (s.flow.done.includes('consent')) return false;
    return (
      r.h.directory.consentNeeded(r.client, s.user, r.groups, r.prompt === 'consent').missing
        .length > 0
    );
  },
  silentError(r) {
    const e = errors.consentRequired(r.client.clientId, r.client.name);
    // At /authorize Entra reports it as error=consent_required.
    return new EntraError(400, 'consent_required', e.code, e.message.replace(/^AADSTS\d+: /, ''));
  },
  render(r, s, form) {
    const need = r.h.directory.consentNeeded(r.client, s.user, r.groups, r.prompt === 'consent');
    const app = escapeHtml(r.client.name);
    const org = escapeHtml(r.h.directory.tenantName(r.h.directory.userTenant(s.user)));
    const back = backToApp(r.client.name, r.redirectUri);
    const who = `<p class="muted">Signed in as ${escapeHtml(s.user.name)} (${escapeHtml(s.user.upn)})</p>`;
    if (!need.userMayConsent) {
      const code = need.adminOnly.length > 0 ? 90094 : 90093;
      const reason =
        need.adminOnly.length > 0
          ? `${app} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.`
          : `An administrator of ${org} set a policy that prevents you from granting ${app} the permissions it is requesting. Contact an administrator of ${org}, who can grant permissions to this app on your behalf.`;
      sendPage(
        r.ctx,
        200,
        'Need admin approval',
        `<h1>Need admin approval</h1>${who}
<div class="card"><p>${reason}</p>
<p>Permissions that need an admin:</p><ul class="permissions">${(need.adminOnly.length ? need.adminOnly : need.missing).map(permissionLabel).join('')}</ul>
<p class="muted">AADSTS${code}</p></div>
${form}<div class="actions"><button type="submit" class="secondary" name="${FIELD.answer}" value="cancel">Return to the application without granting consent</button></div></form>`,
        { back },
      );
      return;
    }
    sendPage(
      r.ctx,
      200,
      'Permissions requested',
      `<h1>Permissions requested</h1>${who}
<div class="card"><p><strong>${app}</strong> would like to:</p>
<ul class="permissions">${need.missing.map(permissionLabel).join('')}</ul>
<p class="muted">Accepting lets this app use these permissions for you in ${org}, until you remove them.</p></div>
${form}<div class="actions"><button type="submit" name="${FIELD.answer}" value="accept">Accept</button>
<button type="submit" class="secondary" name="${FIELD.answer}" value="cancel">Cancel</button></div></form>`,
      { back },
    );
  },
  answer(r, s, value) {
    const need = r.h.directory.consentNeeded(r.client, s.user, r.groups, r.prompt === 'consent');
    if (value === 'cancel')
      throw new AppError(errors.userDeclinedConsent(), { error_subcode: 'cancel' });
    if (value !== 'accept' || !need.userMayConsent)
      throw errors.malformed(`The answer '${value}' is not one this page offers.`);
    r.h.directory.recordConsent(r.client, s.user, need.missing);
  },
};

/** The steps after picking the user, in order. */
export const SIGN_IN_STEPS: readonly SignInStep[] = [secondFactorStep, consentStep];

// /authorize: validates the client and redirect URI (errors before that are shown as a page,
// as Entra does), finds who signs in (the issuer session for SSO and prompt=none, else the
// sign-in page), runs the sign-in steps (consent, ...) and returns a code by query, fragment
// or form_post. prompt=none never shows a page: without a session it is login_required.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ClientConfig, UserConfig } from '../config.ts';
import { SESSION_COOKIE, type Harness } from '../context.ts';
import { Directory } from '../directory.ts';
import { EntraError, entraTimestamp, errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { backToApp, escapeHtml, sendPage } from '../html.ts';
import { readParams, required, type Params } from '../params.ts';
import { setSessionCookie, type SessionAccount, type SignInFlow } from '../sessions.ts';
import {
  AppError,
  FIELD,
  SIGN_IN_STEPS,
  type SignInRequest,
  type SignInStep,
  type StepState,
} from '../steps.ts';
import { clientInfo } from '../tokens.ts';
import { authStateOf } from '../second-factor.ts';

const RESPONSE_MODES = new Set(['query', 'fragment', 'form_post']);
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const PKCE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
const OWN_FIELDS = new Set<string>(Object.values(FIELD));

function errorPage(ctx: Context, err: EntraError): void {
  sendPage(
    ctx,
    err.status,
    'Sign in - error',
    `<h1>Sorry, but we're having trouble signing you in.</h1>
<div class="card"><p><code>${escapeHtml(err.message)}</code></p>
<p class="muted">Error: <code>${escapeHtml(err.error)}</code> · Timestamp: ${escapeHtml(entraTimestamp())}</p></div>`,
    { mainClass: 'error' },
  );
}

/** Delivers response parameters to the client's redirect URI in the requested mode. */
function respond(
  ctx: Context,
  redirectUri: string,
  mode: string,
  values: Record<string, string | undefined>,
): void {
  const entries = Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined);
  if (mode === 'form_post') {
    const inputs = entries
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    sendPage(
      ctx,
      200,
      'Working...',
      `<h1>Signing you in</h1><form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript></form>`,
      { script: "addEventListener('DOMContentLoaded',()=>document.forms[0].submit());" },
    );
    return;
  }
  const url = new URL(redirectUri);
  const params = new URLSearchParams(mode === 'query' ? url.search : '');
  for (const [k, v] of entries) params.set(k, v);
  if (mode === 'query') url.search = params.toString();
  else url.hash = params.toString();
  ctx.status = 302;
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(url.toString());
}

/** Hidden inputs that carry the authorize request (and the flow) through a page's form. */
function formOpen(r: SignInRequest, extra: Record<string, string>, step: string): string {
  const hidden = Object.entries({ ...r.params, ...extra })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  return `<form method="post" action="${escapeHtml(r.ctx.path)}" data-fake-entra-step="${escapeHtml(step)}">${hidden}`;
}

/** The sign-in page: one "Sign in as {name}" button per user who may sign in here. */
function signInPage(r: SignInRequest, users: UserConfig[]): void {
  const { h, client } = r;
  const asked = h.directory.requestedPermissions(client, r.groups);
  const cards = users
    .map(
      (
        user,
      ) => `<div class="card"><h2>${escapeHtml(user.name)}</h2><p class="muted">${escapeHtml(user.upn)}</p>
<button type="submit" name="${FIELD.user}" value="${escapeHtml(user.upn)}">Sign in as ${escapeHtml(user.name)}</button></div>`,
    )
    .join('\n');
  const permissions = asked.length
    ? `<p>It asks for: ${asked.map((p) => `<code>${escapeHtml(p.name)}</code>`).join(', ')} (${[...new Set(asked.map((p) => escapeHtml(p.api.name)))].join(', ')}).</p>`
    : '';
  sendPage(
    r.ctx,
    200,
    'Sign in to your account',
    `<h1>Sign in to ${escapeHtml(client.name)}</h1>
<p>Pick an account. This fake issuer has no passwords: choosing a user signs them in.</p>${permissions}
${formOpen(r, {}, 'sign-in')}
${cards || '<p>No users are configured for this tenant.</p>'}
</form>`,
    { back: backToApp(client.name, r.redirectUri) },
  );
}

/**
 * The session account a silent or SSO sign-in uses, as Entra picks it: the one `login_hint`
 * names, else the only one signed in. `prompt=none` turns each miss into its Entra error.
 */
function ssoAccount(
  r: SignInRequest,
  accounts: SessionAccount[],
  users: UserConfig[],
): { account?: SessionAccount; error?: EntraError } {
  const eligible = accounts.filter((a) => users.some((u) => u.oid === a.userOid));
  if (eligible.length === 0) return { error: errors.loginRequired() };
  const hint = r.params.login_hint;
  if (hint) {
    const hinted = r.h.directory.userOfHint(hint, { upn: true });
    const account = hinted && eligible.find((a) => a.userOid === hinted.oid);
    return account ? { account } : { error: errors.loginHintNotSignedIn() };
  }
  if (eligible.length > 1) return { error: errors.selectAccount() };
  return { account: eligible[0] };
}

export function registerAuthorize(router: Router, h: Harness): void {
  const handler = async (ctx: Context & { params: Record<string, string> }) => {
    h.count('authorize');
    let all: Params;
    let client: ClientConfig;
    let redirectUri: string;
    // Until the redirect URI is trusted, errors are shown to the person, never redirected.
    try {
      all =
        ctx.method === 'POST'
          ? readParams((ctx.request as unknown as { body?: unknown }).body)
          : readParams(ctx.query);
      const clientId = required(all, 'client_id', 'request');
      const { tenantId } = h.directory.requireTenant(ctx.params.tenant!);
      const found = h.directory.client(clientId);
      // Unknown here, or single-tenant and of another tenant (AADSTS50194 comes after the redirect URI).
      if (
        !found ||
        (tenantId &&
          !h.directory.isMultiTenant(found) &&
          h.directory.clientTenant(found).toLowerCase() !== tenantId.toLowerCase())
      )
        throw errors.unknownClient(clientId, tenantId ?? ctx.params.tenant!);
      client = found;
      redirectUri = required(all, 'redirect_uri', 'request');
      if (!Directory.uriMatches([...client.redirectUris, ...client.spaRedirectUris], redirectUri))
        throw errors.redirectUriNotRegistered(redirectUri, client.clientId);
    } catch (error) {
      if (error instanceof EntraError) return errorPage(ctx, error);
      throw error;
    }

    const params = Object.fromEntries(Object.entries(all).filter(([k]) => !OWN_FIELDS.has(k)));
    const mode =
      params.response_mode && RESPONSE_MODES.has(params.response_mode)
        ? params.response_mode
        : 'query';
    const state = params.state;
    try {
      // A queued error is answered once the redirect URI is trusted: redirected, as Entra does.
      const queued = h.hooks.takeError('authorize', { clientId: client.clientId });
      if (queued) throw entraErrorOf(queued);
      h.directory.clientAt(client.clientId, ctx.params.tenant!); // AADSTS50194
      if (params.response_mode && !RESPONSE_MODES.has(params.response_mode))
        throw errors.malformed(`The response_mode '${params.response_mode}' is not supported.`);
      const responseType = required(params, 'response_type', 'request');
      if (responseType !== 'code') throw errors.unsupportedResponseType(responseType);
      const scope = required(params, 'scope', 'request');
      const { groups, oidc } = h.directory.resolveScopeGroups(scope);
      if (params.code_challenge !== undefined && !PKCE_CHALLENGE.test(params.code_challenge)) {
        throw errors.malformed(
          'The code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-].',
        );
      }
      const method = params.code_challenge_method ?? (params.code_challenge ? 'plain' : undefined);
      if (method !== undefined && method !== 'S256' && method !== 'plain')
        throw errors.malformed(`The code_challenge_method '${method}' is not supported; use S256.`);
      if (params.code_challenge_method && !params.code_challenge)
        throw errors.missingParameter('code_challenge', 'request');
      // A code for a single-page app is redeemed in the browser: only PKCE binds it (Entra).
      if (!params.code_challenge && Directory.uriMatches(client.spaRedirectUris, redirectUri))
        throw errors.spaNeedsPkce();
      if (params.prompt !== undefined && !PROMPTS.has(params.prompt))
        throw errors.malformed(`The prompt '${params.prompt}' is not supported.`);

      const r: SignInRequest = {
        h,
        ctx,
        params,
        client,
        pathTenant: h.directory.requireTenant(ctx.params.tenant!).tenantId,
        groups,
        oidc,
        redirectUri,
        prompt: params.prompt,
      };
      const users = h.directory.usersAt(client, r.pathTenant);
      const cookie = ctx.cookies.get(SESSION_COOKIE);
      const session = h.sessions.get(cookie);

      // 1. Who signs in: a flow posted back by a step's page, the user picked on the sign-in
      //    page, or the session's account (SSO, prompt=none); else the sign-in page.
      let flow: SignInFlow | undefined;
      let account: SessionAccount | undefined;
      const posted = ctx.method === 'POST';
      if (posted && all[FIELD.flow] !== undefined) {
        flow = h.sessions.verifyFlow(all[FIELD.flow]);
        if (!flow || flow.clientId !== client.clientId || flow.redirectUri !== redirectUri)
          throw errors.malformed('The sign-in took too long or its form was altered; start again.');
        account = session?.accounts.find((a) => a.userOid === flow!.userOid);
        // The flow belongs to the browser session it started in (Entra keeps it in its cookies).
        if (!account) throw errors.loginRequired();
      } else if (posted && all[FIELD.user] !== undefined) {
        const picked = users.find((u) => u.upn.toLowerCase() === all[FIELD.user]!.toLowerCase());
        if (!picked) throw errors.malformed(`The user '${all[FIELD.user]}' cannot sign in here.`);
        const signedIn = h.sessions.signIn(cookie, picked.oid, h.directory.userTenant(picked));
        setSessionCookie(ctx, signedIn.cookie);
        account = signedIn.account;
        flow = flowOf(account, client, redirectUri, []);
      } else {
        const sso = ssoAccount(r, session?.accounts ?? [], users);
        if (params.prompt === 'none') {
          if (sso.error) throw sso.error;
          account = sso.account!;
        } else if (sso.account && params.prompt !== 'login' && params.prompt !== 'select_account') {
          account = sso.account;
        } else {
          return signInPage(r, users);
        }
        flow = flowOf(account, client, redirectUri, []);
      }
      const user = users.find((u) => u.oid === flow!.userOid);
      if (!user) throw errors.loginRequired();
      const s: StepState = { user, flow };

      // 2. The steps (consent, ...): answer the one whose page posted, then the next pending.
      if (posted && all[FIELD.step] !== undefined && all[FIELD.step] !== 'sign-in') {
        const step = SIGN_IN_STEPS.find((x) => x.name === all[FIELD.step]);
        if (!step || flow.done.includes(step.name))
          throw errors.malformed(`The step '${all[FIELD.step]}' is not part of this sign-in.`);
        step.answer(r, s, all[FIELD.answer] ?? '');
        flow.done = [...flow.done, step.name];
      }
      const next: SignInStep | undefined = SIGN_IN_STEPS.find((x) => x.pending(r, s));
      if (next) {
        if (params.prompt === 'none') throw next.silentError(r, s);
        return next.render(
          r,
          s,
          formOpen(
            r,
            { [FIELD.flow]: h.sessions.signFlow(flow), [FIELD.step]: next.name },
            next.name,
          ),
        );
      }

      // 3. The code, bound to the client, redirect URI, PKCE challenge and session.
      const userTenant = h.directory.userTenant(user);
      account?.clients.add(client.clientId);
      const code = h.grants.codes.add('1.A', {
        clientId: client.clientId,
        redirectUri,
        userOid: user.oid,
        tenant: userTenant,
        scope,
        nonce: params.nonce,
        codeChallenge: params.code_challenge ? `${method}:${params.code_challenge}` : undefined,
        expiresAt: Date.now() + h.tokens.lifetimes.code * 1000,
        redeemed: false,
        sid: account?.sid,
        auth: authStateOf(account, flow, ctx.ip),
        claims: params.claims,
      });
      respond(ctx, redirectUri, mode, {
        code,
        client_info: params.client_info === '1' ? clientInfo(user.oid, userTenant) : undefined,
        state,
        // Entra's session_state is the session id (the sid claim, front-channel logout's sid).
        session_state: account?.sid,
      });
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      respond(ctx, redirectUri, mode, {
        error: error.error,
        error_description: `${error.message} Timestamp: ${entraTimestamp()}`,
        error_uri: `${h.baseUrl}/error?code=${error.code}`,
        ...(error instanceof AppError ? error.extra : {}),
        state,
      });
    }
  };
  router.get('/:tenant/oauth2/v2.0/authorize', handler);
  router.post('/:tenant/oauth2/v2.0/authorize', handler);
}

function flowOf(
  account: SessionAccount,
  client: ClientConfig,
  redirectUri: string,
  done: string[],
): SignInFlow {
  return {
    userOid: account.userOid,
    authTime: account.authTime,
    clientId: client.clientId,
    redirectUri,
    done,
    exp: 0,
  };
}

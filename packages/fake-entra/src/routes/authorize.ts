// /authorize: validates the client and redirect URI (errors before that are shown as a page,
// as Entra does), then signs a user in - silently with prompt=none + login_hint (or an existing
// session), or through a sign-in page listing the users and the consent state of each requested
// permission - and returns a code by query, fragment or form_post.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ClientConfig, UserConfig } from '../config.ts';
import { SESSION_COOKIE, type Harness } from '../context.ts';
import { Directory, type ResolvedScopes } from '../directory.ts';
import { EntraError, entraTimestamp, errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { escapeHtml, sendPage } from '../html.ts';
import { readParams, required, type Params } from '../params.ts';
import { clientInfo } from '../tokens.ts';
import { secondFactorStep } from '../second-factor.ts';

/** The field the sign-in page posts to say which user was picked. */
export const SIGNIN_FIELD = 'fake_entra_user';
const RESPONSE_MODES = new Set(['query', 'fragment', 'form_post']);
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const PKCE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

function errorPage(ctx: Context, err: EntraError): void {
  sendPage(
    ctx,
    err.status,
    'Sign in - error',
    `<h1>Sorry, but we're having trouble signing you in.</h1>
<p><code>${escapeHtml(err.message)}</code></p>
<p>Error: <code>${escapeHtml(err.error)}</code> · Timestamp: ${escapeHtml(entraTimestamp())}</p>`,
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
      `<form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript></form>`,
      'document.forms[0].submit();',
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

function signInPage(
  ctx: Context,
  h: Harness,
  p: Params,
  client: ClientConfig,
  tenant: string | undefined,
  groups: ResolvedScopes[],
  oidc: string[],
): void {
  const users = h.directory.usersOf(tenant);
  const requested = groups.map((g) => ({
    api: g.api,
    names:
      g.isDefault || g.names.length === 0 ? h.directory.registeredScopes(client, g.api) : g.names,
  }));
  const hidden = Object.entries(p)
    .filter(([k]) => k !== SIGNIN_FIELD)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  const cards = users
    .map((user) => {
      const rows = requested
        .flatMap(({ api, names }) => {
          const consented = h.directory.consentedScopes(user, api);
          return names.map((name) =>
            consented.includes(name)
              ? `<li>${escapeHtml(api.name)}: <code>${escapeHtml(name)}</code> <span class="ok">consented</span></li>`
              : `<li>${escapeHtml(api.name)}: <code>${escapeHtml(name)}</code> <span class="no">not consented - will not be granted</span></li>`,
          );
        })
        .join('');
      return `<div class="card"><h2>${escapeHtml(user.name)}</h2><p>${escapeHtml(user.upn)}</p>
${rows ? `<ul>${rows}</ul>` : ''}
<button type="submit" name="${SIGNIN_FIELD}" value="${escapeHtml(user.upn)}">Sign in as ${escapeHtml(user.name)}</button></div>`;
    })
    .join('\n');
  sendPage(
    ctx,
    200,
    'Sign in to your account',
    `<h1>Sign in to ${escapeHtml(client.name)}</h1>
<p>Fake Entra ID (offline test issuer). <strong>${escapeHtml(client.name)}</strong> asks for these permissions on
${requested.map((r) => `<strong>${escapeHtml(r.api.name)}</strong>`).join(', ')}${oidc.length ? ` and ${escapeHtml(oidc.join(', '))}` : ''}.</p>
<form method="post" action="${escapeHtml(ctx.path)}">${hidden}
${cards || '<p>No users are configured for this tenant.</p>'}
</form>`,
  );
}

export function registerAuthorize(router: Router, h: Harness): void {
  const handler = async (ctx: Context & { params: Record<string, string> }) => {
    h.count('authorize');
    let p: Params;
    let client: ClientConfig;
    let tenant: string | undefined;
    let redirectUri: string;
    // Until the redirect URI is trusted, errors are shown to the person, never redirected.
    try {
      p =
        ctx.method === 'POST'
          ? readParams((ctx.request as unknown as { body?: unknown }).body)
          : readParams(ctx.query);
      tenant = h.directory.requireTenant(ctx.params.tenant!).tenantId;
      const clientId = required(p, 'client_id', 'request');
      const found = h.directory.client(clientId);
      if (
        !found ||
        (tenant && h.directory.clientTenant(found).toLowerCase() !== tenant.toLowerCase())
      ) {
        throw errors.unknownClient(clientId, tenant ?? ctx.params.tenant!);
      }
      client = found;
      redirectUri = required(p, 'redirect_uri', 'request');
      if (!Directory.uriMatches(client.redirectUris, redirectUri))
        throw errors.redirectUriNotRegistered(redirectUri, client.clientId);
    } catch (error) {
      if (error instanceof EntraError) return errorPage(ctx, error);
      throw error;
    }

    const mode = p.response_mode && RESPONSE_MODES.has(p.response_mode) ? p.response_mode : 'query';
    const state = p.state;
    try {
      // A queued error is answered once the redirect URI is trusted: redirected, as Entra does.
      const queued = h.hooks.takeError('authorize', { clientId: client.clientId });
      if (queued) throw entraErrorOf(queued);
      if (p.response_mode && !RESPONSE_MODES.has(p.response_mode))
        throw errors.malformed(`The response_mode '${p.response_mode}' is not supported.`);
      const responseType = required(p, 'response_type', 'request');
      if (responseType !== 'code') throw errors.unsupportedResponseType(responseType);
      const scope = required(p, 'scope', 'request');
      const { groups, oidc } = h.directory.resolveScopeGroups(scope);
      if (p.code_challenge !== undefined && !PKCE_CHALLENGE.test(p.code_challenge)) {
        throw errors.malformed(
          'The code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-].',
        );
      }
      const method = p.code_challenge_method ?? (p.code_challenge ? 'plain' : undefined);
      if (method !== undefined && method !== 'S256' && method !== 'plain')
        throw errors.malformed(`The code_challenge_method '${method}' is not supported; use S256.`);
      if (p.code_challenge_method && !p.code_challenge)
        throw errors.missingParameter('code_challenge', 'request');
      if (p.prompt !== undefined && !PROMPTS.has(p.prompt))
        throw errors.malformed(`The prompt '${p.prompt}' is not supported.`);

      // Who signs in: the user picked on our page, or silently the login_hint / session user.
      let user: UserConfig | undefined;
      const inTenant = (u: UserConfig | undefined) =>
        u && (!tenant || h.directory.userTenant(u).toLowerCase() === tenant.toLowerCase())
          ? u
          : undefined;
      const picked = ctx.method === 'POST' ? p[SIGNIN_FIELD] : undefined;
      if (picked !== undefined) {
        user = inTenant(h.directory.user(picked));
        if (!user) throw errors.loginRequired();
      } else if (p.prompt === 'none') {
        const sessionOid = h.sessions.get(ctx.cookies.get(SESSION_COOKIE) ?? '');
        user = inTenant(h.directory.user(p.login_hint ?? sessionOid ?? ''));
        if (!user) throw errors.loginRequired();
      } else {
        return signInPage(ctx, h, p, client, tenant, groups, oidc);
      }

      try {
        // Each resource asked for needs at least one consented scope.
        for (const group of groups) h.directory.grantDelegated(client, user, group);
      } catch (error) {
        // At /authorize Entra reports missing consent as error=consent_required.
        if (error instanceof EntraError && error.suberror === 'consent_required') {
          throw new EntraError(
            400,
            'consent_required',
            error.code,
            error.message.replace(/^AADSTS\d+: /, ''),
          );
        }
        throw error;
      }
      // Conditional Access: a second factor before the code when a policy asks for one.
      const auth = secondFactorStep(ctx, h, p, client, user, groups, picked !== undefined);
      if (!auth) return;
      const userTenant = h.directory.userTenant(user);
      const code = h.grants.codes.add('1.A', {
        clientId: client.clientId,
        redirectUri,
        userOid: user.oid,
        tenant: userTenant,
        scope,
        nonce: p.nonce,
        codeChallenge: p.code_challenge ? `${method}:${p.code_challenge}` : undefined,
        expiresAt: Date.now() + h.tokens.lifetimes.code * 1000,
        redeemed: false,
        auth,
        claims: p.claims,
      });
      // A new session id at every sign-in (no fixation); the map is bounded, oldest first out.
      h.sessions.delete(ctx.cookies.get(SESSION_COOKIE) ?? '');
      if (h.sessions.size >= 10_000) h.sessions.delete(h.sessions.keys().next().value!);
      const sessionId = randomBytes(24).toString('base64url');
      h.sessions.set(sessionId, user.oid);
      ctx.cookies.set(SESSION_COOKIE, sessionId, {
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
        overwrite: true,
      });
      respond(ctx, redirectUri, mode, {
        code,
        client_info: p.client_info === '1' ? clientInfo(user.oid, userTenant) : undefined,
        state,
        session_state: randomUUID(),
      });
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      respond(ctx, redirectUri, mode, {
        error: error.error,
        error_description: `${error.message} Timestamp: ${entraTimestamp()}`,
        error_uri: `${h.baseUrl}/error?code=${error.code}`,
        state,
      });
    }
  };
  router.get('/:tenant/oauth2/v2.0/authorize', handler);
  router.post('/:tenant/oauth2/v2.0/authorize', handler);
}

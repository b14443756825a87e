// /logout (Entra's end_session_endpoint): signs one account out of the issuer session - the
// one `logout_hint` names (the value of the login_hint optional claim), else the one the user
// picks - then shows "You signed out", loads the front-channel logout URL of every app that
// account signed in to in this browser (with ?sid=) in frames, and afterwards sends the browser
// to post_logout_redirect_uri when it is one of the app's registered redirect URIs.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { decodeJwt } from 'jose';
import type { ClientConfig } from '../config.ts';
import { SESSION_COOKIE, type Harness } from '../context.ts';
import { Directory } from '../directory.ts';
import { EntraError, errors } from '../errors.ts';
import { entraErrorOf } from '../hooks.ts';
import { backToApp, escapeHtml, sendPage } from '../html.ts';
import { readParams, type Params } from '../params.ts';
import { clearSessionCookie, type SessionAccount } from '../sessions.ts';

/** The field of the account picker: the oid of the account to sign out. */
export const SIGNOUT_FIELD = 'fake_entra_signout';
/** How long the sign-out page waits for the front-channel frames before it moves on. */
const FRAME_WAIT_MS = 5000;

function clientOf(h: Harness, p: Params): ClientConfig | undefined {
  if (p.client_id) return h.directory.client(p.client_id);
  if (p.id_token_hint) {
    try {
      const aud = decodeJwt(p.id_token_hint).aud;
      return h.directory.client(String(Array.isArray(aud) ? aud[0] : aud));
    } catch {
      throw errors.malformed('The id_token_hint is not a JWT.');
    }
  }
  return undefined;
}

// Waits for every front-channel frame to load (or FRAME_WAIT_MS), then follows the return link.
const AFTER_FRAMES = `(()=>{let left=-1,gone=false;const go=()=>{if(gone)return;gone=true;const a=document.getElementById('post-logout-redirect');if(a)location.replace(a.href)};
addEventListener('load',e=>{if(e.target instanceof HTMLIFrameElement&&--left===0)go()},true);
addEventListener('DOMContentLoaded',()=>{left=document.querySelectorAll('iframe.fcl').length;if(left===0)go();setTimeout(go,${FRAME_WAIT_MS})})})();`;

export function registerLogout(router: Router, h: Harness): void {
  const handler = (ctx: Context & { params: Record<string, string> }) => {
    h.count('logout');
    try {
      h.directory.requireTenant(ctx.params.tenant!);
      const all =
        ctx.method === 'POST'
          ? readParams((ctx.request as unknown as { body?: unknown }).body)
          : readParams(ctx.query);
      const p = Object.fromEntries(Object.entries(all).filter(([k]) => k !== SIGNOUT_FIELD));
      const queued = h.hooks.takeError('logout', { clientId: p.client_id });
      if (queued) throw entraErrorOf(queued);
      const initiator = clientOf(h, p);
      const cookie = ctx.cookies.get(SESSION_COOKIE);
      const session = h.sessions.get(cookie);
      const accounts = session?.accounts ?? [];

      // Which account: the one logout_hint names (the login_hint claim, never a UPN), the one
      // picked on the account picker, or the user picks (Entra's "Pick an account").
      let account: SessionAccount | undefined;
      const picked = all[SIGNOUT_FIELD];
      if (picked !== undefined && ctx.method === 'POST') {
        account = accounts.find((a) => a.userOid === picked);
      } else if (p.logout_hint) {
        const hinted = h.directory.userOfHint(p.logout_hint, { upn: false });
        account = hinted && accounts.find((a) => a.userOid === hinted.oid);
      }
      if (!account && accounts.length > 0) return accountPicker(ctx, h, p, accounts, initiator);

      // Sign the account out; the apps it signed in to here get their front-channel call.
      const frames: { url: string; app: string }[] = [];
      if (account && cookie) {
        h.sessions.signOut(cookie, account);
        for (const clientId of account.clients) {
          const app = h.directory.client(clientId);
          if (!app?.frontChannelLogoutUrl) continue;
          const url = new URL(app.frontChannelLogoutUrl);
          url.searchParams.set('sid', account.sid);
          frames.push({ url: url.toString(), app: app.name });
        }
        if (!h.sessions.get(cookie)) clearSessionCookie(ctx);
      }

      // Where to afterwards: a redirect URI of the app that asked (client_id or id_token_hint),
      // or else of an app the account signed in to; and only after a session was signed out.
      const target = p.post_logout_redirect_uri;
      const candidates = initiator
        ? [initiator]
        : [...(account?.clients ?? [])].flatMap((id) => h.directory.client(id) ?? []);
      const returnTo = target
        ? candidates.find((c) => Directory.uriMatches(c.redirectUris, target))
        : undefined;
      const registered = Boolean(target && returnTo);
      let returnLink = '';
      if (registered && account) {
        const url = new URL(target!);
        if (p.state) url.searchParams.set('state', p.state);
        returnLink = `<p><a id="post-logout-redirect" href="${escapeHtml(url.toString())}">Return to ${escapeHtml(returnTo!.name)}</a></p>`;
      }
      const notRegistered =
        target && !registered
          ? `<p>The post_logout_redirect_uri <code>${escapeHtml(target)}</code> is not a redirect URI of ${
              initiator
                ? `the application <code>${escapeHtml(initiator.clientId)}</code>`
                : 'an application you signed in to'
            }, so you are not sent back.</p>`
          : '';
      const frameHtml = frames
        .map(
          (f) =>
            `<iframe class="fcl" src="${escapeHtml(f.url)}" title="Signing you out of ${escapeHtml(f.app)}"></iframe>`,
        )
        .join('');
      const app = returnTo ?? initiator;
      return sendPage(
        ctx,
        target && !registered ? 400 : 200,
        'Sign out',
        `<h1>You signed out of your account</h1>
<div class="card"><p>It's a good idea to close all browser windows.</p>${notRegistered}${returnLink}</div>${frameHtml}`,
        {
          script: returnLink ? AFTER_FRAMES : undefined,
          frameOrigins: [...new Set(frames.map((f) => new URL(f.url).origin))],
          back:
            app && app.redirectUris[0] && !returnLink
              ? backToApp(app.name, registered ? target! : app.redirectUris[0])
              : undefined,
        },
      );
    } catch (error) {
      if (!(error instanceof EntraError)) throw error;
      return sendPage(
        ctx,
        error.status,
        'Sign out - error',
        `<h1>Sign out failed</h1><div class="card"><p><code>${escapeHtml(error.message)}</code></p></div>`,
        { mainClass: 'error' },
      );
    }
  };
  router.get('/:tenant/oauth2/v2.0/logout', handler);
  router.post('/:tenant/oauth2/v2.0/logout', handler);
}

/** Entra's "Pick an account": which of the session's accounts to sign out. */
function accountPicker(
  ctx: Context,
  h: Harness,
  p: Params,
  accounts: SessionAccount[],
  initiator: ClientConfig | undefined,
): void {
  const hidden = Object.entries(p)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  const cards = accounts
    .map((a) => {
      const user = h.directory.user(a.userOid);
      const name = user?.name ?? a.userOid;
      return `<div class="card"><h2>${escapeHtml(name)}</h2><p class="muted">${escapeHtml(user?.upn ?? '')}</p>
<button type="submit" name="${SIGNOUT_FIELD}" value="${escapeHtml(a.userOid)}">Sign out ${escapeHtml(name)}</button></div>`;
    })
    .join('\n');
  sendPage(
    ctx,
    200,
    'Sign out',
    `<h1>Pick an account</h1><p>Which account do you want to sign out of?</p>
<form method="post" action="${escapeHtml(ctx.path)}" data-fake-entra-step="sign-out">${hidden}
${cards}
</form>`,
    {
      back:
        initiator && initiator.redirectUris[0]
          ? backToApp(initiator.name, initiator.redirectUris[0])
          : undefined,
    },
  );
}

// Sign-out at the HTTP level: post_logout_redirect_uri must be one of the app's redirect URIs;
// logout_hint (the login_hint optional claim, never a UPN) skips the account picker; the
// sign-out page frames the front-channel logout URL of every app the account signed in to in
// this browser, with ?sid=, and only then returns to the app, and only after a session ended.
// (tests/pages.test.ts runs the frames in a real browser.)
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra, loadConfig } from '../src/index.ts';

const T = DEFAULTS.tenantId;
const REDIRECT = 'http://localhost:4324/auth/redirect';
const HOME = 'http://localhost:4324/';
const { alice, bob } = DEFAULTS.users;

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake.close();
});

/** Signs `upn` in to the web app on the page; returns the session cookie, sid and login_hint claim. */
async function signedIn(upn: string, cookie?: string) {
  const url = `${fake.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile',
    prompt: 'login',
  })}`;
  const answer = await fake.completeSignIn(url, upn, { cookie });
  const res = await fetch(`${fake.authority()}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      client_secret: DEFAULTS.webClientSecret,
      grant_type: 'authorization_code',
      code: answer.params.code!,
      redirect_uri: REDIRECT,
    }),
  });
  const id = decodeJwt(((await res.json()) as { id_token: string }).id_token);
  return { cookie: answer.cookie!, sid: String(id.sid), loginHint: String(id.login_hint) };
}

const logout = (params: Record<string, string>, cookie?: string, method = 'GET') => {
  const query = new URLSearchParams(params);
  const url = `${fake.publicUrl}/${T}/oauth2/v2.0/logout`;
  return method === 'GET'
    ? fetch(`${url}?${query}`, { redirect: 'manual', headers: cookie ? { cookie } : {} })
    : fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: cookie ? { cookie } : {},
        body: query,
      });
};

const stillSignedIn = async (cookie: string, upn: string) => {
  const res = await fetch(
    `${fake.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      prompt: 'none',
      login_hint: upn,
    })}`,
    { redirect: 'manual', headers: { cookie } },
  );
  return new URL(res.headers.get('location')!).searchParams.get('code') !== null;
};

describe('sign-out', () => {
  test('logout_hint signs that account out: frames with ?sid=, then back to the registered redirect URI', async () => {
    const { cookie, sid, loginHint } = await signedIn(alice.upn);
    const res = await logout(
      { post_logout_redirect_uri: HOME, logout_hint: loginHint, state: 'bye' },
      cookie,
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>You signed out of your account</h1>');
    const frames = [...html.matchAll(/<iframe class="fcl" src="([^"]*)" title="([^"]*)">/g)];
    expect(frames.map((m) => m[1]!.replace(/&amp;/g, '&'))).toEqual([
      `${DEFAULTS.webFrontChannelLogoutUrl}?sid=${sid}`,
    ]);
    expect(frames[0]![2]).toBe('Signing you out of koa-entra web app');
    expect(res.headers.get('content-security-policy')).toMatch(
      /frame-src http:\/\/localhost:5001;/,
    );
    expect(html).toContain(
      `<a id="post-logout-redirect" href="${HOME}?state=bye">Return to koa-entra web app</a>`,
    );
    expect(html).toMatch(/<script nonce="[^"]+">[\s\S]*location\.replace/);
    expect(await stillSignedIn(cookie, alice.upn)).toBe(false);
  });

  test('without logout_hint (or with a UPN) the user picks the account on "Pick an account"', async () => {
    const first = await signedIn(alice.upn);
    const both = await signedIn(bob.upn, first.cookie);
    for (const params of [{}, { logout_hint: bob.upn }] as Record<string, string>[]) {
      const res = await logout({ post_logout_redirect_uri: HOME, ...params }, both.cookie);
      const html = await res.text();
      expect(html).toContain('<h1>Pick an account</h1>');
      expect(html).toContain('>Sign out Alice Example</button>');
      expect(html).toContain('>Sign out Bob Example</button>');
    }
    const picked = await logout(
      { post_logout_redirect_uri: HOME, fake_entra_signout: DEFAULTS.users.bob.oid },
      both.cookie,
      'POST',
    );
    const html = await picked.text();
    expect(html).toContain(`?sid=${both.sid}`);
    expect(html).not.toContain(first.sid);
    // bob is signed out; alice stays signed in in this browser.
    expect(await stillSignedIn(both.cookie, bob.upn)).toBe(false);
    expect(await stillSignedIn(both.cookie, alice.upn)).toBe(true);
  });

  test('a post_logout_redirect_uri that is not a redirect URI of the app is never followed', async () => {
    const { cookie, loginHint } = await signedIn(alice.upn);
    for (const target of ['http://localhost:5001/other', 'http://evil.example/']) {
      const res = await logout(
        {
          post_logout_redirect_uri: target,
          logout_hint: loginHint,
          client_id: DEFAULTS.webClientId,
        },
        cookie,
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      const html = await res.text();
      expect(html).toContain('is not a redirect URI of the application');
      expect(html).not.toContain('id="post-logout-redirect"');
    }
  });

  test('without an issuer session there is nothing to sign out and no return (as MSAL documents)', async () => {
    const res = await logout({
      post_logout_redirect_uri: HOME,
      client_id: DEFAULTS.webClientId,
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>You signed out of your account</h1>');
    expect(html).not.toContain('id="post-logout-redirect"');
    expect(html).not.toContain('<iframe');
    // A way back to the app all the same.
    expect(html).toContain('<a href="http://localhost:4324/">Back to koa-entra web app</a>');
  });

  test("the ID token's login_hint is opaque and names the user; apps that do not ask for it get none", async () => {
    const { loginHint } = await signedIn(alice.upn);
    expect(loginHint).toMatch(/^O\.[A-Za-z0-9+/]+=*$/);
    expect(loginHint).not.toContain(alice.upn);
    const f = await FakeEntra.start({
      config: {
        ...loadConfig(),
        clients: [
          {
            name: 'plain app',
            clientId: DEFAULTS.webClientId,
            secret: DEFAULTS.webClientSecret,
            redirectUris: [REDIRECT],
            permissions: [],
          },
        ],
      },
    });
    try {
      const answer = await f.completeSignIn(
        `${f.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
          client_id: DEFAULTS.webClientId,
          response_type: 'code',
          redirect_uri: REDIRECT,
          scope: 'openid',
        })}`,
        alice.upn,
      );
      const res = await fetch(`${f.authority()}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          client_id: DEFAULTS.webClientId,
          client_secret: DEFAULTS.webClientSecret,
          grant_type: 'authorization_code',
          code: answer.params.code!,
          redirect_uri: REDIRECT,
        }),
      });
      const id = decodeJwt(((await res.json()) as { id_token: string }).id_token);
      expect(id.login_hint).toBeUndefined();
      expect(id.sid).toBe(answer.params.session_state);
    } finally {
      await f.close();
    }
  });
});

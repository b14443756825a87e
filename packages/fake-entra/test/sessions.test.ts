// Silent sign-in and SSO: prompt=none needs an issuer session (AADSTS50058 otherwise, whatever
// login_hint says); with a session, login_hint picks among its accounts (a UPN or the login_hint
// claim), several accounts without a hint are AADSTS16000; interactive requests reuse a single
// session account unless prompt=login/select_account. Tests open sessions with the harness
// (openSession, POST /_harness/sessions), which exists over HTTP only when enabled.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const T = DEFAULTS.tenantId;
const REDIRECT = 'http://localhost:4323/auth/redirect';
const { alice, bob, carol } = DEFAULTS.users;

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake.close();
});

function authorizeUrl(params: Record<string, string>, f: FakeEntra = fake): string {
  return `${f.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile User.Read',
    state: 'st',
    ...params,
  })}`;
}

async function silent(params: Record<string, string>, cookie?: string) {
  const res = await fetch(authorizeUrl({ prompt: 'none', ...params }), {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!).searchParams;
}

async function idTokenOf(code: string) {
  const res = await fetch(`${fake.authority()}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      client_secret: DEFAULTS.webClientSecret,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
    }),
  });
  return decodeJwt(((await res.json()) as { id_token: string }).id_token);
}

describe('prompt=none', () => {
  test('without an issuer session: login_required (AADSTS50058), with or without login_hint', async () => {
    const hints: Record<string, string>[] = [
      {},
      { login_hint: alice.upn },
      { login_hint: 'mallory@contoso.test' },
    ];
    for (const hint of hints) {
      const p = await silent(hint);
      expect(p.get('error')).toBe('login_required');
      expect(p.get('error_description')).toMatch(
        /^AADSTS50058: A silent sign-in request was sent but no user is signed in\./,
      );
      expect(p.get('state')).toBe('st');
      expect(p.get('code')).toBeNull();
    }
  });

  test('with a session: the signed-in user; a login_hint naming someone else is login_required', async () => {
    const { cookie, sid } = fake.openSession(alice.upn);
    const p = await silent({}, cookie);
    expect(p.get('session_state')).toBe(sid);
    const id = await idTokenOf(p.get('code')!);
    expect(id).toMatchObject({ preferred_username: alice.upn, sid });
    const other = await silent({ login_hint: bob.upn }, cookie);
    expect(other.get('error')).toBe('login_required');
    expect(other.get('error_description')).toMatch(
      /^AADSTS50058: A silent sign-in request was sent but none of the currently signed in user\(s\) match the requested login hint\./,
    );
  });

  test('with two accounts: login_hint picks one (UPN or login_hint claim); no hint is AADSTS16000', async () => {
    const first = fake.openSession(alice.upn);
    const both = fake.openSession(bob.upn, { cookie: first.cookie });
    expect(both.sid).not.toBe(first.sid);
    const none = await silent({}, both.cookie);
    expect(none.get('error')).toBe('interaction_required');
    expect(none.get('error_description')).toMatch(/^AADSTS16000: /);
    const byUpn = await idTokenOf(
      (await silent({ login_hint: alice.upn }, both.cookie)).get('code')!,
    );
    expect(byUpn.preferred_username).toBe(alice.upn);
    // The login_hint claim of an earlier ID token (the web app asks for it as optional claim).
    const hint = byUpn.login_hint as string;
    expect(hint).toMatch(/^O\./);
    const byClaim = await silent({ login_hint: hint }, both.cookie);
    expect((await idTokenOf(byClaim.get('code')!)).preferred_username).toBe(alice.upn);
    // The first session cookie was replaced (a new value at every sign-in).
    expect((await silent({}, first.cookie)).get('error')).toBe('login_required');
  });

  test('a session account of another tenant does not sign in to a single-tenant app', async () => {
    const { cookie } = fake.openSession(carol.upn);
    expect((await silent({}, cookie)).get('error')).toBe('login_required');
  });
});

describe('interactive requests with a session', () => {
  test('reuse the only session account without a page (SSO); prompt=login and select_account show the page', async () => {
    const { cookie } = fake.openSession(alice.upn);
    const sso = await fetch(authorizeUrl({}), { redirect: 'manual', headers: { cookie } });
    expect(sso.status).toBe(302);
    expect(new URL(sso.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    for (const prompt of ['login', 'select_account']) {
      const page = await fetch(authorizeUrl({ prompt }), { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Sign in as Alice Example');
    }
    const answer = await fake.completeSignIn(authorizeUrl({}), alice.upn, { cookie });
    expect(answer.pages).toEqual([]);
    expect(answer.params.code).toBeTruthy();
  });

  test('completeSignIn hands back the issuer session it signed in, for SSO afterwards', async () => {
    const answer = await fake.completeSignIn(authorizeUrl({}), bob.upn);
    expect(answer.cookie).toMatch(/^fake_entra_session=/);
    const p = await silent({}, answer.cookie);
    expect(p.get('code')).toBeTruthy();
    expect(p.get('session_state')).toBe(answer.params.session_state);
  });
});

describe('harness sessions over HTTP', () => {
  test('POST /_harness/sessions opens one when the harness is enabled, and does not exist otherwise', async () => {
    const off = await fetch(`${fake.baseUrl}/_harness/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upn: alice.upn }),
    });
    expect(off.status).toBe(404);

    const on = await FakeEntra.start({ enableHarness: true });
    try {
      const post = (body: unknown) =>
        fetch(`${on.baseUrl}/_harness/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const res = await post({ upn: alice.upn });
      expect(res.status).toBe(201);
      const opened = (await res.json()) as { cookie: string; sid: string; upn: string };
      expect(opened).toMatchObject({ name: 'fake_entra_session', upn: alice.upn });
      const silentRes = await fetch(authorizeUrl({ prompt: 'none' }, on), {
        redirect: 'manual',
        headers: { cookie: opened.cookie },
      });
      expect(new URL(silentRes.headers.get('location')!).searchParams.get('session_state')).toBe(
        opened.sid,
      );
      const unknown = await post({ upn: 'mallory@contoso.test' });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error_description: string }).error_description).toMatch(
        /openSession: no configured user "mallory@contoso.test"/,
      );
      const bad = await post({ user: alice.upn });
      expect(bad.status).toBe(400);
    } finally {
      await on.close();
    }
  });

  test('openSession names an unknown user', () => {
    expect(() => fake.openSession('mallory@contoso.test')).toThrow(
      'openSession: no configured user "mallory@contoso.test"',
    );
  });
});

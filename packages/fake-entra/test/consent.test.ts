// Consent at the HTTP level: Entra never narrows a grant. The consent page asks for exactly
// the missing permissions (Accept / Cancel); admin-only scopes and tenants where users may not
// consent get "Need admin approval"; prompt=consent asks again; admin consent and per-app
// consent come from the configuration; the token endpoint answers consent_required.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra, type FakeEntraConfig } from '../src/index.ts';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE } from '../src/index.ts';

const T = DEFAULTS.tenantId;
const API = DEFAULTS.apiIdentifier;
const REDIRECT = 'http://localhost:4322/auth/redirect';
const web = { client_id: DEFAULTS.webClientId, client_secret: DEFAULTS.webClientSecret };

const defaults = (): FakeEntraConfig =>
  JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as FakeEntraConfig;

function authorizeUrl(f: FakeEntra, params: Record<string, string>): string {
  const query = new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    state: 'st',
    ...params,
  });
  return `${f.publicUrl}/${T}/oauth2/v2.0/authorize?${query}`;
}

async function redeem(f: FakeEntra, code: string, scope?: string) {
  const res = await fetch(`${f.authority()}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      ...web,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      ...(scope ? { scope } : {}),
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** The consent page a user gets after signing in on the page (the form's step and its text). */
async function pageAfterSignIn(f: FakeEntra, url: string, upn: string) {
  const first = await fetch(url);
  const html = await first.text();
  const hidden = Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
      m[1]!,
      m[2]!.replace(/&amp;/g, '&'),
    ]),
  );
  const res = await fetch(new URL(url).origin + new URL(url).pathname, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ ...hidden, fake_entra_user: upn }),
  });
  return { status: res.status, html: await res.text() };
}

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake.close();
});

describe('the consent page', () => {
  test('asks bob for exactly what he has not consented to, with Accept and Cancel', async () => {
    const { status, html } = await pageAfterSignIn(
      fake,
      authorizeUrl(fake, { scope: `openid User.Read ${API}/data.read ${API}/data.write` }),
      'bob@contoso.test',
    );
    expect(status).toBe(200);
    expect(html).toContain('<h1>Permissions requested</h1>');
    expect(html).toContain('data-fake-entra-step="consent"');
    const listed = [...html.matchAll(/<li><strong>([^<]*)<\/strong>: <code>([^<]*)<\/code>/g)].map(
      (m) => `${m[1]}/${m[2]}`,
    );
    expect(listed).toEqual(['koa-entra API/data.write']);
    expect(html).toMatch(/<button type="submit" name="fake_entra_answer" value="accept">Accept</);
    expect(html).toMatch(/value="cancel">Cancel</);
    // A way back to the app: its redirect URI's origin.
    expect(html).toContain('<a href="http://localhost:4322/">Back to koa-entra web app</a>');
  });

  test('Accept records the consent for bob and this app only, for the process lifetime', async () => {
    const f = await FakeEntra.start();
    try {
      const url = authorizeUrl(f, { scope: `offline_access ${API}/data.write` });
      const answer = await f.completeSignIn(url, 'bob@contoso.test');
      expect(answer.pages).toEqual(['sign-in', 'consent']);
      const token = await redeem(f, answer.params.code!);
      expect(decodeJwt(token.body.access_token!).scp).toBe('data.write');
      // Now silent works for bob (his session), and the next interactive sign-in asks nothing.
      const silent = await fetch(authorizeUrl(f, { scope: `${API}/data.write`, prompt: 'none' }), {
        redirect: 'manual',
        headers: { cookie: answer.cookie! },
      });
      expect(new URL(silent.headers.get('location')!).searchParams.get('code')).toBeTruthy();
      expect((await f.completeSignIn(url, 'bob@contoso.test')).pages).toEqual(['sign-in']);
      // Another fresh issuer knows nothing of it (consent lives in this process).
      const other = await FakeEntra.start();
      try {
        const again = await other.completeSignIn(
          authorizeUrl(other, { scope: `${API}/data.write` }),
          'bob@contoso.test',
        );
        expect(again.pages).toEqual(['sign-in', 'consent']);
      } finally {
        await other.close();
      }
    } finally {
      await f.close();
    }
  });

  test('Cancel sends access_denied, AADSTS65004, error_subcode=cancel and the state to the redirect URI', async () => {
    const answer = await fake.completeSignIn(
      authorizeUrl(fake, { scope: `${API}/data.write`, response_mode: 'fragment' }),
      'bob@contoso.test',
      { consent: 'cancel' },
    );
    expect(answer.responseMode).toBe('fragment');
    expect(answer.params).toMatchObject({
      error: 'access_denied',
      error_subcode: 'cancel',
      state: 'st',
    });
    expect(answer.params.error_description).toMatch(
      /^AADSTS65004: User declined to consent to access the app\./,
    );
    expect(answer.params.code).toBeUndefined();
  });

  test('prompt=consent asks again for everything requested, even when consented', async () => {
    const answer = await fake.completeSignIn(
      authorizeUrl(fake, { scope: `${API}/data.read`, prompt: 'consent' }),
      'alice@contoso.test',
    );
    expect(answer.pages).toEqual(['sign-in', 'consent']);
    expect(answer.params.code).toBeTruthy();
  });

  test('a forged or foreign flow is refused, never signing anyone in', async () => {
    const url = authorizeUrl(fake, { scope: `${API}/data.write` });
    const res = await fetch(new URL(url).origin + new URL(url).pathname, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({
        ...Object.fromEntries(new URL(url).searchParams),
        fake_entra_flow: 'eyJ1c2VyT2lkIjoiYSJ9.forged',
        fake_entra_step: 'consent',
        fake_entra_answer: 'accept',
      }),
    });
    const params = new URL(res.headers.get('location')!).searchParams;
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('code')).toBeNull();
  });
});

describe('admin approval', () => {
  test('an admin-only scope gets "Need admin approval" (AADSTS90094); leaving sends access_denied', async () => {
    const { html } = await pageAfterSignIn(
      fake,
      authorizeUrl(fake, { scope: 'User.Read.All' }),
      'alice@contoso.test',
    );
    expect(html).toContain('<h1>Need admin approval</h1>');
    expect(html).toContain('only an admin can grant');
    expect(html).toContain('AADSTS90094');
    expect(html).not.toMatch(/value="accept"/);
    expect(html).toMatch(/value="cancel">Return to the application without granting consent</);
    await expect(
      fake.completeSignIn(authorizeUrl(fake, { scope: 'User.Read.All' }), 'alice@contoso.test'),
    ).rejects.toThrow(
      'completeSignIn: the page "Need admin approval" offers no "accept" (it offers: cancel "Return to the application without granting consent")',
    );
    const left = await fake.completeSignIn(
      authorizeUrl(fake, { scope: 'User.Read.All' }),
      'alice@contoso.test',
      { consent: 'cancel' },
    );
    expect(left.params).toMatchObject({ error: 'access_denied', error_subcode: 'cancel' });
    expect(left.params.error_description).toMatch(/^AADSTS65004: /);
  });

  test('in a tenant where users may not consent, any missing consent needs an admin (AADSTS90093)', async () => {
    const config = defaults();
    config.tenants[0]!.usersCanConsent = false;
    const f = await FakeEntra.start({ config });
    try {
      const { html } = await pageAfterSignIn(
        f,
        authorizeUrl(f, { scope: `${API}/data.write` }),
        'bob@contoso.test',
      );
      expect(html).toContain('<h1>Need admin approval</h1>');
      expect(html).toContain('AADSTS90093');
      expect(html).toContain('An administrator of Contoso set a policy');
      // What bob consented to before still works without a page.
      const ok = await f.completeSignIn(
        authorizeUrl(f, { scope: `${API}/data.read` }),
        'bob@contoso.test',
      );
      expect(ok.pages).toEqual(['sign-in']);
    } finally {
      await f.close();
    }
  });

  test("a tenant's admin consent grants every user of the tenant, for that app", async () => {
    const config = defaults();
    config.tenants[0]!.adminConsents = [
      {
        client: DEFAULTS.webClientId,
        permissions: [`${API}/data.write`, 'https://graph.microsoft.com/User.Read.All'],
      },
    ];
    const f = await FakeEntra.start({ config });
    try {
      const answer = await f.completeSignIn(
        authorizeUrl(f, { scope: `${API}/data.write` }),
        'bob@contoso.test',
      );
      expect(answer.pages).toEqual(['sign-in']);
      const graph = await f.completeSignIn(
        authorizeUrl(f, { scope: 'User.Read.All' }),
        'bob@contoso.test',
      );
      expect(graph.pages).toEqual(['sign-in']);
      const token = await redeem(f, graph.params.code!);
      expect(decodeJwt(token.body.access_token!).scp).toBe('User.Read.All');
    } finally {
      await f.close();
    }
  });
});

describe('configured consent', () => {
  test('a consent given to one app does not count for another (per-app consents)', async () => {
    const config = defaults();
    const second = {
      name: 'second web app',
      clientId: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
      secret: 'second-secret-value',
      redirectUris: ['http://localhost:5002/auth/redirect'],
      permissions: [`${API}/data.read`],
    };
    config.clients!.push(second);
    const bob = config.users!.find((u) => u.upn === 'bob@contoso.test')!;
    bob.consents = [{ client: DEFAULTS.webClientId, permissions: [`${API}/data.read`] }];
    const f = await FakeEntra.start({ config });
    try {
      const ask = (clientId: string, redirect: string) =>
        f.completeSignIn(
          `${f.publicUrl}/${T}/oauth2/v2.0/authorize?${new URLSearchParams({
            client_id: clientId,
            response_type: 'code',
            redirect_uri: redirect,
            scope: `${API}/data.read`,
          })}`,
          'bob@contoso.test',
        );
      expect((await ask(DEFAULTS.webClientId, REDIRECT)).pages).toEqual(['sign-in']);
      expect((await ask(second.clientId, 'http://localhost:5002/auth/redirect')).pages).toEqual([
        'sign-in',
        'consent',
      ]);
    } finally {
      await f.close();
    }
  });
});

describe('the token endpoint never narrows', () => {
  const refresh = async (f: FakeEntra, rt: string, scope: string) => {
    const res = await fetch(`${f.authority()}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ ...web, grant_type: 'refresh_token', refresh_token: rt, scope }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  test('a refresh for scopes not consented answers invalid_grant, consent_required, AADSTS65001', async () => {
    const answer = await fake.completeSignIn(
      authorizeUrl(fake, { scope: `offline_access ${API}/data.read` }),
      'bob@contoso.test',
    );
    const { body } = await redeem(fake, answer.params.code!);
    for (const scope of [`${API}/data.write`, `${API}/data.read ${API}/data.write`]) {
      const res = await refresh(fake, body.refresh_token!, scope);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: 'invalid_grant',
        suberror: 'consent_required',
        error_codes: [65001],
      });
      expect(res.body.error_description).toMatch(
        `AADSTS65001: The user or administrator has not consented to use the application with ID '${DEFAULTS.webClientId}' named 'koa-entra web app'. Send an interactive authorization request for this user and resource.`,
      );
    }
    // {resource}/.default: everything bob granted on the resource, nothing more.
    const all = await refresh(fake, body.refresh_token!, `${API}/.default`);
    expect(decodeJwt(all.body.access_token!).scp).toBe('data.read');
    expect(all.body.scope).toBe(`${API}/data.read`);
  });

  test('scopes need not be in the app registration (dynamic consent), but need consent', async () => {
    const answer = await fake.completeSignIn(
      authorizeUrl(fake, { scope: 'User.ReadBasic.All' }),
      'alice@contoso.test',
    );
    expect(answer.pages).toEqual(['sign-in', 'consent']);
    const token = await redeem(fake, answer.params.code!);
    expect(decodeJwt(token.body.access_token!).scp).toBe('User.ReadBasic.All');
  });
});

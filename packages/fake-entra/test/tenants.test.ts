// Tenants and sign-in audience: apps are single-tenant unless their signInAudience says
// otherwise; a single-tenant app on /common or /organizations gets AADSTS50194 (at /authorize,
// redirected to the app; at /token, the JSON error), and on another tenant AADSTS700016. A
// multi-tenant app signs in users of any tenant there, with tokens of the user's home tenant,
// and needs consent in that tenant. The real MSAL Node library as the client.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra, loadConfig, type FakeEntraConfig } from '../src/index.ts';

const REDIRECT = 'http://localhost:4325/auth/redirect';
const FABRIKAM = DEFAULTS.secondTenantId;
const { alice, carol } = DEFAULTS.users;

let fake: FakeEntra;
/** The default config with the web app multi-tenant. */
let multi: FakeEntra;

beforeAll(async () => {
  const config = loadConfig() as FakeEntraConfig;
  config.clients = config.clients!.map((c) =>
    c.clientId === DEFAULTS.webClientId ? { ...c, signInAudience: 'AzureADMultipleOrgs' } : c,
  );
  [fake, multi] = await Promise.all([FakeEntra.start(), FakeEntra.start({ config })]);
});
afterAll(async () => {
  await Promise.all([fake.close(), multi.close()]);
});

const authorizeUrl = (f: FakeEntra, tenant: string, params: Record<string, string> = {}) =>
  `${f.publicUrl}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid profile offline_access User.Read',
    state: 'st',
    ...params,
  })}`;

const webApp = (f: FakeEntra, tenant: string) =>
  new ConfidentialClientApplication({
    auth: {
      clientId: DEFAULTS.webClientId,
      clientSecret: DEFAULTS.webClientSecret,
      authority: `${f.baseUrl}/${tenant}`,
      knownAuthorities: [new URL(f.baseUrl).host],
    },
  });

describe('a single-tenant app', () => {
  test('on /common or /organizations: AADSTS50194 to the redirect URI', async () => {
    for (const segment of ['common', 'organizations']) {
      const res = await fetch(authorizeUrl(fake, segment), { redirect: 'manual' });
      expect(res.status).toBe(302);
      const p = new URL(res.headers.get('location')!).searchParams;
      expect(p.get('error')).toBe('invalid_request');
      expect(p.get('error_description')).toMatch(
        `AADSTS50194: Application '${DEFAULTS.webClientId}'(koa-entra web app) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'.`,
      );
      expect(p.get('state')).toBe('st');
    }
  });

  test('MSAL on an /organizations authority gets AADSTS50194 from the token endpoint too', async () => {
    const cca = webApp(fake, 'organizations');
    const error = await cca
      .acquireTokenByCode({ code: 'x', scopes: ['User.Read'], redirectUri: REDIRECT })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ errorCode: 'invalid_request' });
    expect((error as Error).message).toMatch(/AADSTS50194/);
  });

  test('on another tenant it does not exist (AADSTS700016), and its page offers only its tenant', async () => {
    const res = await fetch(authorizeUrl(fake, FABRIKAM));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('AADSTS700016');
    const page = await (await fetch(authorizeUrl(fake, DEFAULTS.tenantId))).text();
    expect(page).toContain('Sign in as Alice Example');
    expect(page).not.toContain('Carol Example');
  });
});

describe('a multi-tenant app (AzureADMultipleOrgs)', () => {
  test("on /organizations signs in a second tenant's user, who must consent in her tenant; tokens are of her tenant", async () => {
    const cca = webApp(multi, 'organizations');
    const url = await cca.getAuthCodeUrl({
      scopes: ['User.Read'],
      redirectUri: REDIRECT,
      state: 'st',
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain('Sign in as Alice Example');
    expect(page).toContain('Sign in as Carol Example');
    const answer = await multi.completeSignIn(url, carol.upn);
    expect(answer.pages).toEqual(['sign-in', 'consent']);
    const result = await cca.acquireTokenByCode({
      code: answer.params.code!,
      scopes: ['User.Read'],
      redirectUri: REDIRECT,
    });
    expect(result.tenantId).toBe(FABRIKAM);
    expect(result.idTokenClaims).toMatchObject({
      tid: FABRIKAM,
      iss: multi.issuer(FABRIKAM),
      oid: carol.oid,
    });
    // A Graph token (v1.0, as Graph keeps Entra's default) of her tenant, which Graph accepts.
    const access = decodeJwt(result.accessToken);
    expect(access).toMatchObject({
      tid: FABRIKAM,
      iss: `https://sts.windows.net/${FABRIKAM}/`,
    });
    const me = await fetch(`${multi.graphBaseUrl}/v1.0/me`, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { id: string }).id).toBe(carol.oid);
    // Home tenant users keep theirs.
    const a = await multi.completeSignIn(url, alice.upn);
    const aliceResult = await cca.acquireTokenByCode({
      code: a.params.code!,
      scopes: ['User.Read'],
      redirectUri: REDIRECT,
    });
    expect(aliceResult.idTokenClaims).toMatchObject({ tid: DEFAULTS.tenantId });
  });

  test("on the second tenant's own authority only its users are offered", async () => {
    const page = await (await fetch(authorizeUrl(multi, 'fabrikam.test'))).text();
    expect(page).toContain('Sign in as Carol Example');
    expect(page).not.toContain('Alice Example');
  });
});

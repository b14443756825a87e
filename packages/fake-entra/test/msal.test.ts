// The real @azure/msal-node ConfidentialClientApplication against the fake, end to end:
// auth code + PKCE + state + nonce through the sign-in page, silent token for a second
// resource through the refresh token, client credentials, and missing consent surfacing as
// InteractionRequiredAuthError, then granted on the consent page.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  type AccountInfo,
} from '@azure/msal-node';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

const API_SCOPES = [`${DEFAULTS.apiIdentifier}/data.read`, `${DEFAULTS.apiIdentifier}/data.write`];
// Any port on http://localhost matches the registered redirect URI, as in Entra.
const REDIRECT_URI = 'http://localhost:59999/auth/redirect';

let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  fake = await FakeEntra.start();
  jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
});
afterAll(async () => {
  await fake.close();
});

function webApp(secret: string = DEFAULTS.webClientSecret): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: DEFAULTS.webClientId,
      clientSecret: secret,
      authority: fake.authority(),
      knownAuthorities: [new URL(fake.baseUrl).host],
    },
  });
}

/** Follows the authorize URL like a browser with this issuer session; returns the redirect's parameters. */
async function authorize(url: string, cookie?: string): Promise<URLSearchParams> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return location.searchParams;
}

async function signIn(
  cca: ConfidentialClientApplication,
  upn: string,
  scopes: string[],
  extraScopesToConsent?: string[],
  consent: 'accept' | 'cancel' = 'accept',
) {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const state = `state-${Math.random()}`;
  const nonce = `nonce-${Math.random()}`;
  const url = await cca.getAuthCodeUrl({
    scopes,
    extraScopesToConsent,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state,
    nonce,
  });
  expect(url.startsWith(`${fake.publicUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize?`)).toBe(
    true,
  );
  for (const extra of extraScopesToConsent ?? [])
    expect(new URL(url).searchParams.get('scope')).toContain(extra);
  const answer = await fake.completeSignIn(url, upn, { consent });
  expect(answer.params.state).toBe(state);
  const code = answer.params.code;
  if (!code) return { answer, result: undefined, nonce };
  const result = await cca.acquireTokenByCode(
    { code, scopes, redirectUri: REDIRECT_URI, codeVerifier: verifier, state, nonce },
    { code, state: answer.params.state },
  );
  return { answer, result, nonce };
}

describe('MSAL Node against the fake issuer', () => {
  test('signs alice in (Graph User.Read, API scopes consented up front), then gets API tokens silently through the refresh token', async () => {
    const cca = webApp();
    fake.resetRequestCounts();
    const {
      result: signedIn,
      nonce,
      answer,
    } = await signIn(cca, 'alice@contoso.test', ['User.Read'], API_SCOPES);
    const result = signedIn!;
    expect(answer.pages).toEqual(['sign-in']); // alice consented to everything: no consent page
    expect(result.account?.username).toBe('alice@contoso.test');
    expect(result.account?.homeAccountId).toBe(`${DEFAULTS.users.alice.oid}.${DEFAULTS.tenantId}`);
    expect(result.idTokenClaims).toMatchObject({
      nonce,
      aud: DEFAULTS.webClientId,
      oid: DEFAULTS.users.alice.oid,
      iss: fake.issuer(),
    });
    expect(result.scopes).toEqual(expect.arrayContaining(['User.Read']));
    expect(decodeJwt(result.accessToken).aud).toBe(DEFAULTS.graphClientId);

    // The Graph token works against the Graph stub.
    const me = await fetch(`${fake.graphBaseUrl}/v1.0/me`, {
      headers: { authorization: `Bearer ${result.accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      id: DEFAULTS.users.alice.oid,
      displayName: 'Alice Example',
      userPrincipalName: 'alice@contoso.test',
      mail: 'alice@contoso.test',
    });

    // A second resource, silently: MSAL redeems the refresh token for the API's scopes.
    const tokenCallsBefore = fake.requestCounts().token;
    const account = result.account as AccountInfo;
    const api = await cca.acquireTokenSilent({ account, scopes: API_SCOPES });
    expect(fake.requestCounts().token).toBe(tokenCallsBefore + 1);
    const { payload } = await jwtVerify(api.accessToken, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.apiClientId,
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({
      scp: 'data.read data.write',
      azp: DEFAULTS.webClientId,
      oid: DEFAULTS.users.alice.oid,
      ver: '2.0',
    });

    // Cached now: no further token request.
    const again = await cca.acquireTokenSilent({ account, scopes: API_SCOPES });
    expect(again.accessToken).toBe(api.accessToken);
    expect(fake.requestCounts().token).toBe(tokenCallsBefore + 1);
    // The page (GET) and its button (POST).
    expect(fake.requestCounts()).toMatchObject({ discovery: 1, authorize: 2 });
  });

  test('refreshes silently when access tokens live only seconds', async () => {
    fake.setLifetimes({ accessToken: 3 });
    try {
      const cca = webApp();
      const result = (await signIn(cca, 'alice@contoso.test', API_SCOPES)).result!;
      const { exp, iat } = decodeJwt(result.accessToken);
      expect(exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3);
      expect(exp! - iat!).toBe(303); // iat backdated 300 s, as Entra does
      const before = fake.requestCounts().token;
      const renewed = await cca.acquireTokenSilent({
        account: result.account!,
        scopes: API_SCOPES,
      });
      // MSAL renews tokens that expire within its offset, so a 3 s token is renewed at once.
      expect(fake.requestCounts().token).toBe(before + 1);
      expect(renewed.accessToken).not.toBe(result.accessToken);
      await expect(
        jwtVerify(renewed.accessToken, jwks, {
          issuer: fake.issuer(),
          audience: DEFAULTS.apiClientId,
        }),
      ).resolves.toBeDefined();
    } finally {
      fake.setLifetimes({ accessToken: 3600 });
    }
  });

  test('acquires an app-only token for the daemon with client credentials', async () => {
    const daemon = new ConfidentialClientApplication({
      auth: {
        clientId: DEFAULTS.daemonClientId,
        clientSecret: DEFAULTS.daemonClientSecret,
        authority: fake.authority(),
        knownAuthorities: [new URL(fake.baseUrl).host],
      },
    });
    const result = await daemon.acquireTokenByClientCredential({
      scopes: [`${DEFAULTS.apiIdentifier}/.default`],
    });
    const { payload } = await jwtVerify(result!.accessToken, jwks, {
      issuer: fake.issuer(),
      audience: DEFAULTS.apiClientId,
    });
    expect(payload).toMatchObject({
      idtyp: 'app',
      roles: ['Data.Read.All'],
      azp: DEFAULTS.daemonClientId,
      tid: DEFAULTS.tenantId,
    });
    expect(payload.scp).toBeUndefined();
  });

  test('bob: data.read silently, data.write raises InteractionRequiredAuthError (consent_required), never a narrowed token', async () => {
    const cca = webApp();
    const { result, answer } = await signIn(cca, 'bob@contoso.test', [
      `${DEFAULTS.apiIdentifier}/data.read`,
    ]);
    expect(answer.pages).toEqual(['sign-in']);
    expect(decodeJwt(result!.accessToken).scp).toBe('data.read');
    for (const scopes of [[`${DEFAULTS.apiIdentifier}/data.write`], API_SCOPES]) {
      const error = await cca
        .acquireTokenSilent({ account: result!.account!, scopes, forceRefresh: true })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(InteractionRequiredAuthError);
      expect(error).toMatchObject({ errorCode: 'invalid_grant', subError: 'consent_required' });
      expect((error as Error).message).toMatch(
        /AADSTS65001: The user or administrator has not consented/,
      );
    }
  });

  test('bob asking for data.write interactively gets the consent page; Accept records it and MSAL gets data.write', async () => {
    const local = await FakeEntra.start();
    try {
      const cca = new ConfidentialClientApplication({
        auth: {
          clientId: DEFAULTS.webClientId,
          clientSecret: DEFAULTS.webClientSecret,
          authority: local.authority(),
          knownAuthorities: [new URL(local.baseUrl).host],
        },
      });
      const url = await cca.getAuthCodeUrl({ scopes: API_SCOPES, redirectUri: REDIRECT_URI });
      const answer = await local.completeSignIn(url, 'bob@contoso.test');
      expect(answer.pages).toEqual(['sign-in', 'consent']);
      const result = await cca.acquireTokenByCode({
        code: answer.params.code!,
        scopes: API_SCOPES,
        redirectUri: REDIRECT_URI,
      });
      expect(decodeJwt(result.accessToken).scp).toBe('data.read data.write');
      // Recorded for bob and this app: the refresh token now redeems data.write, and the next
      // sign-in asks nothing.
      const write = await cca.acquireTokenSilent({
        account: result.account!,
        scopes: [`${DEFAULTS.apiIdentifier}/data.write`],
        forceRefresh: true,
      });
      expect(decodeJwt(write.accessToken).scp).toBe('data.write');
      const again = await local.completeSignIn(
        await cca.getAuthCodeUrl({ scopes: API_SCOPES, redirectUri: REDIRECT_URI }),
        'bob@contoso.test',
      );
      expect(again.pages).toEqual(['sign-in']);
    } finally {
      await local.close();
    }
  });

  test('Cancel on the consent page sends the app access_denied (AADSTS65004) and no code', async () => {
    const cca = webApp();
    const { answer, result } = await signIn(
      cca,
      'bob@contoso.test',
      [`${DEFAULTS.apiIdentifier}/data.write`],
      undefined,
      'cancel',
    );
    expect(result).toBeUndefined();
    expect(answer.pages).toEqual(['sign-in', 'consent']);
    expect(answer.params).toMatchObject({ error: 'access_denied', error_subcode: 'cancel' });
    expect(answer.params.error_description).toMatch(
      /^AADSTS65004: User declined to consent to access the app\./,
    );
  });

  test('redirects a silent sign-in for a scope bob never consented to with error=consent_required', async () => {
    const { cookie } = fake.openSession('bob@contoso.test');
    const url = await webApp().getAuthCodeUrl({
      scopes: [`${DEFAULTS.apiIdentifier}/data.write`],
      redirectUri: REDIRECT_URI,
      prompt: 'none',
      loginHint: 'bob@contoso.test',
      state: 's1',
    });
    const params = await authorize(url, cookie);
    expect(params.get('error')).toBe('consent_required');
    expect(params.get('error_description')).toMatch(/^AADSTS65001: /);
    expect(params.get('state')).toBe('s1');
    expect(params.get('code')).toBeNull();
  });

  test('redirects login_required for prompt=none without an issuer session, whatever login_hint says', async () => {
    for (const loginHint of ['alice@contoso.test', 'mallory@contoso.test']) {
      const url = await webApp().getAuthCodeUrl({
        scopes: ['User.Read'],
        redirectUri: REDIRECT_URI,
        prompt: 'none',
        loginHint,
      });
      const params = await authorize(url);
      expect(params.get('error')).toBe('login_required');
      expect(params.get('error_description')).toMatch(
        /^AADSTS50058: A silent sign-in request was sent but no user is signed in\./,
      );
    }
  });

  test('rejects a wrong client secret with invalid_client', async () => {
    const cca = webApp('wrong-secret-value');
    const url = await cca.getAuthCodeUrl({
      scopes: ['User.Read'],
      redirectUri: REDIRECT_URI,
      prompt: 'none',
    });
    const code = (await authorize(url, fake.openSession('alice@contoso.test').cookie)).get('code')!;
    await expect(
      cca.acquireTokenByCode({ code, scopes: ['User.Read'], redirectUri: REDIRECT_URI }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client' });
  });
});

// Conditional Access: a policy that requires MFA for an API or for an authentication context.
// A silent request the sign-in did not satisfy is a claims challenge (invalid_grant,
// basic_action, AADSTS50076, claims); an authorize request carrying those claims asks for a
// second factor ("Approve sign-in") and issues tokens with the acrs asked for (and amr mfa in
// v1.0 tokens). Clients declaring CP1 get xms_cc. With the real MSAL Node and over HTTP.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  type AccountInfo,
} from '@azure/msal-node';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  advancedConfig,
  createTestCertificate,
  MFA_FOR_V1_API,
  V1_API,
} from './support/advanced-config.ts';
import { REDIRECT_URI, signInAndRedeem, tokenRequest } from './support/flows.ts';

const DATA_READ = `${DEFAULTS.apiIdentifier}/data.read`;
const REPORTS = `${V1_API.identifier}/reports.read`;
const C1 = JSON.stringify({ access_token: { acrs: { essential: true, value: 'c1' } } });
const C1_CP1 = JSON.stringify({
  access_token: { acrs: { essential: true, value: 'c1' }, xms_cc: { values: ['CP1'] } },
});

let fake: FakeEntra;

beforeAll(async () => {
  fake = await FakeEntra.start({
    config: advancedConfig({ certificate: await createTestCertificate() }),
  });
});
afterAll(async () => {
  await fake.close();
});

const refresh = (refreshToken: string, scope: string, claims?: string) =>
  tokenRequest(fake, {
    grant_type: 'refresh_token',
    client_id: DEFAULTS.webClientId,
    client_secret: DEFAULTS.webClientSecret,
    refresh_token: refreshToken,
    scope,
    claims,
  });

describe('claims challenges at the token endpoint', () => {
  test('a policy requiring MFA for an API: the silent request answers AADSTS50076 with capolids', async () => {
    const signIn = await signInAndRedeem(fake, { upn: 'bob@contoso.test', scope: DATA_READ });
    const res = await refresh(signIn.body.refresh_token, REPORTS);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'invalid_grant',
      suberror: 'basic_action',
      error_codes: [50076],
    });
    expect(res.body.error_description).toMatch(
      new RegExp(
        `^AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${V1_API.clientId}'\\.`,
      ),
    );
    expect(JSON.parse(res.body.claims)).toEqual({
      access_token: { capolids: { essential: true, values: [MFA_FOR_V1_API] } },
    });
    // The policy targets bob only: alice gets the token silently.
    const alice = await signInAndRedeem(fake, { upn: 'alice@contoso.test', scope: DATA_READ });
    expect((await refresh(alice.body.refresh_token, REPORTS)).status).toBe(200);
  });

  test('an authentication context asked for in claims: AADSTS50076 with the acrs claims', async () => {
    const signIn = await signInAndRedeem(fake, { upn: 'alice@contoso.test', scope: DATA_READ });
    const res = await refresh(signIn.body.refresh_token, DATA_READ, C1);
    expect(res.body).toMatchObject({ error: 'invalid_grant', suberror: 'basic_action' });
    expect(JSON.parse(res.body.claims)).toEqual(JSON.parse(C1));
    // Without the claims request the token comes, without acrs (the API then challenges).
    const plain = await refresh(signIn.body.refresh_token, DATA_READ);
    expect(plain.status).toBe(200);
    expect(decodeJwt(plain.body.access_token)).not.toHaveProperty('acrs');
  });

  test('a malformed claims parameter is AADSTS90100', async () => {
    const signIn = await signInAndRedeem(fake, { upn: 'alice@contoso.test', scope: DATA_READ });
    const res = await refresh(signIn.body.refresh_token, DATA_READ, '{not json');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', error_codes: [90100] });
  });
});

describe('second factor at sign-in', () => {
  test('an authorize request with acrs claims asks for a second factor; tokens carry acrs and (v1.0) amr mfa', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: REPORTS,
      claims: C1,
    });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token)).toMatchObject({
      acrs: ['c1'],
      amr: ['pwd', 'mfa'],
      ver: '1.0',
    });
    // The refresh token keeps the second factor: the step-up is silent from now on.
    const again = await refresh(res.body.refresh_token, DATA_READ, C1);
    expect(again.status).toBe(200);
    expect(decodeJwt(again.body.access_token)).toMatchObject({ acrs: ['c1'], ver: '2.0' });
    expect(decodeJwt(again.body.access_token)).not.toHaveProperty('amr'); // v2.0 tokens have none
  });

  test('the page shows "Approve sign-in"; prompt=none that needs it answers interaction_required; the session remembers it', async () => {
    const url = new URL(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/authorize`);
    url.search = new URLSearchParams({
      client_id: DEFAULTS.webClientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: `openid ${REPORTS}`,
      login_hint: 'bob@contoso.test',
      prompt: 'none',
    }).toString();
    // bob has an issuer session (a password sign-in) but no second factor yet.
    const { cookie } = fake.openSession('bob@contoso.test');
    const silent = await fetch(url, { redirect: 'manual', headers: { cookie } });
    const location = new URL(silent.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('interaction_required');
    expect(location.searchParams.get('error_description')).toMatch(/^AADSTS50076: /);

    url.searchParams.delete('prompt');
    const answer = await fake.completeSignIn(url.toString(), 'bob@contoso.test', { cookie });
    expect(answer.pages).toEqual(['second-factor']); // SSO, then the second factor
    expect(answer.params.code).toBeTruthy();

    // The session remembers the second factor: prompt=none now answers a code.
    url.searchParams.set('prompt', 'none');
    const again = await fetch(url, { redirect: 'manual', headers: { cookie: answer.cookie! } });
    expect(new URL(again.headers.get('location')!).searchParams.get('code')).toBeTruthy();

    // A fresh browser signs in with the page first; without a policy for the request, no second factor.
    url.searchParams.delete('prompt');
    expect((await fake.completeSignIn(url.toString(), 'bob@contoso.test')).pages).toEqual([
      'sign-in',
      'second-factor',
    ]);
    url.searchParams.set('scope', `openid ${DATA_READ}`);
    expect((await fake.completeSignIn(url.toString(), 'bob@contoso.test')).pages).toEqual([
      'sign-in',
    ]);
  });
});

describe('client capabilities', () => {
  test('xms_cc cp1 for APIs that ask for the optional claim, as the client declared it', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: DATA_READ,
      tokenClaims: JSON.stringify({ access_token: { xms_cc: { values: ['CP1', 'unknown'] } } }),
    });
    expect(decodeJwt(res.body.access_token).xms_cc).toEqual(['CP1']);
    const v1 = await refresh(
      res.body.refresh_token,
      REPORTS,
      JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } }),
    );
    expect(decodeJwt(v1.body.access_token)).not.toHaveProperty('xms_cc'); // not asked for by that API
  });
});

describe('MSAL Node with Conditional Access', () => {
  function webApp(): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: {
        clientId: DEFAULTS.webClientId,
        clientSecret: DEFAULTS.webClientSecret,
        authority: fake.authority(),
        knownAuthorities: [new URL(fake.baseUrl).host],
        clientCapabilities: ['CP1'],
      },
    });
  }

  async function interactive(
    cca: ConfidentialClientApplication,
    upn: string,
    scopes: string[],
    claims?: string,
  ) {
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const url = await cca.getAuthCodeUrl({
      scopes,
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      claims,
    });
    const answer = await fake.completeSignIn(url, upn);
    const result = await cca.acquireTokenByCode({
      code: answer.params.code!,
      scopes,
      redirectUri: REDIRECT_URI,
      codeVerifier: verifier,
      claims,
    });
    return { result, answer, url };
  }

  test('the silent call raises InteractionRequiredAuthError with the claims; the interactive request with them gets acrs', async () => {
    const cca = webApp();
    const { result, url } = await interactive(cca, 'alice@contoso.test', [DATA_READ]);
    // MSAL declares CP1 in every request's claims.
    expect(JSON.parse(new URL(url).searchParams.get('claims')!).access_token).toEqual({
      xms_cc: { values: ['CP1'] },
    });
    expect(decodeJwt(result.accessToken).xms_cc).toEqual(['CP1']);
    const account = result.account as AccountInfo;

    // The API asked for authentication context c1 (its 401 insufficient_claims): silently first.
    const error = await cca.acquireTokenSilent({ account, scopes: [DATA_READ], claims: C1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    const e = error as InteractionRequiredAuthError;
    expect(e).toMatchObject({ errorCode: 'invalid_grant', subError: 'basic_action' });
    expect(JSON.parse(e.claims)).toEqual(JSON.parse(C1));

    const stepUp = await interactive(cca, 'alice@contoso.test', [DATA_READ], e.claims);
    expect(stepUp.answer.pages).toContain('second-factor');
    expect(decodeJwt(stepUp.result.accessToken)).toMatchObject({
      acrs: ['c1'],
      xms_cc: ['CP1'],
    });
    // What MSAL sent Entra: the challenge's claims merged with CP1.
    expect(JSON.parse(new URL(stepUp.url).searchParams.get('claims')!).access_token).toEqual(
      JSON.parse(C1_CP1).access_token,
    );
  });

  test('a policy on the API: the silent call for it raises InteractionRequiredAuthError, the interactive one gets it', async () => {
    const cca = webApp();
    const { result } = await interactive(cca, 'bob@contoso.test', [DATA_READ]);
    const error = await cca
      .acquireTokenSilent({ account: result.account!, scopes: [REPORTS] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    const claims = (error as InteractionRequiredAuthError).claims;
    expect(JSON.parse(claims).access_token.capolids.values).toEqual([MFA_FOR_V1_API]);
    const stepUp = await interactive(cca, 'bob@contoso.test', [REPORTS], claims);
    expect(decodeJwt(stepUp.result.accessToken)).toMatchObject({ amr: ['pwd', 'mfa'] });
  });
});

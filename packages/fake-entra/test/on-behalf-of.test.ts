// On-behalf-of: a middle-tier API exchanges the user token it received for a token to a
// downstream API. The assertion is verified (signature, issuer, time), must be addressed to the
// middle tier and be a user token; consent and Conditional Access apply for the same user. With
// the real MSAL Node (acquireTokenOnBehalfOf) and over HTTP with Entra's error codes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ConfidentialClientApplication, InteractionRequiredAuthError } from '@azure/msal-node';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  advancedConfig,
  createTestCertificate,
  MFA_FOR_V1_API,
  MIDDLE_TIER,
  V1_API,
} from './support/advanced-config.ts';
import { signInAndRedeem, tokenRequest } from './support/flows.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DOWNSTREAM = `${DEFAULTS.apiIdentifier}/data.read`;

let fake: FakeEntra;

beforeAll(async () => {
  fake = await FakeEntra.start({
    config: advancedConfig({ certificate: await createTestCertificate() }),
  });
});
afterAll(async () => {
  await fake.close();
});

/** What the web app sends the middle tier: a user token whose aud is the middle tier. */
async function middleTierToken(upn = 'alice@contoso.test'): Promise<string> {
  const res = await signInAndRedeem(fake, {
    upn,
    scope: `${MIDDLE_TIER.identifier}/access_as_user`,
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

const obo = (assertion: string, extra: Record<string, string | undefined> = {}) =>
  tokenRequest(fake, {
    grant_type: JWT_BEARER,
    client_id: MIDDLE_TIER.clientId,
    client_secret: MIDDLE_TIER.secret,
    assertion,
    scope: DOWNSTREAM,
    requested_token_use: 'on_behalf_of',
    ...extra,
  });

function middleTier(): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: MIDDLE_TIER.clientId,
      clientSecret: MIDDLE_TIER.secret,
      authority: fake.authority(),
      knownAuthorities: [new URL(fake.baseUrl).host],
    },
  });
}

describe('MSAL Node acquireTokenOnBehalfOf', () => {
  test('the middle tier gets a downstream token for the same user, as itself', async () => {
    const incoming = await middleTierToken();
    expect(decodeJwt(incoming).aud).toBe(MIDDLE_TIER.clientId);
    const result = await middleTier().acquireTokenOnBehalfOf({
      oboAssertion: incoming,
      scopes: [DOWNSTREAM],
    });
    const { payload } = await jwtVerify(
      result!.accessToken,
      createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`)),
      { issuer: fake.issuer(), audience: DEFAULTS.apiClientId },
    );
    expect(payload).toMatchObject({
      azp: MIDDLE_TIER.clientId,
      azpacr: '1',
      oid: DEFAULTS.users.alice.oid,
      scp: 'data.read',
    });
    const sent = await fake.takeRequest({ endpoint: 'token', grantType: JWT_BEARER });
    expect(sent.form).toMatchObject({ requested_token_use: 'on_behalf_of', assertion: incoming });
  });

  test("a downstream API's MFA policy the user's sign-in did not meet: InteractionRequiredAuthError with the claims", async () => {
    const incoming = await middleTierToken('bob@contoso.test');
    const error = await middleTier()
      .acquireTokenOnBehalfOf({
        oboAssertion: incoming,
        scopes: [`${V1_API.identifier}/reports.read`],
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    const e = error as InteractionRequiredAuthError;
    expect(e.errorCode).toBe('invalid_grant');
    expect(e.subError).toBe('basic_action');
    expect(JSON.parse(e.claims)).toEqual({
      access_token: { capolids: { essential: true, values: [MFA_FOR_V1_API] } },
    });
  });
});

describe('on-behalf-of over HTTP', () => {
  test('the response: a downstream token and a refresh token with offline_access, no id token', async () => {
    const res = await obo(await middleTierToken(), {
      scope: `${DOWNSTREAM} offline_access openid`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: DOWNSTREAM });
    expect(typeof res.body.refresh_token).toBe('string');
    expect(res.body).not.toHaveProperty('id_token');
  });

  test('an assertion for another audience: AADSTS500131', async () => {
    const forApi = await fake.mintAccessToken({ scopes: ['data.read'] });
    const res = await obo(forApi);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_grant', error_codes: [500131] });
    expect(res.body.error_description).toMatch(
      `The audience in the assertion was '${DEFAULTS.apiClientId}' and the expected audience is '${MIDDLE_TIER.clientId}'`,
    );
  });

  test('an app-only assertion: AADSTS7000114; an expired one AADSTS500133; a forged one AADSTS50013', async () => {
    const app = await fake.mintAccessToken({ app: true, audience: MIDDLE_TIER.identifier });
    expect((await obo(app)).body).toMatchObject({ error_codes: [7000114] });

    const expired = await fake.mintBrokenToken('expired', {
      audience: MIDDLE_TIER.identifier,
      scopes: ['access_as_user'],
    });
    const late = await obo(expired);
    expect(late.body).toMatchObject({ error: 'invalid_grant', error_codes: [500133] });
    expect(late.body.error_description).toMatch(/Assertion is not within its valid time range/);

    const forged = await fake.mintBrokenToken('tampered-payload', {
      audience: MIDDLE_TIER.identifier,
      scopes: ['access_as_user'],
    });
    const bad = await obo(forged);
    expect(bad.body).toMatchObject({ error: 'invalid_grant', error_codes: [50013] });
    expect(bad.body.error_description).toMatch(/Assertion failed signature validation/);

    const stray = await fake.mintBrokenToken('unknown-kid', {
      audience: MIDDLE_TIER.identifier,
      scopes: ['access_as_user'],
    });
    expect((await obo(stray)).body.error_description).toMatch(/The key was not found/);
  });

  test('a Graph token (nonce header) cannot be exchanged by the middle tier: AADSTS500131', async () => {
    const graph = await fake.mintAccessToken({ audience: DEFAULTS.graphIdentifier });
    expect((await obo(graph)).body).toMatchObject({ error_codes: [500131] });
  });

  test('downstream permissions the user never consented to: consent_required, AADSTS65001', async () => {
    const res = await obo(await middleTierToken(), {
      scope: 'https://graph.microsoft.com/User.ReadBasic.All',
    });
    expect(res.body).toMatchObject({
      error: 'invalid_grant',
      suberror: 'consent_required',
      error_codes: [65001],
    });
  });

  test('the grant needs requested_token_use=on_behalf_of, an assertion and a confidential client', async () => {
    const incoming = await middleTierToken();
    expect((await obo(incoming, { requested_token_use: undefined })).body).toMatchObject({
      error: 'invalid_request',
      error_codes: [900144],
    });
    expect((await obo(incoming, { requested_token_use: 'other' })).body.error).toBe(
      'invalid_request',
    );
    expect((await obo('', {})).body.error_codes).toEqual([900144]);
    expect((await obo(incoming, { client_secret: 'wrong' })).body.error_codes).toEqual([7000215]);
  });
});

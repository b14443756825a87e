// Single-page apps (spaRedirectUris): PKCE required, codes redeemed only cross-origin, CORS on
// /token; other apps' codes never cross-origin. The default config's API docs client is one.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';

let fake: FakeEntra;
beforeAll(async () => {
  fake = await FakeEntra.start();
});
afterAll(async () => {
  await fake?.close();
});

const ORIGIN = 'http://localhost:8000';
// Any port on localhost matches the registered http://localhost:8000/... (as in Entra).
const REDIRECT = 'http://localhost:8123/docs/oauth2-redirect.html';
const SCOPE = `${DEFAULTS.apiIdentifier}/data.read openid`;

function authorizeUrl(clientId: string, redirectUri: string, challenge?: string) {
  const url = new URL(`${fake.baseUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/authorize`);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: SCOPE,
    state: 's1',
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  }).toString();
  return url.toString();
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const redeem = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${fake.baseUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });

async function docsCode() {
  const { verifier, challenge } = pkce();
  const signedIn = await fake.completeSignIn(
    authorizeUrl(DEFAULTS.docsClientId, REDIRECT, challenge),
    DEFAULTS.users.alice.upn,
  );
  expect(signedIn.params.code).toBeDefined();
  return {
    grant_type: 'authorization_code',
    client_id: DEFAULTS.docsClientId,
    code: signedIn.params.code as string,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    scope: SCOPE,
  };
}

test('the docs client signs alice in and redeems the code from its page: CORS, no secret', async () => {
  const preflight = await fetch(`${fake.baseUrl}/${DEFAULTS.tenantId}/oauth2/v2.0/token`, {
    method: 'OPTIONS',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-requested-with',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  expect(preflight.headers.get('access-control-allow-headers')).toBe(
    'content-type,x-requested-with',
  );
  const response = await redeem(await docsCode(), { origin: ORIGIN });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  const body = (await response.json()) as { access_token: string };
  const claims = decodeJwt(body.access_token);
  expect(claims).toMatchObject({
    aud: DEFAULTS.apiClientId,
    azp: DEFAULTS.docsClientId,
    azpacr: '0',
    oid: DEFAULTS.users.alice.oid,
    scp: 'data.read',
  });
});

test('a single-page code redeemed without Origin answers AADSTS9002327', async () => {
  const response = await redeem(await docsCode());
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: string; error_codes: number[] };
  expect(body.error).toBe('invalid_request');
  expect(body.error_codes).toEqual([9002327]);
});

test('a single-page sign-in without PKCE is refused (AADSTS9002325)', async () => {
  const signedIn = await fake
    .completeSignIn(authorizeUrl(DEFAULTS.docsClientId, REDIRECT), DEFAULTS.users.alice.upn)
    .catch((e: Error) => ({ params: { error_description: e.message } }));
  expect(JSON.stringify(signedIn.params)).toContain('AADSTS9002325');
});

test("the web app's code redeemed cross-origin answers AADSTS9002326 naming the origin, readable by the page", async () => {
  const { verifier, challenge } = pkce();
  const signedIn = await fake.completeSignIn(
    authorizeUrl(DEFAULTS.webClientId, DEFAULTS.webRedirectUri, challenge),
    DEFAULTS.users.alice.upn,
  );
  const response = await redeem(
    {
      grant_type: 'authorization_code',
      client_id: DEFAULTS.webClientId,
      client_secret: DEFAULTS.webClientSecret,
      code: signedIn.params.code as string,
      redirect_uri: DEFAULTS.webRedirectUri,
      code_verifier: verifier,
      scope: SCOPE,
    },
    { origin: ORIGIN },
  );
  expect(response.status).toBe(400);
  expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  const body = (await response.json()) as { error_description: string; error_codes: number[] };
  expect(body.error_codes).toEqual([9002326]);
  expect(body.error_description).toContain(
    `Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '${ORIGIN}'.`,
  );
  const daemon = await redeem(
    {
      grant_type: 'client_credentials',
      client_id: DEFAULTS.daemonClientId,
      client_secret: DEFAULTS.daemonClientSecret,
      scope: `${DEFAULTS.apiIdentifier}/.default`,
    },
    { origin: ORIGIN },
  );
  expect(((await daemon.json()) as { error_codes: number[] }).error_codes).toEqual([9002326]);
});

test("a single-page app's refresh token lives 24 hours from the sign-in, and redeeming it does not extend that", async () => {
  const code = await docsCode();
  const first = await redeem(
    { ...code, scope: `${code.scope} offline_access` },
    { origin: ORIGIN },
  );
  const body = (await first.json()) as { refresh_token: string; refresh_token_expires_in: number };
  // Entra: 24 h for single-page apps (the web app's refresh tokens live 90 days).
  expect(body.refresh_token_expires_in).toBeGreaterThan(24 * 3600 - 5);
  expect(body.refresh_token_expires_in).toBeLessThanOrEqual(24 * 3600);
  await new Promise((r) => setTimeout(r, 1100));
  const refreshed = await redeem(
    {
      grant_type: 'refresh_token',
      client_id: DEFAULTS.docsClientId,
      refresh_token: body.refresh_token,
      scope: SCOPE,
    },
    { origin: ORIGIN },
  );
  expect(refreshed.status).toBe(200);
  const again = (await refreshed.json()) as { refresh_token_expires_in: number };
  expect(again.refresh_token_expires_in).toBeLessThan(body.refresh_token_expires_in);
});

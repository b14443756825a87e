// Microsoft Graph's tokens are for Graph alone: a nonce in their header, signed over its hash,
// so a standard signature check against the JWKS fails while the Graph stub accepts them. User
// tokens carry the user's app roles, groups and directory roles as the API's manifest asks;
// above 200 groups Entra's overage claim points elsewhere and the Graph stub answers the
// membership calls apps make instead.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { DEFAULTS, FakeEntra } from '../src/index.ts';
import {
  advancedConfig,
  CAROL,
  createTestCertificate,
  DAVE,
  DIRECTORY_ROLES,
  groupIds,
  MIDDLE_TIER,
  MIDDLE_TIER_ROLES,
  V1_API,
} from './support/advanced-config.ts';
import { signInAndRedeem } from './support/flows.ts';

let fake: FakeEntra;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  fake = await FakeEntra.start({
    config: advancedConfig({ certificate: await createTestCertificate() }),
  });
  jwks = createRemoteJWKSet(new URL(`${fake.authority()}/discovery/v2.0/keys`));
});
afterAll(async () => {
  await fake.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();

const graph = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${fake.graphBaseUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
  });

async function graphToken(upn = 'alice@contoso.test'): Promise<string> {
  const res = await signInAndRedeem(fake, { upn, scope: 'User.Read' });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe('Microsoft Graph tokens', () => {
  test('carry a header nonce: jose against the JWKS fails, the Graph stub answers /v1.0/me', async () => {
    const token = await graphToken();
    const header = decodeProtectedHeader(token);
    expect(Object.keys(header)).toEqual(['typ', 'nonce', 'alg', 'x5t', 'kid']);
    expect(typeof header.nonce).toBe('string');
    // A v1.0 token (Graph keeps Entra's default), aud the Graph app id as the bare scope names it.
    expect(decodeJwt(token)).toMatchObject({
      aud: DEFAULTS.graphClientId,
      iss: `https://sts.windows.net/${DEFAULTS.tenantId}/`,
      scp: 'User.Read',
      ver: '1.0',
    });
    const check = await jwtVerify(token, jwks).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(check).toBeInstanceOf(errors.JWSSignatureVerificationFailed);

    const me = await graph('/v1.0/me', token);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      id: DEFAULTS.users.alice.oid,
      userPrincipalName: 'alice@contoso.test',
    });
  });

  test('the stub refuses a Graph token whose nonce was changed, and tokens for other APIs', async () => {
    const token = await graphToken();
    const [h, p, s] = token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...header, nonce: 'other' })).toString('base64url')}.${p}.${s}`;
    const res = await graph('/v1.0/me', forged);
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe('InvalidAuthenticationToken');
    const api = await graph('/v1.0/me', await fake.mintAccessToken());
    expect(api.status).toBe(401);
    expect((await json(api)).error.message).toBe('Invalid audience.');
  });

  test('a Graph scope named by its URI gives aud https://graph.microsoft.com', async () => {
    const res = await signInAndRedeem(fake, {
      upn: 'alice@contoso.test',
      scope: 'https://graph.microsoft.com/User.Read',
    });
    expect(decodeJwt(res.body.access_token).aud).toBe('https://graph.microsoft.com');
    expect((await graph('/v1.0/me', res.body.access_token)).status).toBe(200);
  });
});

describe("users' app roles, groups and directory roles", () => {
  test('roles, groups and wids in the tokens of an API whose groupMembershipClaims is All', async () => {
    const res = await signInAndRedeem(fake, {
      upn: CAROL,
      scope: `${MIDDLE_TIER.identifier}/access_as_user`,
    });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.body.access_token);
    expect(claims.roles).toEqual(MIDDLE_TIER_ROLES);
    expect(claims.groups).toEqual(groupIds(200, 'carol'));
    expect(claims.wids).toEqual(DIRECTORY_ROLES);
    expect(claims).not.toHaveProperty('_claim_names');
  });

  test('an API that asks for no groups (the default) gets roles only', async () => {
    const token = await fake.mintAccessToken({
      user: CAROL,
      audience: DEFAULTS.apiIdentifier,
      scopes: ['data.read'],
    });
    const claims = decodeJwt(token);
    expect(claims).not.toHaveProperty('groups');
    expect(claims).not.toHaveProperty('wids');
    expect(claims).not.toHaveProperty('roles'); // carol holds no role on this API
  });

  test('above 200 groups: the overage claim instead of groups, no hasgroups outside the implicit flow', async () => {
    const res = await signInAndRedeem(fake, {
      upn: DAVE,
      scope: `${V1_API.identifier}/reports.read`,
    });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).not.toHaveProperty('groups');
    expect(claims).not.toHaveProperty('hasgroups');
    expect(claims._claim_names).toEqual({ groups: 'src1' });
    expect(claims._claim_sources).toEqual({
      src1: {
        endpoint: `https://graph.windows.net/${DEFAULTS.tenantId}/users/${String(claims.oid)}/getMemberObjects`,
      },
    });
  });

  test('the Graph stub answers the membership calls: getMemberObjects and transitiveMemberOf, paged', async () => {
    const token = await graphToken(DAVE);
    const all = groupIds(201, 'dave');
    const objects = await graph('/v1.0/me/getMemberObjects', token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ securityEnabledOnly: true }),
    });
    expect(objects.status).toBe(200);
    expect((await json(objects)).value).toEqual(all);

    const seen: string[] = [];
    let next: string | undefined = `${fake.graphBaseUrl}/v1.0/me/transitiveMemberOf`;
    while (next) {
      const page = await fetch(next, { headers: { authorization: `Bearer ${token}` } });
      expect(page.status).toBe(200);
      const body = (await page.json()) as {
        value: { '@odata.type': string; id: string }[];
        '@odata.nextLink'?: string;
      };
      expect(body.value.length).toBeLessThanOrEqual(100);
      for (const g of body.value) {
        expect(g['@odata.type']).toBe('#microsoft.graph.group');
        seen.push(g.id);
      }
      next = body['@odata.nextLink'];
    }
    expect(seen).toEqual(all);

    const bad = await graph('/v1.0/me/getMemberObjects', token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bad.status).toBe(400);
    // Another user's memberships need a directory-reading permission, which User.Read is not.
    const other = await graph(`/v1.0/users/${CAROL}/transitiveMemberOf`, token);
    expect(other.status).toBe(403);
    expect((await json(other)).error.code).toBe('Authorization_RequestDenied');
  });

  test('a user with unknown roles or groups is a configuration error naming the field', async () => {
    const config = advancedConfig({ certificate: await createTestCertificate() });
    config.users![0]!.appRoles = [`${DEFAULTS.apiIdentifier}/No.Such.Role`];
    config.users![1]!.groups = ['not-a-guid'];
    const error = await FakeEntra.start({ config }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /users\[0\]\.appRoles\[0\]: API "api:\/\/[^"]+" has no app role "No\.Such\.Role"/,
    );
    expect(error?.message).toMatch(/users\[1\]\.groups\[0\]: Invalid GUID/);
  });
});

describe('token size', () => {
  test('a user in 200 groups with 5 app roles and 5 directory roles: the largest token without overage', async () => {
    const v2 = await signInAndRedeem(fake, {
      upn: CAROL,
      scope: `${MIDDLE_TIER.identifier}/access_as_user`,
    });
    const v1 = await signInAndRedeem(fake, {
      upn: CAROL,
      scope: `${V1_API.identifier}/reports.read`,
    });
    const sizes = {
      v2: (v2.body.access_token as string).length,
      v1: (v1.body.access_token as string).length,
      authorizationHeader: `Bearer ${v2.body.access_token as string}`.length,
    };
    // Printed for the API's and ingress's token size limits (the figure is in the README).
    console.log(`token size, 200 groups + 5 roles + 5 directory roles: ${JSON.stringify(sizes)}`);
    expect(decodeJwt(v2.body.access_token).groups).toHaveLength(200);
    expect(decodeJwt(v1.body.access_token).groups).toHaveLength(200);
    // 200 GUIDs alone are 200 * 39 bytes of JSON, 4/3 of that in base64url.
    expect(sizes.v2).toBeGreaterThan(10_000);
    expect(sizes.v2).toBeLessThan(16_384);
  });
});

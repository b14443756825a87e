// Test support for the token tests: fake issuer configurations beyond the default (an API left
// at Entra's default token version, a step-up policy, a user with Entra's largest token) and a
// sign-in through the fake's own pages with the web app's registration (PKCE), so that tokens
// come from the authorization code grant as a real client gets them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, DEFAULTS, type FakeEntra } from '@koa-entra/fake-entra';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The fake's default configuration, as a fresh object to edit. */
export function defaultConfig(): Json {
  return JSON.parse(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')) as Json;
}

const ourApi = (config: Json): Json =>
  (config.apis as Json[]).find((a) => a.clientId === DEFAULTS.apiClientId);
const user = (config: Json, upn: string): Json =>
  (config.users as Json[]).find((u) => u.upn === upn);

/** Our API registered with `accessTokenAcceptedVersion` null (Entra's default) or 1: v1.0 tokens. */
export function v1ApiConfig(version: null | 1 = null): Json {
  const config = defaultConfig();
  ourApi(config).accessTokenAcceptedVersion = version;
  return config;
}

/** Conditional Access: authentication context c1 needs a second factor (a step-up). */
export const STEP_UP_POLICY_ID = 'c0ffee00-7777-4888-9999-aaaabbbbcccc';
export function stepUpConfig(): Json {
  const config = defaultConfig();
  config.conditionalAccessPolicies = [
    {
      id: STEP_UP_POLICY_ID,
      name: 'Step-up for writes',
      authenticationContexts: ['c1'],
      grantControls: ['mfa'],
    },
  ];
  return config;
}

/** Role template ids of Entra built-in roles (Microsoft's permissions reference). */
const DIRECTORY_ROLES = [
  '62e90394-69f5-4237-9190-012177145e10',
  'fe930be7-5e62-47db-91af-98c3a49a38b1',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  '158c047a-c907-4556-b7ef-446551a6b5f7',
  '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
];
export const USER_APP_ROLES = [
  'Data.Writer',
  'Data.Auditor',
  'Data.Approver',
  'Data.Admin',
  'Data.Owner',
];

/**
 * Entra's largest token without the groups overage: alice in 200 groups (the JWT limit), with
 * 5 app roles of our API and 5 directory roles, our API asking for groups and wids (`All`).
 */
export function largestTokenConfig(): Json {
  const config = defaultConfig();
  const api = ourApi(config);
  api.appRoles = [...api.appRoles, ...USER_APP_ROLES];
  api.groupMembershipClaims = 'All';
  const alice = user(config, DEFAULTS.users.alice.upn);
  alice.groups = Array.from({ length: 200 }, () => randomUUID());
  alice.appRoles = USER_APP_ROLES.map((r) => `${DEFAULTS.apiIdentifier}/${r}`);
  alice.directoryRoles = DIRECTORY_ROLES;
  return config;
}

/** Alice (or `upn`) assigned app roles of our API (they appear in `roles` of her user tokens). */
export function userRolesConfig(roles: string[], upn: string = DEFAULTS.users.alice.upn): Json {
  const config = defaultConfig();
  const api = ourApi(config);
  api.appRoles = [...new Set([...api.appRoles, ...roles])];
  user(config, upn).appRoles = roles.map((r) => `${DEFAULTS.apiIdentifier}/${r}`);
  return config;
}

const REDIRECT_URI = 'http://localhost:59996/auth/redirect';

/**
 * Signs `upn` in through the fake's pages as the web app (authorization code + PKCE) for
 * `scope`, passing `claims` (a claims request, e.g. a step-up), and redeems the code: the
 * access token, or an Error naming what the issuer answered.
 */
export async function signInForToken(
  fake: FakeEntra,
  o: { upn: string; scope: string; claims?: string },
): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/authorize`);
  url.search = new URLSearchParams({
    client_id: DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: `openid profile offline_access ${o.scope}`,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 's',
    ...(o.claims ? { claims: o.claims } : {}),
  }).toString();
  const answer = await fake.completeSignIn(url.toString(), o.upn);
  if (!answer.params.code)
    throw new Error(`sign-in answered ${JSON.stringify(answer.params)} instead of a code`);
  const res = await fetch(`${fake.authority()}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: DEFAULTS.webClientId,
      client_secret: DEFAULTS.webClientSecret,
      code: answer.params.code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      scope: o.scope,
    }),
  });
  const body = (await res.json()) as Json;
  if (typeof body.access_token !== 'string')
    throw new Error(`token endpoint answered ${res.status} ${JSON.stringify(body)}`);
  return body.access_token as string;
}

// Protocol steps over plain HTTP, as a client without a library sends them: a sign-in through
// the fake's page (PKCE), token requests, and decoding what came back.
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULTS, type FakeEntra } from '../../src/index.ts';

export const REDIRECT_URI = 'http://localhost:59997/auth/redirect';

export interface TokenAnswer {
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function tokenRequest(
  fake: FakeEntra,
  params: Record<string, string | undefined>,
  tenant: string = fake.tenantId,
): Promise<TokenAnswer> {
  const body = new URLSearchParams(
    Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const res = await fetch(`${fake.authority(tenant)}/oauth2/v2.0/token`, { method: 'POST', body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * Signs `upn` in through the fake's sign-in page for `scope` and redeems the code: the token
 * answer of the authorization code grant.
 */
export async function signInAndRedeem(
  fake: FakeEntra,
  o: {
    upn: string;
    scope: string;
    clientId?: string;
    clientSecret?: string;
    claims?: string;
    tokenClaims?: string;
  },
): Promise<TokenAnswer> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${fake.publicUrl}/${fake.tenantId}/oauth2/v2.0/authorize`);
  url.search = new URLSearchParams({
    client_id: o.clientId ?? DEFAULTS.webClientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: `openid profile offline_access ${o.scope}`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's',
    ...(o.claims ? { claims: o.claims } : {}),
  }).toString();
  const answer = await fake.completeSignIn(url.toString(), o.upn);
  if (!answer.params.code)
    throw new Error(`sign-in answered ${JSON.stringify(answer.params)} instead of a code`);
  return tokenRequest(fake, {
    grant_type: 'authorization_code',
    client_id: o.clientId ?? DEFAULTS.webClientId,
    client_secret: o.clientSecret ?? DEFAULTS.webClientSecret,
    code: answer.params.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    scope: o.scope,
    claims: o.tokenClaims,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

export const decodePart = (token: string, part: 0 | 1): Json =>
  JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString('utf8')) as Json;

// On-behalf-of (RFC 7523 jwt-bearer with requested_token_use=on_behalf_of): a middle-tier API
// (a confidential client whose client id is the API's) exchanges the user token it received for
// a token to a downstream API, for the same user. The assertion must be a user access token this
// issuer signed for the middle tier, unexpired; consent and Conditional Access apply as for any
// delegated token, with the sign-in state of the original token.
import { decodeJwt, errors as joseErrors, type JWTPayload } from 'jose';
import { parseClaimsRequest } from './conditional-access.ts';
import type { Harness } from './context.ts';
import { GRAPH_APP_ID } from './directory.ts';
import { errors } from './errors.ts';
import { verifyIssuedToken } from './issued-tokens.ts';
import { required, type Params } from './params.ts';
import { delegatedResponse } from './token-response.ts';
import type { AuthenticatedClient } from './routes/token.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

async function verifyAssertion(h: Harness, assertion: string): Promise<JWTPayload> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(assertion);
  } catch {
    throw errors.oboInvalid('The assertion is not a JWT.');
  }
  const graph = unverified.aud === GRAPH_APP_ID || unverified.aud === 'https://graph.microsoft.com';
  try {
    return await verifyIssuedToken(h, assertion, { graphNonce: graph });
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      throw errors.oboExpired(Math.floor(Date.now() / 1000), Number(unverified.exp));
    if (error instanceof joseErrors.JWKSNoMatchingKey)
      throw errors.oboSignature('The key was not found.');
    if (error instanceof joseErrors.JWSSignatureVerificationFailed)
      throw errors.oboSignature(
        'The provided signature value did not match the expected signature value.',
      );
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss')
      throw errors.oboInvalid(`The issuer '${String(unverified.iss)}' is not this authority.`);
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'nbf')
      throw errors.oboExpired(Math.floor(Date.now() / 1000), Number(unverified.exp));
    throw errors.oboInvalid((error as Error).message);
  }
}

export async function onBehalfOfGrant(
  h: Harness,
  { client, method }: AuthenticatedClient,
  p: Params,
  tenant: string | undefined,
): Promise<Record<string, unknown>> {
  const use = required(p, 'requested_token_use');
  if (use !== 'on_behalf_of') throw errors.requestedTokenUse(use);
  const assertion = required(p, 'assertion');
  const scope = required(p, 'scope');
  const claimsRequest = parseClaimsRequest(p.claims);
  if (method === '0') throw errors.missingSecret();
  const claims = await verifyAssertion(h, assertion);

  // The assertion must be addressed to the app presenting it (its client id or App ID URI).
  const audiences = [
    client.clientId,
    ...h.directory.config.apis
      .filter((a) => a.clientId.toLowerCase() === client.clientId.toLowerCase())
      .map((a) => a.identifier),
  ].map((a) => a.toLowerCase());
  const aud = String(claims.aud ?? '');
  if (!audiences.includes(aud.replace(/\/+$/, '').toLowerCase()))
    throw errors.oboAudience(aud, client.clientId, client.name);
  if (claims.scp === undefined) {
    if (claims.roles !== undefined || claims.idtyp === 'app' || claims.oid === claims.sub)
      throw errors.oboAppToken(client.clientId);
    throw errors.oboIdToken();
  }
  const tid = String(claims.tid ?? '');
  if (tenant && tid.toLowerCase() !== tenant.toLowerCase())
    throw errors.oboInvalid(`The assertion was issued for tenant '${tid}', not '${tenant}'.`);
  const user = h.directory.user(String(claims.oid ?? ''));
  if (!user) throw errors.oboInvalid('The user of the assertion does not exist in the directory.');

  const resolved = h.directory.resolveScopes(scope);
  const grant = h.directory.grantDelegated(client, user, resolved);
  return delegatedResponse(h, client, JWT_BEARER_GRANT, {
    user,
    tenant: tid,
    grant,
    oidc: resolved.oidc,
    auth: h.tokens.authOf(claims as { uti?: unknown; amr?: unknown }),
    claims: claimsRequest,
    scopeParam: scope,
    clientAuth: method,
    idToken: false,
  });
}

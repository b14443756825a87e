// private_key_jwt: a client proves itself with a JWT signed by the key of a certificate
// registered for it (Entra's certificate credentials). The assertion names the certificate by
// its thumbprint (x5t#S256, or the legacy SHA-1 x5t), is RS256 or PS256, is addressed to this
// token endpoint, has iss = sub = the client id, a jti used once, and is within its time range.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { ClientConfig } from './config.ts';
import { errors } from './errors.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Clock skew Entra tolerates on assertions (seconds). */
const CLOCK_TOLERANCE = 300;

interface RegisteredKey {
  sha1: string;
  sha256: string;
  publicKey: KeyObject;
}

function registeredKeys(client: ClientConfig): RegisteredKey[] {
  return client.certificates.map((pem) => {
    const cert = new X509Certificate(pem);
    return {
      sha1: createHash('sha1').update(cert.raw).digest('base64url'),
      sha256: createHash('sha256').update(cert.raw).digest('base64url'),
      publicKey: cert.publicKey,
    };
  });
}

/** Thumbprints as clients send them: base64url; some send hex (MSAL's input format). */
const normalizeThumbprint = (t: string) =>
  /^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex').toString('base64url') : t;

/** Remembers the jti of accepted assertions until they expire, so each works once. */
export class AssertionReplayCache {
  readonly #seen = new Map<string, number>();

  /** Whether `jti` was new (and now is not). */
  claim(clientId: string, jti: string, exp: number): boolean {
    const key = `${clientId.toLowerCase()}:${jti}`;
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (this.#seen.size > 10_000)
      for (const [k, until] of this.#seen) if (until < nowSeconds) this.#seen.delete(k);
    const until = this.#seen.get(key);
    if (until !== undefined && until >= nowSeconds) return false;
    this.#seen.set(key, exp + CLOCK_TOLERANCE);
    return true;
  }
}

/**
 * Verifies `assertion` for `client`; `audiences` are the token endpoint URLs it may be addressed
 * to. Throws Entra's error for each failure; returns nothing on success.
 */
export async function verifyClientAssertion(
  client: ClientConfig,
  assertion: string,
  audiences: readonly string[],
  replay: AssertionReplayCache,
): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(assertion);
    claims = decodeJwt(assertion);
  } catch {
    throw errors.assertionInvalid('The client_assertion is not a signed JWT.');
  }
  const thumbprint = (header['x5t#S256'] ?? header.x5t) as unknown;
  if (typeof thumbprint !== 'string' || !thumbprint)
    throw errors.assertionKeyNotFound(
      '(none: the header has neither x5t#S256 nor x5t)',
      client.clientId,
    );
  const wanted = normalizeThumbprint(thumbprint);
  const byS256 = header['x5t#S256'] !== undefined;
  const key = registeredKeys(client).find((k) => (byS256 ? k.sha256 : k.sha1) === wanted);
  if (!key) throw errors.assertionKeyNotFound(thumbprint, client.clientId);

  try {
    await jwtVerify(assertion, key.publicKey, {
      algorithms: ['RS256', 'PS256'],
      clockTolerance: CLOCK_TOLERANCE,
      requiredClaims: ['exp'],
    });
  } catch (error) {
    if (error instanceof joseErrors.JOSEAlgNotAllowed)
      throw errors.assertionSignature(
        `The algorithm '${String(header.alg)}' is not supported; sign with PS256 or RS256.`,
      );
    if (error instanceof joseErrors.JWSSignatureVerificationFailed)
      throw errors.assertionSignature(
        'The provided signature value did not match the expected signature value.',
      );
    if (
      error instanceof joseErrors.JWTExpired ||
      (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'nbf')
    )
      throw errors.assertionTime(Math.floor(Date.now() / 1000), claims.nbf, claims.exp);
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw errors.assertionInvalid(`The '${error.claim}' claim is missing or not valid.`);
    throw errors.assertionInvalid((error as Error).message);
  }

  if (typeof claims.aud !== 'string')
    throw errors.assertionInvalid(
      'The audience claim must be a single string: the token endpoint.',
    );
  const aud = claims.aud.replace(/\/+$/, '').toLowerCase();
  if (!audiences.some((a) => a.toLowerCase() === aud))
    throw errors.assertionInvalid(
      `The audience claim '${claims.aud}' is not this token endpoint (${audiences[0]}).`,
    );
  if (claims.iss !== claims.sub) throw errors.assertionSubjectMismatch();
  if (typeof claims.iss !== 'string' || claims.iss.toLowerCase() !== client.clientId.toLowerCase())
    throw errors.assertionClientMismatch();
  if (typeof claims.jti !== 'string' || !claims.jti)
    throw errors.assertionInvalid("The 'jti' claim is missing.");
  if (!replay.claim(client.clientId, claims.jti, claims.exp!))
    throw errors.assertionInvalid(
      `The client assertion with jti '${claims.jti}' was already used; sign a new one for each request.`,
    );
}

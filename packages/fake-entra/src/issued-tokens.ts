// Verifies a token this issuer signed, as its audience would: Microsoft Graph's tokens carry a
// header nonce and are signed over its SHA-256 hash (so only Graph, which knows, can check
// them); other tokens verify as they are. Used by the Graph stub and the on-behalf-of grant.
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Harness } from './context.ts';
import { hashedNonce, v1Issuer } from './tokens.ts';

/** Every issuer this fake's tokens may carry: v2.0 per tenant and v1.0 (sts.windows.net). */
export function knownIssuers(h: Harness): string[] {
  return h.directory.config.tenants.flatMap((t) => [h.issuer(t.id), v1Issuer(t.id)]);
}

/** The token as it was signed: a Graph token's header nonce replaced by its hash. */
function asSigned(token: string): string {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) return token;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return token;
  }
  if (!parsed || typeof parsed.nonce !== 'string') return token;
  const signedHeader = { ...parsed, nonce: hashedNonce(parsed.nonce) };
  return `${Buffer.from(JSON.stringify(signedHeader)).toString('base64url')}.${payload}.${signature}`;
}

export interface VerifyOptions {
  audience?: string | string[];
  requiredClaims?: string[];
  /** Verify a Graph token (header nonce) the way Graph does. */
  graphNonce?: boolean;
}

/** Verifies signature (RS256, a published key), issuer, time and the given audience. */
export async function verifyIssuedToken(
  h: Harness,
  token: string,
  options: VerifyOptions = {},
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(
    options.graphNonce ? asSigned(token) : token,
    async (header) => {
      const key = header.kid ? h.keys.find(header.kid) : undefined;
      if (!key) throw new joseErrors.JWKSNoMatchingKey();
      return key.publicKey;
    },
    {
      algorithms: ['RS256'],
      issuer: knownIssuers(h),
      ...(options.audience ? { audience: options.audience } : {}),
      requiredClaims: options.requiredClaims ?? ['exp'],
    },
  );
  return payload;
}
